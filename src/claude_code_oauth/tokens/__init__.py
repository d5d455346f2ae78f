"""Tokens: the token endpoint on the wire (:mod:`.endpoint`), one login's tokens as a
checked value (:mod:`.record`), the private token file (:mod:`.store`, its bytes
:mod:`.stored_form`, its lock :mod:`.token_lock`, the space a save claims before
new tokens are asked for :mod:`.reserved_save`, new tokens a failed save kept beside
it :mod:`.recovery`, and the secrets of a sign-in kept in the OS keyring
:mod:`.keyring_item`), the check a login runs before it starts (:mod:`.preflight`),
the race-free source of access tokens (:mod:`.provider`) and the revocation of a
login at logout (:mod:`.revoke`).

Kept import-light: the ``token`` command's fast path imports :mod:`.store` (with
:mod:`.record`, :mod:`.stored_form`, :mod:`.token_lock` and :mod:`.reserved_save`, which
import no more than it does) only.
"""
