"""What Claude's API answered, as one named line: the public way to explain a refusal.

Claude in late 2026 refuses, limits and fails in ways a generic HTTP error hides
(CONTEXT §2b, §2c). :func:`error_for_answer` turns any non-2xx answer — or a stream
that failed after it started — into a :class:`~claude_code_oauth.errors.ClaudeApiError`
subclass whose ``str()`` is one line that names the host, says what happened and
what to do, and never holds a token:

=========================================  ======================================
answer                                     error
=========================================  ======================================
400 "only authorized for use with Claude   :class:`ThirdPartyRefused` (no refresh,
Code"                                      no retry helps)
400 / 404 / 413 / 422 about the request    :class:`RequestRejected`
401 ``authentication_error``               :class:`SignInRejected` ("sign in again");
                                           with an API key :class:`ApiKeyRejected`
401/403 "OAuth authentication is           :class:`OrganizationRefused` (no refresh,
currently not allowed for this             no sign-in helps: a payment past due, or
organization"                              subscription access switched off)
``error.details.error_code``               see :data:`ERROR_CODES` (out of extra
                                           usage, a missing scope, a disabled
                                           organization, an expired token,
                                           verification, a suspended model)
403 "OAuth token has been revoked"         :class:`LoginRevoked` (after the one
                                           refresh did not cure it)
403 ``permission_error`` naming ``model:``  :class:`ModelNotAvailable` (not on this plan)
403 other                                  :class:`PermissionRefused`
429 with ``…-unified-status: rejected``    :class:`UsageLimitReached` (window, reset)
429 without                                :class:`RequestRejected` ("not a usage limit")
529 / 5xx / ``event: error`` mid-stream    :class:`ApiUnavailable`
HTML page, non-JSON body                   :class:`ApiUnexpectedAnswer`
no answer (DNS, refused, TLS, timeout)     :class:`ApiUnreachable` (:func:`unreachable`)
=========================================  ======================================

An answer whose ``error.details.error_visibility`` is ``"user_facing"`` carries a
message Claude wrote for the user: the line shows it (up to 300 characters instead
of 160, blanked of credentials like every message). :func:`needs_new_token` says
which answers another token may cure (the auth flows' one refresh-and-retry).

Library use: ``raise_for_answer(response)`` after a request made with
:class:`~claude_code_oauth.net.bearer_auth.OAuthBearerAuth` (which already did
the one refresh-and-retry on a 401 or a revoked token).
A streamed answer (``"stream": true``) is checked once its body has been read: an
``event: error`` in it is the stream that failed after it started. While reading a
stream event by event, pass an error event's data to :func:`error_for_answer`
with status 200.

This module imports only the standard library and our own small modules; it
accepts httpx and httpx2 responses alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..account import unified_limits
from ..errors import (
    ApiKeyRejected,
    ApiUnavailable,
    ApiUnexpectedAnswer,
    ApiUnreachable,
    ClaudeApiError,
    LoginRevoked,
    ModelNotAvailable,
    OrganizationRefused,
    PermissionRefused,
    RequestRejected,
    SignInRejected,
    ThirdPartyRefused,
    UsageLimitReached,
)
from ..hints import anywhere
from .error_codes import (
    ERROR_CODES,
    NO_BETA_MARK,
    coded_error,
    error_details,
    is_revocation,
    organization_hint,
    organization_refuses,
    sign_in_hint,
)
from .http_responses import (
    html_shaped,
    html_title,
    one_line,
    retry_after_seconds,
    sent_secrets,
)

API = "Claude's API"


def third_party_hint() -> str:
    """Why no refresh helps a third-party refusal, and the sign-in that does."""
    return (
        "Anthropic's policy allows Claude subscription (Pro/Max) sign-ins only in Claude "
        "Code and claude.ai, and no refresh or retry changes that. To use Claude here, sign "
        f"in with an Anthropic Console (API-billed) account instead: "
        f"{anywhere().login(console=True)} creates an API key that Anthropic's terms allow "
        "in any client; or use Claude Code itself."
    )


def api_key_hint() -> str:
    """What a rejected API key means, and how to get another."""
    return (
        "An API key has no refresh: it was probably revoked or deleted in the Anthropic "
        f"Console. Sign in again with {anywhere().login(console=True)} to create a new one."
    )


_THIRD_PARTY_MARK = "only authorized for use with claude code"
_MAX_TEXT = 160
#: A message Claude marked ``user_facing`` is shown up to this long.
_MAX_USER_FACING = 300


def host_of(url: str) -> str:
    """The ``host[:port]`` of ``url`` (what every message names), never its user-info."""
    from ..config_rules import url_host

    return url_host(url)


def _short(text: object, secrets: Iterable[str]) -> str:
    return one_line(text, secrets, _MAX_TEXT)


def _header(headers: Iterable[tuple[str, str]], name: str) -> str:
    found = ""
    for key, value in headers:
        if key.lower() == name:
            found = value
    return found


def _pairs(headers: Any) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if hasattr(headers, "multi_items"):
        return list(headers.multi_items())
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


def _decode(body: Any) -> tuple[Any, bytes]:
    """(parsed JSON or ``None``, raw bytes) from bytes, text or already-parsed JSON."""
    if isinstance(body, (dict, list)):
        return body, b""
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else bytes(body or b"")
    try:
        return (json.loads(raw) if raw.strip() else None), raw
    except ValueError:
        return None, raw


def _stream_error(raw: bytes) -> Any:
    """The data of the last ``event: error`` in a server-sent-events body, if any
    (a stream that failed after it started), else ``None``."""
    if b"event: error" not in raw and b"event:error" not in raw:
        return None
    found = None
    event = ""
    for line in raw.decode("utf-8", "replace").splitlines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event == "error":
            try:
                found = json.loads(line[5:].strip())
            except ValueError:
                found = {"error": {"type": "error", "message": None}}
        elif not line.strip():
            event = ""
    return found


def _envelope(data: Any, secrets: Iterable[str]) -> tuple[str | None, str | None]:
    """(error type, message) from Anthropic's envelope (or an OAuth one), else (None, None).
    A message marked ``user_facing`` is kept longer (:data:`_MAX_USER_FACING`)."""
    if not isinstance(data, dict):
        return None, None
    error = data.get("error")
    if isinstance(error, dict):
        kind, message = error.get("type"), error.get("message")
    elif isinstance(error, str):
        kind, message = error, data.get("error_description") or data.get("message")
    else:
        return None, None
    limit = _MAX_USER_FACING if error_details(data)[1] else _MAX_TEXT
    return (
        _short(kind, secrets) if kind else None,
        one_line(message, secrets, limit) if message else None,
    )


def _detail(status: int, kind: str | None, message: str | None, code: str | None = None) -> str:
    """``HTTP 400 invalid_request_error: <message>`` (what the server said, shortened),
    with the error code when Claude sent one: ``HTTP 403 permission_error,
    organization_disabled: <message>``."""
    text = f"HTTP {status}"
    if kind:
        text += f" {kind}"
    if code:
        text += f", {code}" if kind else f" {code}"
    if message:
        text += f": {message}"
    return text


def needs_new_token(status: int, body: Any) -> bool:
    """Whether another token may cure this answer to a request with an OAuth token, as
    Claude Code decides: a 401 (an expired or revoked access token), or a 403 "OAuth
    token has been revoked". Never the organization's refusal of OAuth or a missing
    OAuth beta, which no token cures. ``body``: bytes, text or parsed JSON."""
    if status not in (401, 403):
        return False
    data, _ = _decode(body)
    _, message = _envelope(data, ())
    if organization_refuses(status, message, error_details(data)[0]):
        return False
    if status == 401:
        return NO_BETA_MARK not in (message or "").lower()
    return is_revocation(status, None, message)


def answer_detail(response: Any, secrets: Iterable[str] = ()) -> str:
    """``HTTP 403 permission_error: <message>`` for a read httpx(2) response: what the
    server said, shortened to one line, credentials blanked."""
    request = getattr(response, "request", None)
    data, _ = _decode(response.content)
    kind, message = _envelope(data, [*secrets, *sent_secrets(request)])
    return _detail(response.status_code, kind, message)


def usage_limit_line(limits: unified_limits.UnifiedLimits, now: float | None = None) -> str:
    """``Claude usage limit reached (5-hour window); resets at 14:05 (in 1 h 12 min)``."""
    window = limits.binding_window
    line = "Claude usage limit reached"
    if window:
        line += f" ({unified_limits.display_name(window)} window)"
    resets_at = limits.binding_resets_at()
    if resets_at is not None:
        line += f"; resets at {unified_limits.until(resets_at, now)}"
    else:
        line += "; Claude did not say when it resets"
    return line


def error_for_answer(
    status: int,
    headers: Any,
    body: Any,
    *,
    host: str,
    what: str = API,
    retried: bool = False,
    secrets: Iterable[str] = (),
    now: float | None = None,
    api_key: bool = False,
) -> ClaudeApiError | None:
    """The named error for an answer of Claude's API, or ``None`` for a successful one.

    ``headers``: name/value pairs, a mapping, or httpx(2) ``Headers``. ``body``: the raw
    bytes or text, or JSON the caller already parsed (the anthropic SDK's ``body``). A
    ``status`` of 2xx with an error envelope is a stream that failed after it started.
    ``retried`` says a 401 already went through the one refresh-and-retry. ``secrets``
    (tokens just sent) are blanked if the server echoed them, and so is anything shaped
    like an Anthropic token or key. ``api_key``: the request
    carried an API key (a Console sign-in), not an OAuth token. Never raises.
    """
    secrets = [s for s in secrets if s]
    pairs = _pairs(headers)
    data, raw = _decode(body)
    if 200 <= status < 300 and data is None and raw:
        data = _stream_error(raw)
    kind, message = _envelope(data, secrets)
    where = f"{what} ({host})"
    if 200 <= status < 300:
        if kind is None:
            return None
        return ApiUnavailable(
            f"{where} failed after it had started answering ({kind}"
            + (f": {message}" if message else "")
            + "); try again in a moment.",
            status=status,
            host=host,
            error_type=kind,
        )
    if kind is None and html_shaped(_header(pairs, "content-type"), raw):
        title = html_title(raw, secrets, _MAX_TEXT)
        shown = f' "{title}"' if title else ""
        cloudflare = " (a Cloudflare challenge)" if "moment" in (title or "").lower() else ""
        cls = ApiUnavailable if status >= 500 else ApiUnexpectedAnswer
        moved = (
            " The URL has probably moved: check CLAUDE_CODE_OAUTH_API_BASE_URL."
            if status in (404, 410)
            else " A proxy or firewall is in the way, or CLAUDE_CODE_OAUTH_API_BASE_URL is wrong."
            if status < 500
            else " Try again shortly."
        )
        return cls(
            f"{where} answered HTTP {status} with an HTML page{shown}{cloudflare} instead of "
            f"JSON.{moved}",
            status=status,
            host=host,
        )
    code = error_details(data)[0]
    detail = _detail(status, kind, message, code)
    common: dict[str, Any] = {
        "status": status,
        "host": host,
        "error_type": kind,
        "error_code": code,
    }
    if status == 400 and _THIRD_PARTY_MARK in (message or "").lower():
        return ThirdPartyRefused(
            f"{where} refused this sign-in for use outside Claude Code ({detail}).",
            hint=third_party_hint(),
            **common,
        )
    if status == 401 and api_key:
        return ApiKeyRejected(
            f"{where} rejected the API key of this Console sign-in ({detail}).",
            hint=api_key_hint(),
            **common,
        )
    if organization_refuses(status, message, code) and code != "organization_disabled":
        return OrganizationRefused(
            f"{where} does not allow OAuth sign-ins for this organization ({detail}).",
            hint=organization_hint(),
            **common,
        )
    if code in ERROR_CODES and status >= 400:
        return coded_error(
            code, data, pairs, where, detail, message, retried=retried, now=now, common=common
        )
    if status == 401:
        if NO_BETA_MARK in (message or "").lower():
            return SignInRejected(
                f"{where} did not accept OAuth ({detail}).",
                hint="The OAuth beta header is missing: check CLAUDE_CODE_OAUTH_ANTHROPIC_BETA.",
                **common,
            )
        again = " even after a refresh" if retried else ""
        return SignInRejected(
            f"{where} rejected the sign-in{again} ({detail}).", hint=sign_in_hint(), **common
        )
    if status == 403 and not api_key and is_revocation(status, kind, message):
        again = ", even with a freshly refreshed token" if retried else ""
        return LoginRevoked(
            f"{where} says this login was revoked ({detail}){again}.",
            hint=sign_in_hint(),
            **common,
        )
    if status == 403 and kind == "permission_error" and "model:" in (message or ""):
        return ModelNotAvailable(
            f"{where} says this plan cannot use this model ({detail}).",
            hint="Choose another model.",
            **common,
        )
    if status == 403:
        return PermissionRefused(f"{where} refused permission ({detail}).", **common)
    if status == 429:
        limits = unified_limits.parse(pairs, now)
        if limits is not None and limits.limit_reached:
            return UsageLimitReached(
                f"{usage_limit_line(limits, now)} ({host} answered HTTP 429).",
                window=limits.binding_window,
                resets_at=limits.binding_resets_at(),
                **common,
            )
        wait = retry_after_seconds(_header(pairs, "retry-after"))
        if api_key:
            return RequestRejected(
                f"{where} is rate limiting this API key's organization ({detail})."
                + (f" Retry after {wait:.0f} s." if wait is not None else ""),
                **common,
            )
        said = f' ("{message.rstrip(".")}")' if message else ""
        return RequestRejected(
            f"Claude rejected the request (HTTP 429, not a usage limit): {what} ({host}) "
            f"answered {kind or 'an error'}{said}."
            + (f" Retry after {wait:.0f} s." if wait is not None else ""),
            **common,
        )
    if (
        status in (404, 410)
        and kind in (None, "not_found_error")
        and "model" not in (message or "").lower()
    ):
        return RequestRejected(
            f"{where} answered {detail}; the endpoint has probably moved.",
            hint="Check CLAUDE_CODE_OAUTH_API_BASE_URL.",
            **common,
        )
    if status == 529 or status >= 500:
        again = "is overloaded" if status == 529 or kind == "overloaded_error" else "failed"
        return ApiUnavailable(f"{where} {again} ({detail}); try again shortly.", **common)
    if kind is None and message is None:
        return ApiUnexpectedAnswer(
            f"{where} answered HTTP {status} without Anthropic's error JSON.", **common
        )
    return RequestRejected(f"{where} refused the request ({detail}).", **common)


def error_for_response(
    response: Any,
    *,
    what: str = API,
    retried: bool = False,
    secrets: Iterable[str] = (),
    api_key: bool = False,
) -> ClaudeApiError | None:
    """:func:`error_for_answer` for an httpx or httpx2 response whose body was read; the
    credentials its request carried are blanked from the line like ``secrets``."""
    request = getattr(response, "request", None)
    host = host_of(str(request.url)) if request is not None else "unknown host"
    return error_for_answer(
        response.status_code,
        response.headers,
        response.content,
        host=host,
        what=what,
        retried=retried,
        secrets=[*secrets, *sent_secrets(request)],
        api_key=api_key,
    )


def raise_for_answer(
    response: Any, *, what: str = API, retried: bool = True, secrets: Iterable[str] = ()
) -> None:
    """Raise the named :class:`ClaudeApiError` for ``response`` unless it succeeded.

    ``retried`` defaults to ``True``: through :class:`OAuthBearerAuth` a 401 has
    already had its one refresh-and-retry.
    """
    error = error_for_response(response, what=what, retried=retried, secrets=secrets)
    if error is not None:
        raise error


def unreachable(exc: BaseException, host: str, *, what: str = API) -> ApiUnreachable:
    """The line for a request that got no answer (only the exception's kind is kept:
    its text may hold a URL or more). It starts with "Connection error", the words
    hosts (Code Puppy, for one) recognise as a network blip worth retrying."""
    return ApiUnreachable(
        f"Connection error: could not reach {what} ({host}): {type(exc).__name__}.",
        status=None,
        host=host,
        hint="Check your connection and proxy settings, and CLAUDE_CODE_OAUTH_API_BASE_URL.",
    )
