"""What ``status`` reports: a stable JSON-able dict, and its human rendering.

No token ever appears here. No network unless ``verify`` is asked for.
"""

from __future__ import annotations

import time
from typing import Any

from ..config import Settings
from ..errors import ClaudeOAuthError
from ..hints import CLI_HINTS, Hints
from ..storage.secure_file import file_mode
from ..tokens import store as token_store
from ..tokens.store import LOGIN_WARNING_SECONDS


def iso_local(ts: float | None) -> str | None:
    """``ts`` as ISO 8601 local time with its UTC offset, or ``None``."""
    if ts is None:
        return None
    from datetime import datetime

    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def countdown(seconds: float) -> str:
    """``in 7h 59m`` / ``2m ago`` (coarse, for people)."""
    future = seconds >= 0
    left = int(abs(seconds))
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {minutes}m"
    elif minutes:
        text = f"{minutes}m {secs}s"
    else:
        text = f"{secs}s"
    return f"in {text}" if future else f"{text} ago"


def login_expiry_warning(record: token_store.TokenRecord, now: float) -> str | None:
    """A warning when the login (not the access token) ends within 3 days."""
    deadline = record.refresh_token_expires_at
    if deadline is None or deadline - now > LOGIN_WARNING_SECONDS:
        return None
    if deadline <= now:
        return "Your Claude login has expired; sign in again."
    return (
        f"Your Claude login ends {countdown(deadline - now)} ({iso_local(deadline)}); "
        "sign in again before then to avoid an interruption."
    )


def collect(
    settings: Settings, *, verify: bool = False, now: float | None = None
) -> dict[str, Any]:
    """The status dict documented in the README (keys are stable)."""
    now = time.time() if now is None else now
    path = settings.token_path
    mode = file_mode(path)
    report: dict[str, Any] = {
        "signed_in": False,
        "needs_login": False,
        "account": None,
        "organization": None,
        "access_token_expires_at": None,
        "access_token_expires_in": None,
        "login_expires_at": None,
        "login_expires_in": None,
        "login_warning": None,
        "scopes": [],
        "token_file": path,
        "token_file_mode": None if mode is None else f"{mode:04o}",
        "refresh_not_before": None,
        "last_error": None,
        "verified": None,
        "error": None,
    }
    try:
        record = token_store.load(path)
    except ClaudeOAuthError as exc:
        report["error"] = str(exc)
        report["needs_login"] = True
        return report
    if record is None:
        return report
    account = record.account or {}
    org = record.organization or {}
    deadline = record.refresh_token_expires_at
    login_dead = deadline is not None and deadline <= now
    report.update(
        signed_in=True,
        needs_login=record.needs_login or login_dead or not record.refresh_token,
        account=(
            {"email": account.get("email_address"), "uuid": account.get("uuid")}
            if account
            else None
        ),
        organization={"name": org.get("name"), "uuid": org.get("uuid")} if org else None,
        access_token_expires_at=iso_local(record.expires_at),
        access_token_expires_in=int(record.expires_at - now),
        login_expires_at=iso_local(deadline),
        login_expires_in=None if deadline is None else int(deadline - now),
        login_warning=login_expiry_warning(record, now),
        scopes=record.scope.split(),
        refresh_not_before=(
            iso_local(record.refresh_not_before)
            if record.refresh_not_before and record.refresh_not_before > now
            else None
        ),
        last_error=record.last_error,
    )
    if verify:
        report["verified"], report["error"] = _verify(settings)
    return report


def _verify(settings: Settings) -> tuple[bool, str | None]:
    """Ask the profile endpoint whether the server accepts our token."""
    import httpx

    from .. import USER_AGENT
    from ..net.bearer_auth import OAuthBearerAuth
    from ..net.http_client import fetch
    from ..net.http_responses import json_object_or_raise
    from ..tokens.provider import provider_for

    auth = OAuthBearerAuth(provider_for(settings), settings)
    what = "The profile endpoint"
    try:
        response = fetch(
            "GET",
            settings.profile_url,
            what=what,
            timeout=settings.http_timeout,
            headers={"User-Agent": USER_AGENT},
            auth=auth,
        )
        json_object_or_raise(response, what)
    except ClaudeOAuthError as exc:
        return False, str(exc)
    except httpx.HTTPError as exc:
        return False, f"The profile endpoint could not be reached ({type(exc).__name__})."
    return True, None


def render(report: dict[str, Any]) -> list[str]:
    """Human lines for ``report``."""
    return [text for _, text in render_levels(report)]


def render_levels(report: dict[str, Any], hints: Hints = CLI_HINTS) -> list[tuple[str, str]]:
    """``(level, line)`` pairs for ``report``; level is ``success``, ``info`` or
    ``warning`` (a problem the user should act on). ``hints`` names the
    sign-in command where the user is (the CLI's by default)."""
    lines: list[tuple[str, str]] = []
    if not report["signed_in"]:
        lines.append(("warning", "Not signed in to Claude."))
        if report["error"]:
            lines.append(("warning", f"Problem: {report['error']}"))
        else:
            lines.append(("info", f"Token file: {report['token_file']} (absent)"))
        lines.append(("info", f"Sign in with {hints.login}."))
        return lines
    who = (report["account"] or {}).get("email") or "unknown account"
    org = (report["organization"] or {}).get("name")
    headline = f"Signed in to Claude as {who}" + (f" ({org})" if org else "") + "."
    lines.append(("warning" if report["needs_login"] else "success", headline))
    expires_in = report["access_token_expires_in"]
    when = f"{report['access_token_expires_at']} ({countdown(expires_in)})"
    if expires_in > 0:
        token_line = f"Access token: valid, expires {when}; refreshed automatically."
    elif report["needs_login"]:
        token_line = f"Access token: expired {when}."
    else:
        token_line = f"Access token: expired {when}; a new one is fetched on next use."
    lines.append(("info", token_line))
    if report["login_expires_at"]:
        ends = f"{report['login_expires_at']} ({countdown(report['login_expires_in'])})"
        lines.append(("info", f"Login: ends {ends}."))
    if report["login_warning"]:
        lines.append(("warning", f"Warning: {report['login_warning']}"))
    if report["scopes"]:
        lines.append(("info", f"Scopes: {' '.join(report['scopes'])}"))
    if report["needs_login"]:
        lines.append(("warning", f"A new login is needed: run {hints.login}."))
    if report["refresh_not_before"]:
        until = report["refresh_not_before"]
        lines.append(("info", f"Refresh paused by the server until {until}."))
    if report["last_error"]:
        lines.append(("warning", f"Last refresh problem: {report['last_error']}"))
    if report["verified"] is True:
        lines.append(("info", "Server check: token accepted."))
    elif report["verified"] is False:
        lines.append(("warning", f"Server check: failed. {report['error']}"))
    lines.append(("info", f"Token file: {report['token_file']} (mode {report['token_file_mode']})"))
    return lines
