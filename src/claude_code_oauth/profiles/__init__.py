"""Several sign-ins side by side: the active profile (:mod:`.active`), the profiles
on disk (:mod:`.listing`) and the token source of a model entry that follows the
active profile or is pinned to one (:mod:`.token_source`).

A profile is a name (``[a-z0-9][a-z0-9-]{0,31}``) whose tokens live in their own
file (:attr:`~claude_code_oauth.config.Settings.token_path`). Nothing here ever
switches profiles on its own: only the user does (``switch``).
"""
