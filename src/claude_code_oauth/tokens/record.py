"""One login's tokens as a value: :class:`TokenRecord`, and the checks on every number.

What a caller may rely on: every number in a record is finite and sane,
whatever the server or the file said. Lifetimes from a server are 1 s to 400
days (:data:`MAX_LIFETIME`) and times are epoch seconds before 2100. A server
answer with an unusable ``expires_in`` (400 digits, ``1e308``, ``NaN``,
negative, not a number) is refused with ``ValueError`` naming it in one short
line; an unusable optional number (``refresh_token_expires_in``) is ignored. A
stored form whose numbers are unusable (``NaN``, ``Infinity``, 400 digits, year
3000 — an older version could write some of these) still parses: an unusable
expiry makes the access token count as expired, so it is refreshed and the
login survives; :attr:`TokenRecord.repaired` names what was set aside. Tokens
are visible ASCII without spaces, at most 8 KiB (:func:`is_token`).

On the ``token`` fast path: imports only ``time``.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .api_key import ApiKeyRecord

FORMAT_VERSION = 1

#: Warn when the login itself (not the access token) ends sooner than this.
LOGIN_WARNING_SECONDS = 3 * 86400
#: How long a login lasts when the sign-in answer does not say (as Claude Code assumes).
DEFAULT_LOGIN_LIFETIME = 30 * 86400
#: The longest lifetime (access token or login) taken from a server or a file: 400 days.
MAX_LIFETIME = 400 * 86400
#: Times read from the file are epoch seconds in [0, this): before 2100-01-01.
MAX_EPOCH = 4_102_444_800
#: A rate-limit pause longer than this (from a server or the file) is not believed.
MAX_RETRY_AFTER = 86400
#: Tokens are visible ASCII (no spaces, no line breaks) and at most this long.
MAX_TOKEN_LENGTH = 8192

#: Fields kept from a token response besides the tokens themselves.
_PROFILE_FIELDS = ("account", "organization")


def finite_number(value: object) -> float | None:
    """``value`` as a finite float if it is a JSON number (not a bool), else ``None``.

    Integers beyond ±2**53 (past what a float holds exactly: 400 digits, say) and
    ``NaN``/``Infinity`` give ``None``; nothing here raises.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if -(2**53) <= value <= 2**53 else None
    if isinstance(value, float) and value - value == 0:  # false for inf and nan
        return value
    return None


def plain_json(value: object, depth: int = 0) -> Any:
    """``value`` with every number a later ``json.dumps(allow_nan=False)`` would refuse
    (``NaN``, ``Infinity``, 400 digits) replaced by ``None``, and anything nested more
    than 8 deep dropped: the ``account``/``organization`` a server sends must never
    stop the record that carries a rotated refresh token from being saved."""
    if isinstance(value, dict):
        if depth >= 8:
            return None
        return {str(k): plain_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v, depth + 1) for v in value] if depth < 8 else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value if finite_number(value) is not None else None
    return value


def account_uuid(record: TokenRecord | ApiKeyRecord) -> str | None:
    """The uuid of the account a sign-in (token or API-key record) belongs to, if known."""
    account = record.account
    uuid = account.get("uuid") if isinstance(account, dict) else None
    return uuid if isinstance(uuid, str) else None


def profile_fields(data: dict[str, Any]) -> dict[str, Any]:
    """``account`` and ``organization`` of a server answer or a stored record: each a
    JSON object made plain (:func:`plain_json`), or ``None``."""
    return {
        key: plain_json(data[key]) if isinstance(data.get(key), dict) else None
        for key in _PROFILE_FIELDS
    }


def _shown(value: object) -> str:
    """``value`` for an error message: short, one line, never a huge number's digits."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(10**12) < value < 10**12:
        return "a number of more than 12 digits"
    text = repr(value)
    return text if len(text) <= 24 else text[:23] + "…"


def is_token(value: object) -> bool:
    """A plausible token: a non-empty string of visible ASCII, at most 8 KiB."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TOKEN_LENGTH
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def lifetime(value: object, *, low: int = 1) -> int | None:
    """A lifetime from a server: a number of seconds in [low, 400 days], else ``None``."""
    number = finite_number(value)
    return int(number) if number is not None and low <= number <= MAX_LIFETIME else None


def lifetime_seconds(value: object, name: str) -> int:
    """:func:`lifetime` of at least a second, or ``ValueError`` naming ``name``."""
    seconds = lifetime(value)
    if seconds is None:
        raise ValueError(
            f"{name} {_shown(value)} is not a number of seconds between 1 and {MAX_LIFETIME}"
        )
    return seconds


def stored_time(value: object) -> float | None:
    """A time from the file: finite epoch seconds in [0, 2100), else ``None``."""
    number = finite_number(value)
    return number if number is not None and 0 <= number < MAX_EPOCH else None


class TokenRecord:
    """One login's tokens and bookkeeping, as stored on disk.

    Times are Unix epoch seconds. ``needs_login`` is set when the server said
    the refresh token is dead; ``refresh_not_before`` after a 429.
    """

    __slots__ = (
        "access_token",
        "account",
        "expires_at",
        "extra",
        "last_error",
        "needs_login",
        "obtained_at",
        "organization",
        "refresh_not_before",
        "refresh_token",
        "refresh_token_expires_at",
        "repaired",
        "scope",
        "token_type",
    )

    def __init__(
        self,
        *,
        access_token: str,
        refresh_token: str | None,
        expires_at: float,
        obtained_at: float,
        token_type: str = "Bearer",
        scope: str = "",
        account: dict[str, Any] | None = None,
        organization: dict[str, Any] | None = None,
        refresh_token_expires_at: float | None = None,
        needs_login: bool = False,
        refresh_not_before: float | None = None,
        last_error: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_at = expires_at
        self.obtained_at = obtained_at
        self.token_type = token_type
        self.scope = scope
        self.account = account
        self.organization = organization
        self.refresh_token_expires_at = refresh_token_expires_at
        self.needs_login = needs_login
        self.refresh_not_before = refresh_not_before
        self.last_error = last_error
        self.extra = extra or {}
        #: Stored fields whose unusable values :meth:`from_json` set aside.
        self.repaired: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never show a token
        return f"<TokenRecord expires_at={self.expires_at:.0f} needs_login={self.needs_login}>"

    # -- times ----------------------------------------------------------------

    @property
    def lifetime(self) -> float:
        return max(0.0, self.expires_at - self.obtained_at)

    def margin(self, configured: float | None) -> float:
        """Seconds before expiry to refresh at: configured, else min(300, 10 % of lifetime)."""
        if configured is not None:
            return configured
        return min(300.0, 0.1 * self.lifetime)

    def is_fresh(self, now: float, configured_margin: float | None) -> bool:
        """True while the access token is not within the refresh margin of expiry."""
        return now < self.expires_at - self.margin(configured_margin)

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at

    # -- conversion -------------------------------------------------------------

    @classmethod
    def from_token_response(
        cls,
        body: dict[str, Any],
        *,
        now: float | None = None,
        previous: TokenRecord | None = None,
        requested_scope: str = "",
    ) -> TokenRecord:
        """Build a record from a token endpoint answer; raise ValueError if unusable.

        On a refresh, ``previous`` supplies what the server may omit: the refresh
        token (RFC 6749 §6 lets a server keep it), the scope, the profile. The login's
        end is the *earlier* of the stored one and the answer's
        ``refresh_token_expires_in`` (refreshing never extends a login), as Claude Code
        keeps it. A sign-in answer (no ``previous``) without ``scope`` was granted
        ``requested_scope`` (RFC 6749 §5.1), and without a usable
        ``refresh_token_expires_in`` lasts :data:`DEFAULT_LOGIN_LIFETIME` (30 days),
        as Claude Code assumes.
        """
        now = time.time() if now is None else now
        access = body.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("the answer has no access_token")
        if not is_token(access):
            raise ValueError("the access_token is not a plausible token")
        token_type = body.get("token_type", "Bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise ValueError(f"unsupported token_type {_shown(token_type)}")
        refresh = body.get("refresh_token")
        if refresh is not None and not is_token(refresh):
            raise ValueError("the refresh_token is not a plausible token")
        if refresh is None and previous is not None:
            refresh = previous.refresh_token
        # RFC 6749 only recommends expires_in; assume a short life rather than none.
        expires_in = body.get("expires_in")
        expires_in = lifetime_seconds(3600 if expires_in is None else expires_in, "expires_in")
        before = previous.scope if previous else requested_scope
        scope = body.get("scope")
        if isinstance(scope, list):
            scope = " ".join(str(s) for s in scope)
        elif not isinstance(scope, str):
            scope = before
        # Optional: an unusable value is ignored, as if it had not been sent.
        login_left = lifetime(body.get("refresh_token_expires_in"), low=0)
        login_deadline: float | None
        if previous is None:
            login_deadline = now + (DEFAULT_LOGIN_LIFETIME if login_left is None else login_left)
        else:
            # Refreshing never extends a login: the earlier end wins.
            ends = [previous.refresh_token_expires_at]
            ends.append(None if login_left is None else now + login_left)
            known = [end for end in ends if end is not None]
            login_deadline = min(known) if known else None
        profile = profile_fields(body)
        if previous is not None:
            for key in _PROFILE_FIELDS:
                profile[key] = profile[key] or getattr(previous, key)
        return cls(
            access_token=access,
            refresh_token=refresh,
            expires_at=now + expires_in,
            obtained_at=now,
            scope=str(scope or ""),
            account=profile["account"],
            organization=profile["organization"],
            refresh_token_expires_at=login_deadline,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data.update(
            version=FORMAT_VERSION,
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            token_type=self.token_type,
            expires_at=round(self.expires_at, 3),
            obtained_at=round(self.obtained_at, 3),
            scope=self.scope,
            account=self.account,
            organization=self.organization,
            refresh_token_expires_at=self.refresh_token_expires_at,
            needs_login=self.needs_login,
            refresh_not_before=self.refresh_not_before,
            last_error=self.last_error,
        )
        return data

    @classmethod
    def from_json(cls, data: object, *, now: float | None = None) -> TokenRecord:
        """Parse the stored form; raise ValueError naming what is wrong. A
        ``refresh_not_before`` more than :data:`MAX_RETRY_AFTER` after ``now`` (the
        clock when ``None``) is not believed."""
        if not isinstance(data, dict):
            raise ValueError("the top level is not a JSON object")
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("access_token is missing")
        if not is_token(access):
            raise ValueError("access_token is not a plausible token")
        refresh = data.get("refresh_token")
        if refresh is not None and not isinstance(refresh, str):
            raise ValueError("refresh_token is not a string")
        if refresh and not is_token(refresh):
            raise ValueError("refresh_token is not a plausible token")
        repaired: list[str] = []
        times: dict[str, float | None] = {}
        for key in ("expires_at", "obtained_at"):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float, type(None))):
                raise ValueError(f"{key} is not a number")
            if value is None and key not in data:
                raise ValueError(f"{key} is missing")
            times[key] = stored_time(value)
            if times[key] is None:
                repaired.append(key)
        obtained, expires = times["obtained_at"], times["expires_at"]
        # An unusable expiry makes the access token count as expired: it is refreshed
        # on next use, and the refresh token (the login) is kept.
        if expires is None:
            expires = obtained if obtained is not None else 0.0
        if obtained is None:
            obtained = expires
        if expires - obtained > MAX_LIFETIME:
            expires = obtained + MAX_LIFETIME
            repaired.append("expires_at")
        obtained = min(obtained, expires)
        optional: dict[str, float | None] = {}
        for key in ("refresh_token_expires_at", "refresh_not_before"):
            value = data.get(key)
            optional[key] = stored_time(value)
            if value is not None and optional[key] is None:
                repaired.append(key)
        not_before = optional["refresh_not_before"]
        now = time.time() if now is None else now
        if not_before is not None and not_before > now + MAX_RETRY_AFTER:
            optional["refresh_not_before"] = None
            repaired.append("refresh_not_before")
        known = {
            "version",
            "access_token",
            "refresh_token",
            "token_type",
            "expires_at",
            "obtained_at",
            "scope",
            "account",
            "organization",
            "refresh_token_expires_at",
            "needs_login",
            "refresh_not_before",
            "last_error",
        }
        last_error = data.get("last_error")
        record = cls(
            access_token=access,
            refresh_token=refresh or None,
            expires_at=expires,
            obtained_at=obtained,
            token_type=str(data.get("token_type") or "Bearer"),
            scope=str(data.get("scope") or ""),
            **profile_fields(data),
            refresh_token_expires_at=optional["refresh_token_expires_at"],
            needs_login=data.get("needs_login") is True,
            refresh_not_before=optional["refresh_not_before"],
            last_error=str(last_error)[:300] if last_error else None,
            extra={k: plain_json(v) for k, v in data.items() if k not in known},
        )
        record.repaired = tuple(dict.fromkeys(repaired))
        return record
