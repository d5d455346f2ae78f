"""HTTP towards Claude: the shared client, answers decoded within bounds
(:mod:`.bounded_decoding`), turning answers into JSON or named one-line errors (the
error codes Claude Code names in :mod:`.error_codes`), and the bearer-token
``httpx.Auth``. httpx is imported by the
modules here, never by this package's ``__init__``.
"""
