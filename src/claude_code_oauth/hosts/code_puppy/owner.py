"""Our plugin's name in Code Puppy: the owner its callbacks are registered under, which
``/plugins disable`` takes. Read once, while Code Puppy loads the plugin (:mod:`.plugin`
imports this module first thing)."""

from __future__ import annotations

from code_puppy import callbacks

#: Our entry-point name (distinct from the bundled plugin's, so each can be disabled).
ENTRY_POINT_NAME = "claude_code_oauth_pkce"
OWNER: str = callbacks.get_loading_context() or ENTRY_POINT_NAME
