"""Tokens: the token endpoint on the wire (:mod:`.endpoint`), one login's tokens as a
checked value (:mod:`.record`), the private token file (:mod:`.store`, its bytes
:mod:`.stored_form`, and new tokens a failed save kept beside it, :mod:`.recovery`),
the race-free source of access tokens (:mod:`.provider`) and the revocation of a login
at logout (:mod:`.revoke`).

Kept import-light: the ``token`` command's fast path imports :mod:`.store` (with
:mod:`.record` and :mod:`.stored_form`) only.
"""
