"""Tokens: the token endpoint on the wire (:mod:`.endpoint`), one login's tokens as a
checked value (:mod:`.record`), the private token file (:mod:`.store`; its bytes
:mod:`.stored_form`; the file read without its secrets :mod:`.file_form`; its lock
:mod:`.token_lock`; the space a save claims before new tokens are asked for
:mod:`.reserved_save`; new tokens a failed save kept beside it :mod:`.recovery`; the
secrets of a sign-in kept in the OS keyring :mod:`.keyring_item`, and where a new
sign-in's go :mod:`.storage_choice`), the check a login runs before it starts
(:mod:`.preflight`), the race-free source of access tokens (:mod:`.provider`) and the
revocation of a login at logout (:mod:`.revoke`).

Kept import-light: the ``token`` command's fast path imports :mod:`.store` (with
:mod:`.record`, :mod:`.stored_form`, :mod:`.file_form`, :mod:`.token_lock` and
:mod:`.reserved_save`, which import no more than it does) only.
"""
