"""What Claude's API answered, as one named line: the public way to explain a refusal.

Claude in late 2026 refuses, limits and fails in ways a generic HTTP error hides
(CONTEXT §2b, §2c). :func:`error_for_answer` turns any non-2xx answer — or a stream
that failed after it started — into a :class:`~claude_code_oauth.errors.ClaudeApiError`
subclass whose ``str()`` is one line that names the host, says what happened and
what to do, and never holds a token:

Which answer makes which error is one table, :func:`.refusal_table.refusals` (read top
to bottom; the documentation renders it): a third-party refusal, an organization that
refuses OAuth, Claude's error codes, a revoked login, a model this plan lacks, a usage
limit, an overloaded API, an HTML page, and the rest. No answer at all is
:func:`unreachable`.

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

from ..errors import ApiUnreachable, ClaudeApiError
from .error_codes import NO_BETA_MARK, error_details, is_revocation, organization_refuses
from .http_responses import one_line, sent_secrets
from .refusal_lines import MAX_TEXT, Answer, detail_of
from .refusal_table import error_for

API = "Claude's API"


#: A message Claude marked ``user_facing`` is shown up to this long.
_MAX_USER_FACING = 300


def host_of(url: str) -> str:
    """The ``host[:port]`` of ``url`` (what every message names), never its user-info."""
    from ..config_rules import url_host

    return url_host(url)


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
                found = {"error": {"type": "error"}}  # an error event all the same
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
    limit = _MAX_USER_FACING if error_details(data)[1] else MAX_TEXT
    return (
        one_line(kind, secrets, MAX_TEXT) if kind else None,
        one_line(message, secrets, limit) if message else None,
    )


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
    return is_revocation(status, message)


def _request_of(response: Any) -> Any:
    """The request ``response`` answered, or ``None`` (an httpx response built without
    one raises instead of having none)."""
    try:
        return response.request
    except (AttributeError, RuntimeError):
        return None


def answer_detail(response: Any, secrets: Iterable[str] = ()) -> str:
    """``HTTP 403 permission_error: <message>`` for a read httpx(2) response: what the
    server said, shortened to one line, credentials blanked."""
    request = _request_of(response)
    data, _ = _decode(response.content)
    kind, message = _envelope(data, [*secrets, *sent_secrets(request)])
    return detail_of(response.status_code, kind, message)


def read_answer(
    status: int,
    headers: Any,
    body: Any,
    *,
    host: str,
    what: str = API,
    retried: bool,
    secrets: Iterable[str] = (),
    now: float | None = None,
    api_key: bool,
) -> Answer | None:
    """The answer as the refusal table's rows read it, or ``None`` for a successful one
    (the arguments are :func:`error_for_answer`'s)."""
    secrets = [s for s in secrets if s]
    data, raw = _decode(body)
    if 200 <= status < 300 and data is None and raw:
        data = _stream_error(raw)
    kind, message = _envelope(data, secrets)
    if 200 <= status < 300 and kind is None:
        return None
    return Answer(
        status=status,
        kind=kind,
        message=message,
        code=error_details(data)[0],
        data=data,
        raw=raw,
        pairs=_pairs(headers),
        host=host,
        what=what,
        retried=retried,
        api_key=api_key,
        now=now,
        secrets=secrets,
    )


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
    """The named error for an answer of Claude's API, or ``None`` for a successful one:
    the first row of :func:`~.refusal_table.refusals` that matches makes it.

    ``headers``: name/value pairs, a mapping, or httpx(2) ``Headers``. ``body``: the raw
    bytes or text, or JSON the caller already parsed (the anthropic SDK's ``body``). A
    ``status`` of 2xx with an error envelope is a stream that failed after it started.
    ``retried`` says a 401 already went through the one refresh-and-retry. ``secrets``
    (tokens just sent) are blanked if the server echoed them, and so is anything shaped
    like an Anthropic token or key. ``api_key``: the request
    carried an API key (a Console sign-in), not an OAuth token. Never raises.
    """
    answer = read_answer(
        status,
        headers,
        body,
        host=host,
        what=what,
        retried=retried,
        secrets=secrets,
        now=now,
        api_key=api_key,
    )
    return None if answer is None else error_for(answer)


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
    request = _request_of(response)
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
