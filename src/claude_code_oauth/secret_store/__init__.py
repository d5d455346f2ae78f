"""Secrets in the OS keyring: one item per profile, every call within a short deadline.

The contract is :class:`.interface.SecretStore`; :func:`.choose.open_secret_store`
picks the store for this system: the Secret Service spoken directly over the session
bus (:mod:`.secret_service` on :mod:`.dbus_connection` and :mod:`.dbus_wire`, standard
library only, cheap enough for the ``token`` fast path), or the macOS Keychain and
Windows Credential Manager through the ``keyring`` library (:mod:`.keyring_library`,
values split by :mod:`.chunking`). Failures are the named
:class:`~claude_code_oauth.errors.SecretStoreError` subclasses.

The token store reaches it through :mod:`claude_code_oauth.tokens.keyring_item` when a
sign-in's secrets live in the keyring (the ``storage`` setting).
Importing this package imports nothing beyond itself.
"""
