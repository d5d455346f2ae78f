"""The Anthropic Console in the emulator: its sign-in page, API keys created by a
Console login, and how the API accepts them.

Claude Code's second way in is the Console (API-billed accounts): the same PKCE
login, opened on the Console's authorize page (here :data:`AUTHORIZE_PATH`), after
which the client posts the new access token to :data:`CREATE_API_KEY_PATH` and
receives an ordinary API key in ``raw_key`` (CONTEXT §2b). What the emulator
answers there:

* a Console login's access token (Bearer) with ``org:create_api_key``: 200 with
  ``raw_key`` (``sk-ant-api03-…``) and the key as the Console lists it
  (``api_key``: ``id``, ``type``, ``name``, ``created_at``, ``partial_key_hint``,
  ``status``, ``workspace_id``);
* a subscription login's token (claude.ai's authorize page): 403
  ``permission_error`` — only a Console login can create keys;
* a Console login without ``org:create_api_key`` (``error_code:
  oauth_scope_insufficient``), or an account whose role in its organization does not
  allow creating keys (:meth:`ApiKeyBook.deny`): 403 ``permission_error``;
* no token, or one that is not valid: 401 ``authentication_error``.

A created key works with ``x-api-key`` on ``/v1/models`` and ``/v1/messages`` until
it is revoked (:meth:`ApiKeyBook.revoke`: the Console's own button — there is no
public API for it); sent as a Bearer token it is refused. Answers to API-key
requests carry the ordinary ``anthropic-ratelimit-{requests,tokens,…}-*`` headers
(:func:`rate_limit_headers`), never the subscription's unified ones.

Every created key is registered as an issued secret (the test suites' scans look
for it). Nothing here is logged.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .wire import Request, Response, anthropic_error, json_response

AUTHORIZE_PATH = "/console/oauth/authorize"
CREATE_API_KEY_PATH = "/api/oauth/claude_cli/create_api_key"
KEY_PREFIX = "sk-ant-api03-"

NOT_CONSOLE_MESSAGE = (
    "API keys can only be created with a Console login; this token belongs to a "
    "Claude subscription sign-in."
)
NO_SCOPE_MESSAGE = "This token lacks the org:create_api_key scope."
NO_PERMISSION_MESSAGE = (
    "You do not have permission to create API keys in this organization. "
    "Ask an organization admin for the Developer role."
)

VERIFY_MESSAGE = "Verify your identity before creating API keys for this organization."

#: Faults only this endpoint has (the generic ones are in :mod:`.faults`).
#: ``403_verification_required`` is Claude's ``verification_required`` refusal
#: (user-facing), optionally with a ``remediation_url``.
FAULTS = frozenset({"403_no_permission", "no_raw_key", "bad_raw_key", "403_verification_required"})
#: Fault → its parameters and their kinds.
PARAMS: dict[str, dict[str, str]] = {"403_verification_required": {"remediation_url": "text"}}

#: The ordinary per-minute limits an API key's answers report.
REQUESTS_PER_MINUTE = 50
TOKENS_PER_MINUTE = 40_000


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ApiKey:
    """One created key as the Console knows it (``raw`` is the secret itself)."""

    raw: str
    id: str
    name: str
    account_uuid: str
    email: str
    created_at: float
    revoked: bool = False
    #: Requests answered with this key (successful authentication).
    requests: int = 0

    def listing(self) -> dict[str, Any]:
        """The key as the Console's API lists it: never the key itself."""
        return {
            "id": self.id,
            "type": "api_key",
            "name": self.name,
            "workspace_id": None,
            "created_at": _iso(self.created_at),
            "created_by": {"id": self.account_uuid, "type": "user"},
            "partial_key_hint": f"{KEY_PREFIX}{self.raw[len(KEY_PREFIX) : len(KEY_PREFIX) + 3]}"
            f"...{self.raw[-4:]}",
            "status": "inactive" if self.revoked else "active",
        }


class ApiKeyBook:
    """Every API key Console logins created; thread-safe."""

    def __init__(
        self, remember: Callable[[str], str] = lambda s: s, clock: Callable[[], float] = time.time
    ) -> None:
        self._lock = threading.Lock()
        self._remember = remember
        self._clock = clock
        self._keys: dict[str, ApiKey] = {}
        self._denied: set[str] = set()

    def mint(self, identity: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """A new key for ``identity`` (``{"account", "organization"}``): the answer body."""
        account = identity["account"]
        email = str(account["email_address"])
        raw = self._remember(KEY_PREFIX + secrets.token_urlsafe(70) + "AA")
        local = "".join(c if c.isalnum() else "_" for c in email.split("@")[0])
        key = ApiKey(
            raw=raw,
            id="apikey_01" + secrets.token_hex(11),
            name=f"claude_code_key_{local}_{secrets.token_hex(2)}",
            account_uuid=str(account["uuid"]),
            email=email,
            created_at=self._clock(),
        )
        with self._lock:
            self._keys[raw] = key
        return {"raw_key": raw, "api_key": key.listing()}

    def valid(self, raw: str) -> ApiKey | None:
        """The key if it was created here and is not revoked."""
        with self._lock:
            key = self._keys.get(raw)
            return None if key is None or key.revoked else key

    def is_key(self, raw: str) -> bool:
        """Whether ``raw`` is a key created here (revoked or not)."""
        with self._lock:
            return raw in self._keys

    def count_request(self, key: ApiKey) -> int:
        with self._lock:
            key.requests += 1
            return key.requests

    def revoke(self, raw: str | None = None) -> int:
        """Revoke one key (every key when ``None``); how many were revoked."""
        with self._lock:
            keys = list(self._keys.values()) if raw is None else [self._keys[raw]]
            for key in keys:
                key.revoked = True
            return len(keys)

    def listing(self) -> list[dict[str, Any]]:
        """Every key as the Console lists it (no secret), oldest first."""
        with self._lock:
            return [
                {**key.listing(), "email": key.email, "requests": key.requests}
                for key in self._keys.values()
            ]

    def deny(self, email: str, denied: bool = True) -> None:
        """Make the account's role in its organization refuse (or allow) creating keys."""
        with self._lock:
            (self._denied.add if denied else self._denied.discard)(email)

    def denied(self, email: str) -> bool:
        with self._lock:
            return email in self._denied


def rate_limit_headers(requests_made: int, tokens: int = 0, *, now: float) -> dict[str, str]:
    """The ordinary rate-limit headers of an API-key answer (per-minute buckets) at ``now``."""
    reset = _iso(now + 60)
    left = max(0, REQUESTS_PER_MINUTE - requests_made % REQUESTS_PER_MINUTE)
    tokens_left = str(max(0, TOKENS_PER_MINUTE - tokens))
    return {
        "anthropic-ratelimit-requests-limit": str(REQUESTS_PER_MINUTE),
        "anthropic-ratelimit-requests-remaining": str(left),
        "anthropic-ratelimit-requests-reset": reset,
        "anthropic-ratelimit-tokens-limit": str(TOKENS_PER_MINUTE),
        "anthropic-ratelimit-tokens-remaining": tokens_left,
        "anthropic-ratelimit-tokens-reset": reset,
        "anthropic-ratelimit-input-tokens-limit": str(TOKENS_PER_MINUTE),
        "anthropic-ratelimit-input-tokens-remaining": tokens_left,
        "anthropic-ratelimit-input-tokens-reset": reset,
        "anthropic-ratelimit-output-tokens-limit": str(TOKENS_PER_MINUTE // 5),
        "anthropic-ratelimit-output-tokens-remaining": str(TOKENS_PER_MINUTE // 5),
        "anthropic-ratelimit-output-tokens-reset": reset,
    }


def create_api_key(state: Any, req: Request) -> Response:
    """POST /api/oauth/claude_cli/create_api_key: a Console login's token makes a key."""
    scheme, _, token = req.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return anthropic_error(401, "authentication_error", "Missing bearer token")
    login = state.console_login_of(token)
    if login is None:
        return anthropic_error(401, "authentication_error", "Invalid bearer token")
    scope, index, is_console = login
    if not is_console:
        return anthropic_error(403, "permission_error", NOT_CONSOLE_MESSAGE)
    if "org:create_api_key" not in scope.split():
        details = {"error_code": "oauth_scope_insufficient"}
        return anthropic_error(403, "permission_error", NO_SCOPE_MESSAGE, details=details)
    with state.lock:
        identity = {key: dict(value) for key, value in state.accounts[index].items()}
    if state.api_keys.denied(identity["account"]["email_address"]):
        return anthropic_error(403, "permission_error", NO_PERMISSION_MESSAGE)
    return json_response(200, state.api_keys.mint(identity), {"Cache-Control": "no-store"})


def fault_response(name: str, now: float, params: dict[str, Any] | None = None) -> Response:
    """The answer of one of :data:`FAULTS` (``now``: the emulator's wall clock)."""
    if name == "403_no_permission":
        return anthropic_error(403, "permission_error", NO_PERMISSION_MESSAGE)
    if name == "403_verification_required":
        details = {"error_code": "verification_required", "error_visibility": "user_facing"}
        if params and "remediation_url" in params:
            details["remediation_url"] = str(params["remediation_url"])
        return anthropic_error(403, "permission_error", VERIFY_MESSAGE, details=details)
    listing = {
        "id": "apikey_01" + secrets.token_hex(11),
        "type": "api_key",
        "name": "claude_code_key_fault",
        "created_at": _iso(now),
        "status": "active",
    }
    if name == "no_raw_key":
        return json_response(200, {"api_key": listing})
    return json_response(200, {"raw_key": 12345, "api_key": listing})  # bad_raw_key
