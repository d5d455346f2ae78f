"""``python -m claude_code_oauth.testing.emulator`` serves the emulator."""

import sys

from .command import main

sys.exit(main())
