"""``usage --refresh``: ask ``GET /api/oauth/usage`` (and the profile, for the plan).

The usage endpoint rate-limits hard, so it is asked at most once per
:data:`MIN_INTERVAL` (60 s) per sign-in across every process: the time of the
last attempt is recorded in the usage file under its lock before the call. When
it answers 429 or 403, every process waits as Claude's own client does: its
``Retry-After``, else :data:`DEFAULT_BACKOFF` (5 min), at most :data:`MAX_BACKOFF`
(1 h). When the endpoint is not asked (too soon, or it said to wait), or fails,
the last snapshot is kept and the caller shows it with its "as of".

Its answers (both forms) and the profile's are read by :mod:`.endpoint_answers`.
A sign-in reads the plan once (:func:`read_plan`), so ``usage`` shows the plan and
whether extra usage is on before any answer from the API.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..errors import ClaudeOAuthError
from .endpoint_answers import normalize, plan_of_profile
from .usage_snapshot import Plan, UsageFile, UsageSnapshot, update, usage_path, with_snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    import httpx

#: Seconds between two calls to the usage endpoint, across processes.
MIN_INTERVAL = 60.0
#: How long to leave the endpoint alone after a 429 or 403 without ``Retry-After``.
DEFAULT_BACKOFF = 300.0
#: The longest wait a ``Retry-After`` is believed for.
MAX_BACKOFF = 3600.0


def backoff_seconds(retry_after: float | None) -> float:
    """How long to leave the endpoint alone after a 429 or 403: ``Retry-After``
    (at least 1 s), else :data:`DEFAULT_BACKOFF`; never more than :data:`MAX_BACKOFF`."""
    if retry_after is None:
        return DEFAULT_BACKOFF
    return min(MAX_BACKOFF, max(1.0, retry_after))


@dataclass(frozen=True)
class RefreshOutcome:
    """What ``--refresh`` did: ``asked`` the endpoint or not, and ``note`` (one line
    for the user, or ``None`` when fresh values arrived); ``failed`` when the
    endpoint was asked and did not answer usefully."""

    usage: UsageFile
    asked: bool
    note: str | None = None
    failed: bool = False


def _get(settings: Settings, url: str, what: str) -> httpx.Response:
    import httpx

    from .. import USER_AGENT
    from ..errors import NetworkError
    from ..net.bearer_auth import OAuthBearerAuth
    from ..net.http_client import fetch
    from ..tokens.provider import provider_for

    # observers=(): an endpoint answer is not a model answer; its numbers are saved below.
    auth = OAuthBearerAuth(provider_for(settings), settings, observers=())
    try:
        return fetch(
            "GET",
            url,
            what=what,
            timeout=settings.http_timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            auth=auth,
        )
    except httpx.HTTPError as exc:
        raise NetworkError(f"{what} could not be reached ({type(exc).__name__}).") from None


def _ask_plan(settings: Settings) -> Plan:
    """The plan, as the profile endpoint says it now (raises ClaudeOAuthError)."""
    from ..net.http_responses import json_object_or_raise

    what = "The profile endpoint"
    body = json_object_or_raise(_get(settings, settings.profile_url, what), what)
    return plan_of_profile(body, time.time())


def read_plan(settings: Settings, account: str | None) -> Plan | None:
    """Ask the profile endpoint for the plan once and keep it in the usage snapshot
    (a sign-in does this, so ``usage`` and ``profiles`` know the plan before any
    ``--refresh``). Best effort: ``None``, and nothing changed, when the profile
    cannot be read or the snapshot cannot be written."""
    try:
        plan = _ask_plan(settings)
    except ClaudeOAuthError:
        return None

    def keep(usage: UsageFile) -> UsageFile:
        if account is not None and usage.account not in (None, account):
            usage = UsageFile(extra=usage.extra)  # another account's figures
        return usage._replace(plan=plan, account=account or usage.account)

    try:
        update(usage_path(settings), keep, lock_timeout=settings.lock_timeout)
    except ClaudeOAuthError:
        return None
    return plan


def _back_off(settings: Settings, response: httpx.Response, now: float) -> RefreshOutcome:
    """A 429 or 403 from the usage endpoint: no process asks again before its
    ``Retry-After`` (else 5 min, at most 1 h). A 429 is the endpoint's rate limit
    (the last values are shown, exit 0); a 403 a refusal, named (exit 1)."""
    from ..net.http_responses import json_object_or_raise, retry_after_seconds

    wait = backoff_seconds(retry_after_seconds(response.headers.get("retry-after")))
    usage = update(
        usage_path(settings),
        lambda u: u._replace(endpoint_retry_until=now + wait),
        lock_timeout=settings.lock_timeout,
    )
    if response.status_code == 429:
        note = (
            f"The usage endpoint is rate-limiting (retry in {math.ceil(wait)} s); "
            "showing the last values."
        )
        return RefreshOutcome(usage, asked=True, note=note)
    try:
        json_object_or_raise(response, "The usage endpoint")
        why = "The usage endpoint answered HTTP 403."
    except ClaudeOAuthError as exc:
        why = str(exc).rstrip(".") + "."
    note = (
        f"{why} It is not asked again for {_span(wait)} (as Claude's own client waits); "
        "showing the last values."
    )
    return RefreshOutcome(usage, asked=True, note=note, failed=True)


def _span(seconds: float) -> str:
    return f"{math.ceil(seconds)} s" if seconds < 120 else f"{math.ceil(seconds / 60)} min"


def _ago(seconds: float) -> str:
    # Only ever within MIN_INTERVAL (a minute): seconds are the unit.
    return f"{int(seconds)} s ago"


def refresh(settings: Settings, account: str | None, *, now: float | None = None) -> RefreshOutcome:
    """Ask the usage endpoint (and the profile) unless another call was made within
    :data:`MIN_INTERVAL` by any process or the endpoint asked us to wait; save what
    arrives. Never raises for the endpoint's failures (they become a ``note``);
    raises :class:`ClaudeOAuthError` for a problem with the sign-in or the file."""
    path = usage_path(settings)
    fixed_now = now
    claim: dict[str, Any] = {}

    def claim_call(usage: UsageFile) -> UsageFile | None:
        nonlocal now
        # Read inside the lock: a process that waited for it must compare with the
        # time the holder recorded, not with when it started waiting.
        now = time.time() if fixed_now is None else fixed_now
        retry = usage.endpoint_retry_until
        if retry is not None and now < retry:
            claim["note"] = (
                f"The usage endpoint asked to wait {math.ceil(retry - now)} s more; "
                "showing the last values."
            )
            return None
        checked = usage.endpoint_checked_at
        # A time more than a minute ahead means the clock was set back: not recent.
        if checked is not None and -MIN_INTERVAL < now - checked < MIN_INTERVAL:
            claim["note"] = (
                f"The usage endpoint was asked {_ago(max(0.0, now - checked))} "
                "(at most once a minute); "
                "showing the last values."
            )
            return None
        claim["go"] = True
        return usage._replace(endpoint_checked_at=now)

    lock_timeout = settings.lock_timeout
    usage = update(path, claim_call, lock_timeout=lock_timeout)
    if not claim.get("go"):
        return RefreshOutcome(usage, asked=False, note=claim.get("note"))
    what = "The usage endpoint"
    try:
        response = _get(settings, settings.usage_url, what)
        if response.status_code in (403, 429):
            return _back_off(settings, response, now)
        from ..net.http_responses import json_object_or_raise

        body = json_object_or_raise(response, what)
    except ClaudeOAuthError as exc:
        from ..errors import LoginRequired, NotSignedIn

        if isinstance(exc, (NotSignedIn, LoginRequired)):
            raise
        return RefreshOutcome(
            usage, asked=True, note=f"{exc} Showing the last values.", failed=True
        )
    snapshot = UsageSnapshot(normalize(body), time.time(), "usage_endpoint")
    plan: Plan | None = None
    plan_note = None
    try:
        plan = _ask_plan(settings)
    except ClaudeOAuthError as exc:
        plan_note = f"The plan could not be read: {exc}"

    def save_result(usage: UsageFile) -> UsageFile:
        usage = with_snapshot(usage, snapshot, account)
        return usage._replace(plan=plan or usage.plan, endpoint_retry_until=None)

    usage = update(path, save_result, lock_timeout=lock_timeout)
    return RefreshOutcome(usage, asked=True, note=plan_note)
