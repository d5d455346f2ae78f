"""Hold SIGTERM while a file is being saved, so a terminated process leaves no temporary file.

``with deferred_sigterm():`` — a SIGTERM that arrives inside the block is noted,
not acted on; when the block ends (the save done, or undone) the previous handler
is put back and the signal delivered to it, so the process ends as it would have,
a moment later. Blocks nest. Python lets only the main thread set signal
handlers: elsewhere (and where the previous handler was not set from Python) the
block changes nothing, and a temporary file a terminated writer leaves is removed
by the next run (:mod:`.temp_files`).
"""

from __future__ import annotations

import signal
import threading
from typing import Any


class deferred_sigterm:
    """See the module docstring."""

    def __init__(self) -> None:
        self._previous: Any = None
        self._installed = False
        self._received = False

    def __enter__(self) -> deferred_sigterm:
        if threading.current_thread() is not threading.main_thread():
            return self
        try:
            previous = signal.getsignal(signal.SIGTERM)
            if previous is None:  # set outside Python: it could not be put back
                return self
            signal.signal(signal.SIGTERM, self._note)
        except (ValueError, OSError):  # not the main interpreter
            return self
        self._previous = previous
        self._installed = True
        return self

    def _note(self, signum: int, frame: Any) -> None:
        self._received = True

    def __exit__(self, *exc: object) -> None:
        if not self._installed:
            return
        signal.signal(signal.SIGTERM, self._previous)
        self._installed = False
        if self._received:
            signal.raise_signal(signal.SIGTERM)
