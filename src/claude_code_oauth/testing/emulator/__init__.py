"""A local stand-in for Claude's OAuth and API endpoints (see :mod:`.control`).

Routes live in :mod:`.oauth` and :mod:`.api`, memory in :mod:`.state`, the
fault catalogue in :mod:`.faults`, HTML in :mod:`.pages`, HTTP in :mod:`.handler`.
"""

from .command import main
from .control import ISSUED_SECRETS, ClaudeEmulator, RecordedRequest

__all__ = ["ISSUED_SECRETS", "ClaudeEmulator", "RecordedRequest", "main"]
