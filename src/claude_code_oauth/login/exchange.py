"""Spending a sign-in's code: the one step of a login that cannot be taken back.

What a caller may rely on: :func:`exchange_and_save` spends the single-use code only
once the tokens it brings have a place (the save's space is claimed first, else
:class:`~claude_code_oauth.errors.StorageError` and nothing was spent); it checks the
grant, creates the Console key for a Console sign-in (whose login tokens are then
dropped), and saves under the token lock. Tokens that could not be saved are never
dropped: :class:`~claude_code_oauth.errors.RecordKept` says where they are kept.
"""

from __future__ import annotations

from ..errors import RecordKept, StorageError, UnexpectedResponse
from ..tokens import store as token_store
from ..tokens.api_key import ApiKeyRecord
from .grant import check_grant

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Settings
    from ..tokens.keyring_item import KeyringTarget

Record = token_store.TokenRecord | ApiKeyRecord


def exchange_and_save(
    settings: Settings,
    *,
    code: str,
    verifier: str,
    state: str,
    redirect_uri: str,
    console: bool,
    secrets: KeyringTarget | str | None,
) -> tuple[Record, Record | None]:
    """Exchange ``code`` and save the sign-in it brings (its secrets where ``secrets``
    says, see :func:`~claude_code_oauth.tokens.store.save`); returns the saved sign-in
    and the one it replaced (``None``: none)."""
    from ..tokens.endpoint import exchange_code
    from ..tokens.keyring_item import StoreOpener

    path = settings.token_path
    try:
        reservation = token_store.reserve(path)
    except StorageError as exc:
        raise StorageError(
            f"Not exchanging the sign-in code: {exc.reason} The tokens it brings could "
            "not be kept; nothing was spent.",
            hint=f"{exc.hint or ''} Then sign in again.".strip(),
        ) from None
    with reservation:
        body = exchange_code(
            settings, code=code, verifier=verifier, redirect_uri=redirect_uri, state=state
        )
        record: Record
        try:
            record = token_store.TokenRecord.from_token_response(
                body, requested_scope=settings.scope
            )
        except ValueError as exc:
            raise UnexpectedResponse(f"The token endpoint's answer is unusable: {exc}.") from None
        check_grant(settings, record.scope, console=console)
        if console:
            from .console_key import create_api_key

            # The login's tokens create the key and are dropped: only the key is kept.
            record = create_api_key(settings, record.access_token, body)
        with token_store.held(token_store.token_lock(settings)):
            try:
                previous = token_store.save(
                    path,
                    record,
                    reservation=reservation,
                    secrets=secrets,
                    stores=StoreOpener(settings=settings),
                )
            except RecordKept as exc:
                raise RecordKept(
                    f"Signed in, but: {exc.reason}",
                    hint=exc.hint,
                    kept=exc.kept,
                    record=exc.record,
                ) from None
    return record, previous
