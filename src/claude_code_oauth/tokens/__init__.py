"""Tokens: the token endpoint on the wire (:mod:`.endpoint`), the private token
file (:mod:`.store`) and the race-free source of access tokens (:mod:`.provider`).

Kept import-light: the ``token`` command's fast path imports :mod:`.store` only.
"""
