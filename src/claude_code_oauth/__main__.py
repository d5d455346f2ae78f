"""``python -m claude_code_oauth`` runs the CLI."""

import sys

from .cli import main

sys.exit(main())
