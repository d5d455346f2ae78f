"""What ``status`` reports: a stable JSON-able dict, and its human rendering.

No token ever appears here — of a Console sign-in's API key, only its last four
characters. No network unless ``verify`` is asked for.
"""

from __future__ import annotations

import time
from typing import Any

from ..config import Settings
from ..config_rules import DEFAULT_PROFILE
from ..errors import ClaudeOAuthError, SecretStoreDamaged, SecretStoreError
from ..hints import CLI_HINTS, Hints
from ..storage.secure_file import file_mode
from ..tokens import store as token_store
from ..tokens.api_key import ApiKeyRecord
from ..tokens.store import LOGIN_WARNING_SECONDS
from .unified_limits import iso_local


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
    """The status dict documented in docs/commands.md (keys are stable)."""
    now = time.time() if now is None else now
    path = settings.token_path
    mode = file_mode(path)
    report: dict[str, Any] = {
        "profile": settings.profile,
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
        "credential": None,
        "api_key": None,
        "credentials": {"store": "file", "name": "file", "item": None, "problem": None},
    }
    try:
        record = _load(settings, path, report["credentials"])
    except SecretStoreError as exc:
        # The file names a keyring item that cannot be read: one line; only a missing
        # or damaged item needs a new sign-in (a locked keyring needs unlocking).
        report["credentials"]["problem"] = report["error"] = str(exc)
        report["needs_login"] = isinstance(exc, SecretStoreDamaged)
        return report
    except ClaudeOAuthError as exc:
        report["error"] = str(exc)
        report["needs_login"] = True
        return report
    if record is None:
        return report
    if isinstance(record, ApiKeyRecord):
        return _api_key_report(settings, report, record, verify)
    report["credential"] = "oauth"
    account, organization = _who(record)
    deadline = record.refresh_token_expires_at
    login_dead = deadline is not None and deadline <= now
    report.update(
        signed_in=True,
        needs_login=record.needs_login or login_dead or not record.refresh_token,
        account=account,
        organization=organization,
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
    if "expires_at" in record.repaired:
        # Counted as expired (refreshed on next use); the stored value means nothing.
        report.update(access_token_expires_at=None, access_token_expires_in=0)
    if record.repaired:
        report["error"] = (
            f"The token file held unusable values ({', '.join(record.repaired)}); they were "
            "ignored, and the next refresh writes sane ones."
        )
    if verify:
        report["verified"], report["error"] = _verify(settings)
    return report


def _load(
    settings: Settings, path: str, where: dict[str, Any]
) -> token_store.TokenRecord | ApiKeyRecord | None:
    """The sign-in at ``path``, ``where`` (the report's ``credentials``) filled in from
    the file's ``secrets`` member first: a keyring item is read once, within
    ``keyring_timeout``, so a missing or damaged one is named here."""
    location = token_store.secrets_location(path)
    if location is None:
        return token_store.load_sign_in(path)
    from ..secret_store.choose import describe
    from ..tokens.keyring_item import StoreOpener

    where.update(store="keyring", name=describe(location.store), item=location.item)
    return token_store.load_sign_in(path, stores=StoreOpener(settings=settings))


def _who(record: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    account = record.account or {}
    org = record.organization or {}
    return (
        {"email": account.get("email_address"), "uuid": account.get("uuid")} if account else None,
        {"name": org.get("name"), "uuid": org.get("uuid")} if org else None,
    )


def _api_key_report(
    settings: Settings, report: dict[str, Any], record: ApiKeyRecord, verify: bool
) -> dict[str, Any]:
    """A Console sign-in: the key's name, id, creation time and last 4 characters."""
    account, organization = _who(record)
    report.update(
        signed_in=True,
        account=account,
        organization=organization,
        credential="api_key",
        api_key={
            "name": record.key_name,
            "id": record.key_id,
            "last4": record.last4,
            "created_at": iso_local(record.created_at),
        },
    )
    if verify:
        report["verified"], report["error"] = _verify_api_key(settings, record.api_key)
    return report


def _verify_api_key(settings: Settings, key: str) -> tuple[bool, str | None]:
    """Ask the models endpoint (one model) whether the server accepts the API key."""
    import httpx

    from .. import USER_AGENT
    from ..net.api_key_auth import ApiKeyAuth
    from ..net.claude_answers import error_for_response
    from ..net.http_client import fetch

    what = "The models endpoint"
    try:
        response = fetch(
            "GET",
            settings.api_base_url + "/v1/models",
            what=what,
            timeout=settings.http_timeout,
            params={"limit": 1},
            headers={"User-Agent": USER_AGENT},
            auth=ApiKeyAuth(key, settings),
        )
    except ClaudeOAuthError as exc:
        return False, str(exc)
    except httpx.HTTPError as exc:
        return False, f"The models endpoint could not be reached ({type(exc).__name__})."
    error = error_for_response(response, what=what, secrets=[key], api_key=True)
    return (False, str(error)) if error is not None else (True, None)


def _verify(settings: Settings) -> tuple[bool, str | None]:
    """Ask the profile endpoint whether the server accepts our token."""
    import httpx

    from .. import USER_AGENT
    from ..net.bearer_auth import OAuthBearerAuth, RememberingSource
    from ..net.http_client import fetch
    from ..net.http_responses import json_object_or_raise
    from ..tokens.provider import provider_for

    # Both the token sent and a replacement after a 401 are blanked from the error.
    sent = RememberingSource(provider_for(settings))
    auth = OAuthBearerAuth(sent, settings)
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
        json_object_or_raise(response, what, secrets=sent.tokens)
    except ClaudeOAuthError as exc:
        return False, str(exc)
    except httpx.HTTPError as exc:
        return False, f"The profile endpoint could not be reached ({type(exc).__name__})."
    return True, None


def usage_line(settings: Settings, report: dict[str, Any]) -> str | None:
    """The compact usage line for a signed-in ``report`` (from the local usage
    snapshot, see :mod:`.usage_report`), else ``None``."""
    if not report["signed_in"]:
        return None
    if report.get("credential") == "api_key":
        from .usage_report import API_KEY_USAGE_LINE

        return API_KEY_USAGE_LINE
    from .usage_report import status_line

    return status_line(settings, (report["account"] or {}).get("uuid"))


def render(
    report: dict[str, Any], usage: str | None = None, *, show_profile: bool | None = None
) -> list[str]:
    """Human lines for ``report`` (and the ``usage`` line, if given)."""
    return [text for _, text in render_levels(report, usage, show_profile=show_profile)]


def render_levels(
    report: dict[str, Any],
    usage: str | None = None,
    *,
    show_profile: bool | None = None,
    hints: Hints = CLI_HINTS,
    now: float | None = None,
) -> list[tuple[str, str]]:
    """``(level, line)`` pairs for ``report``; level is ``success``, ``info`` or
    ``warning`` (a problem the user should act on). ``usage`` is the compact usage
    line (:func:`usage_line`), shown before the token file. The headline names the
    profile when ``show_profile`` (default: when it is not ``default``). ``hints``
    names the sign-in command where the user is (the CLI's by default). ``now`` (the
    clock by default) dates a Console key's creation."""
    lines: list[tuple[str, str]] = []
    profile = report.get("profile") or DEFAULT_PROFILE
    if show_profile is None:
        show_profile = profile != DEFAULT_PROFILE
    if not report["signed_in"]:
        named = f" (profile {profile})" if show_profile else ""
        where = report.get("credentials") or {}
        if where.get("problem"):
            return [
                ("warning", f"The sign-in{named} cannot be used: {where['problem']}"),
                ("info", _credentials_line(report)),
                *(
                    [("info", f"Sign in with {hints.login(profile)}.")]
                    if report["needs_login"]
                    else []
                ),
            ]
        lines.append(("warning", f"Not signed in to Claude{named}."))
        if report["error"]:
            lines.append(("warning", f"Problem: {report['error']}"))
        else:
            lines.append(("info", f"Token file: {report['token_file']} (absent)"))
        lines.append(("info", f"Sign in with {hints.login(profile)}."))
        return lines
    if report.get("credential") == "api_key":
        return lines + _render_api_key(report, usage, show_profile, now)
    who = (report["account"] or {}).get("email") or "unknown account"
    org = (report["organization"] or {}).get("name")
    headline = f"Signed in to Claude as {who}" + (f" ({org})" if org else "")
    headline += f" — profile {profile}." if show_profile else "."
    lines.append(("warning" if report["needs_login"] else "success", headline))
    expires_in = report["access_token_expires_in"]
    when = f"{report['access_token_expires_at']} ({countdown(expires_in or 0)})"
    if report["access_token_expires_at"] is None:
        token_line = "Access token: expiry unknown; it is refreshed on next use."
    elif expires_in > 0:
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
        lines.append(("warning", f"A new login is needed: run {hints.login(profile)}."))
    if report["refresh_not_before"]:
        until = report["refresh_not_before"]
        lines.append(("info", f"Refresh paused by the server until {until}."))
    if report["last_error"]:
        lines.append(("warning", f"Last refresh problem: {report['last_error']}"))
    if report["error"] and report["verified"] is None:
        lines.append(("warning", f"Note: {report['error']}"))
    return lines + _closing_lines(report, usage, "token")


def _render_api_key(
    report: dict[str, Any], usage: str | None, show_profile: bool, now: float | None
) -> list[tuple[str, str]]:
    """The lines of a Console sign-in (an API key: no expiry, no refresh, no scopes)."""
    key = report["api_key"]
    org = (report["organization"] or {}).get("name") or "an unknown organization"
    email = (report["account"] or {}).get("email")
    headline = f"Anthropic API key (Console) for {org}"
    headline += f", signed in as {email}" if email else ""
    profile = report.get("profile") or DEFAULT_PROFILE
    headline += f" — profile {profile}." if show_profile else "."
    lines = [("success", headline)]
    name = f"{key['name']} " if key["name"] else ""
    created = key["created_at"]
    if created:
        from datetime import datetime

        now = time.time() if now is None else now
        ago = countdown(datetime.fromisoformat(created).timestamp() - now)
        when = f"created {created} ({ago})"
    else:
        when = "creation time unknown"
    lines.append(("info", f"API key: {name}…{key['last4']}, {when}; it does not expire."))
    return lines + _closing_lines(report, usage, "API key")


def _credentials_line(report: dict[str, Any]) -> str:
    """Where the credentials live: ``Credentials: file PATH (mode 0600)``, or the keyring
    and its item, with the token file that keeps the rest."""
    where = report.get("credentials") or {}
    mode = report["token_file_mode"]
    if where.get("store") == "keyring":
        return (
            f"Credentials: {where['name']}, item of profile {where['item']}; "
            f"the rest in {report['token_file']} (mode {mode})"
        )
    return f"Credentials: file {report['token_file']} (mode {mode})"


def _closing_lines(
    report: dict[str, Any], usage: str | None, credential: str
) -> list[tuple[str, str]]:
    """The server check, the usage line and where the credential is kept."""
    lines = []
    if report["verified"] is True:
        lines.append(("info", f"Server check: {credential} accepted."))
    elif report["verified"] is False:
        lines.append(("warning", f"Server check: failed. {report['error']}"))
    if usage:
        lines.append(("info", usage))
    lines.append(("info", _credentials_line(report)))
    return lines
