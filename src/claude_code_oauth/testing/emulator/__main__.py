"""``python -m claude_code_oauth.testing.emulator`` serves the emulator."""

import sys

from .control import main

sys.exit(main())
