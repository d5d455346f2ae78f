"""One ``httpx.Client`` per process, and :func:`fetch`: one call with a total deadline.

Creating a client builds an SSL context (about 20 ms here, 50 ms cold), which
would otherwise sit between the browser's callback and the saved token. The
login flow warms it up in the background while the user is in the browser.
The client is thread-safe; per-request timeouts are passed by each caller, and
redirects are never followed (an endpoint that redirects is misconfigured).

httpx's timeouts bound each network operation, not a call: a server that sends
a byte every second never trips a 30-second read timeout. :func:`fetch` bounds
the whole call — connect, headers and body — and the size of the body, and its
worker lets go of the socket at the deadline (:mod:`.call_deadline`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..config_rules import url_host
from ..errors import NetworkError, ResponseTooLarge, StorageError

if TYPE_CHECKING:
    import httpx

_client: httpx.Client | None = None
_lock = threading.Lock()

#: Body limits: a token or profile answer is a few hundred bytes, a models page a few KiB.
MAX_SMALL_BODY = 1 << 20
MAX_MODELS_PAGE = 16 << 20


def shared_client() -> httpx.Client:
    """The process-wide client (created on first use)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                import httpx

                # Follows no redirect (httpx's default; fetch insists per request). fetch
                # puts the deadline backend under it (call_deadline.install) at each call.
                _client = httpx.Client()
    return _client


def fetch(
    method: str,
    url: str,
    *,
    what: str,
    timeout: float,
    max_bytes: int = MAX_SMALL_BODY,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    params: Mapping[str, Any] | None = None,
    auth: httpx.Auth | None = None,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """Send one request and read its whole answer within ``timeout`` seconds in total.

    What a caller may rely on:

    * The call returns or raises within ``timeout`` seconds (plus scheduling
      noise), whatever the server does: connect, headers and body together.
      The request runs in a worker thread; on the deadline the caller gets
      :class:`NetworkError` at once. The worker's socket operations share the
      same deadline (:mod:`.call_deadline`), so it closes the connection and
      ends then too, rather than reading a trickle for as long as it lasts;
      nothing it gets later is used. (Only a hung DNS lookup can keep the
      worker longer; the caller still returns on time.)
    * At most ``max_bytes`` of (decoded) body are read: a larger answer raises
      :class:`ResponseTooLarge`, and reading stops at the cap. Compressed answers
      are decoded a bounded step at a time, one layer at most (``gzip, gzip`` is
      refused), and we ask for none (:mod:`.bounded_decoding`): peak memory is
      the cap plus 64 KiB whatever the server sends — for the bodies an auth flow
      reads too (a 401's).
    * A local ``OSError`` (a file an auth flow uses) is :class:`StorageError`
      naming the file, never "could not be reached".
    * Errors: :class:`NetworkError` at the deadline, for a timeout and for what
      httpx does not wrap (a host name the resolver refuses); other
      ``httpx.HTTPError`` and the auth flow's own errors as they are.
    * The returned response's body is loaded (``.content`` works, nothing is left
      to read). Redirects are never followed. ``what`` names the endpoint in
      error messages (for example ``"The token endpoint"``); no message holds
      the URL's query or any header value.
    """
    import httpx

    from . import bounded_decoding, call_deadline

    http = client or shared_client()
    call_deadline.install(http)
    bounded_decoding.install(http)
    host = url_host(url)
    # Compressed answers are decoded within bounds (bounded_decoding); we ask for none.
    headers = {"Accept-Encoding": bounded_decoding.ACCEPT, **(headers or {})}
    deadline = time.monotonic() + timeout
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        call_deadline.set_deadline(deadline)
        bounded_decoding.set_cap(max_bytes, host, what)
        try:
            request = http.build_request(
                method,
                url,
                headers=headers,
                json=json,
                params=params,
                timeout=httpx.Timeout(timeout),
            )
            response = http.send(request, auth=auth, stream=True, follow_redirects=False)
            try:
                outcome["response"] = _read_bounded(response, what, host, max_bytes)
            finally:
                response.close()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=work, name="claude-code-oauth-http", daemon=True)
    worker.start()
    if not done.wait(min(threading.TIMEOUT_MAX, max(0.0, deadline - time.monotonic()))):
        raise NetworkError(
            f"{what} ({host}) did not answer within {timeout:g} s (the whole answer).",
            hint="Check your connection, or raise CLAUDE_CODE_OAUTH_HTTP_TIMEOUT.",
        )
    error = outcome.get("error")
    if error is not None:
        if isinstance(error, httpx.TimeoutException):
            raise NetworkError(
                f"{what} ({host}) did not answer within {timeout:g} s.",
                hint="Check your connection, or raise CLAUDE_CODE_OAUTH_HTTP_TIMEOUT.",
            ) from None
        if isinstance(error, OSError) and error.filename is not None:
            # A local file (a lock, a token file an auth flow read), not the network.
            from ..storage.secure_file import fix_for

            raise StorageError(
                f"The call to {what[:1].lower() + what[1:]} ({host}) stopped at a local file: "
                f"{error.filename} could not be used ({error.strerror or type(error).__name__}).",
                hint=fix_for(error, os.path.dirname(os.path.abspath(str(error.filename)))),
            ) from None
        if isinstance(error, (ValueError, OSError, httpx.InvalidURL)):
            # Below httpx: a host name the resolver refuses ("a..b", "xn--" raise
            # UnicodeError), a socket error httpcore did not wrap.
            raise NetworkError(
                f"{what} ({host}) could not be reached: {type(error).__name__}.",
                hint="Check the URL's host name and your connection.",
            ) from None
        raise error
    response: httpx.Response = outcome["response"]
    return response


def _read_bounded(response: httpx.Response, what: str, host: str, max_bytes: int) -> httpx.Response:
    """A copy of ``response`` with its body read, refusing more than ``max_bytes``: at once
    when the answer declares a larger length, else as the body passes ``max_bytes``
    (counted by :mod:`.bounded_decoding`, whose cap ``fetch`` set to ``max_bytes``)."""
    import httpx

    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(
            f"{what} ({host}) sent an answer larger than {max_bytes // 1024} KiB; it was not read."
        )
    content = b"".join(response.iter_bytes())
    # The body is decoded already (bounded_decoding dropped Content-Encoding): drop the
    # headers that describe the wire form. (Our clients speak HTTP/1.1 only, httpx's
    # default, which is what the copy says it was.)
    kept = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code, headers=kept, content=content, request=response.request
    )
