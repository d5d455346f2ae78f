"""The profiles on disk: which exist, who each is signed in as, which one is active.

A profile exists when its token file does (``claude_code_oauth.json`` for
``default``, ``claude_code_oauth.NAME.json`` for the others); locks, side files
(``claude_code_oauth.NAME.usage.json``), ``.corrupt-*`` copies and temporary
files are never taken for one. Everything here reads local files only: no
network, no lock, never a token in what it returns.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from ..config import Settings
from ..config_rules import DEFAULT_PROFILE, is_profile_name, token_file_name
from ..errors import ClaudeOAuthError
from ..tokens import store as token_store

#: ``organization_type`` values as people name the plans.
_PLAN_NAMES = {
    "claude_max": "Max",
    "claude_pro": "Pro",
    "claude_team": "Team",
    "claude_enterprise": "Enterprise",
    "claude_free": "Free",
    "api": "API",
}


def profile_names(settings: Settings) -> list[str]:
    """Every profile with a token file in the data directory: ``default`` first, then
    the others sorted. Unreadable directory: ``[]``."""
    token_file = os.path.basename(settings.with_profile(DEFAULT_PROFILE).token_path)
    try:
        entries = os.listdir(settings.data_dir)
    except OSError:
        return []
    stem, dot, ext = token_file.rpartition(".")
    prefix, suffix = (stem + ".", "." + ext) if dot and stem else (token_file + ".", "")
    names = set()
    for entry in entries:
        if entry == token_file:
            names.add(DEFAULT_PROFILE)
            continue
        # The name between prefix and suffix, if ``entry`` is that profile's token file
        # (the last test decides: whatever the cut finds in another entry, it fails).
        middle = entry[len(prefix) : len(entry) - len(suffix)]
        if (
            middle != DEFAULT_PROFILE
            and is_profile_name(middle)
            and token_file_name(token_file, middle) == entry
        ):
            names.add(middle)
    others = sorted(names - {DEFAULT_PROFILE})
    return [DEFAULT_PROFILE, *others] if DEFAULT_PROFILE in names else others


def plan_of(record: token_store.TokenRecord) -> str | None:
    """The plan as the stored account details say it (``Max 20x``, ``Pro``), if they do."""
    org = record.organization or {}
    account = record.account or {}
    kind = org.get("organization_type")
    name = _PLAN_NAMES.get(kind) if isinstance(kind, str) else None
    if name is None:
        if account.get("has_claude_max") is True:
            name = "Max"
        elif account.get("has_claude_pro") is True:
            name = "Pro"
    tier = org.get("rate_limit_tier")
    if name == "Max" and isinstance(tier, str):
        for multiple in ("20x", "5x"):
            if tier.endswith("_" + multiple):
                return f"Max {multiple}"
    return name


def _plan_seen(settings: Settings, record: token_store.TokenRecord) -> str | None:
    """The plan the sign-in (or ``usage --refresh``) read from the profile endpoint and
    kept in the usage snapshot, if it is this account's."""
    from ..account.usage_lines import plan_short
    from ..account.usage_snapshot import for_account, load, usage_path
    from ..tokens.record import account_uuid

    try:
        usage = for_account(load(usage_path(settings)), account_uuid(record))
    except ClaudeOAuthError:
        return None
    plan = usage.plan
    return plan_short(plan.name, plan.tier, plan.display_name) if plan else None


@dataclass(frozen=True)
class ProfileSummary:
    """One profile as its token file describes it (times are Unix epoch seconds)."""

    name: str
    active: bool
    token_path: str
    signed_in: bool
    needs_login: bool = False
    email: str | None = None
    organization: str | None = None
    plan: str | None = None
    access_token_expires_at: float | None = None
    login_expires_at: float | None = None
    error: str | None = None
    #: ``oauth`` or ``api_key`` (a Console sign-in); ``None`` when not signed in.
    credential: str | None = None
    #: A Console sign-in's key: its name and last 4 characters, and when it was created.
    api_key_name: str | None = None
    api_key_last4: str | None = None
    api_key_created_at: float | None = None

    @property
    def usable(self) -> bool:
        """Signed in and not waiting for a new login."""
        return self.signed_in and not self.needs_login and self.error is None

    def to_json(self, now: float) -> dict[str, Any]:
        """The stable form ``profiles --json`` prints."""
        from ..account.unified_limits import iso_local

        def left(ts: float | None) -> int | None:
            return None if ts is None else int(ts - now)

        return {
            "profile": self.name,
            "active": self.active,
            "signed_in": self.signed_in,
            "needs_login": self.needs_login,
            "email": self.email,
            "organization": self.organization,
            "plan": self.plan,
            "access_token_expires_at": iso_local(self.access_token_expires_at),
            "access_token_expires_in": left(self.access_token_expires_at),
            "login_expires_at": iso_local(self.login_expires_at),
            "login_expires_in": left(self.login_expires_at),
            "token_file": self.token_path,
            "error": self.error,
            "credential": self.credential,
            "api_key": (
                {
                    "name": self.api_key_name,
                    "last4": self.api_key_last4,
                    "created_at": iso_local(self.api_key_created_at),
                }
                if self.credential == "api_key"
                else None
            ),
        }


def summarize(settings: Settings, name: str, *, active: bool, now: float) -> ProfileSummary:
    """``name``'s summary from its token file (a damaged file is reported, not raised)."""
    profile_settings = settings.with_profile(name)
    path = profile_settings.token_path
    try:
        from ..tokens.keyring_item import StoreOpener

        stores = StoreOpener(settings=profile_settings)
        record = token_store.load_sign_in(path, stores=stores)
    except ClaudeOAuthError as exc:
        return ProfileSummary(name, active, path, signed_in=True, needs_login=True, error=str(exc))
    if record is None:
        return ProfileSummary(name, active, path, signed_in=False)
    if isinstance(record, token_store.ApiKeyRecord):
        return ProfileSummary(
            name,
            active,
            path,
            signed_in=True,
            email=record.email,
            organization=record.organization_name,
            plan="API",
            credential="api_key",
            api_key_name=record.key_name,
            api_key_last4=record.last4,
            api_key_created_at=record.created_at,
        )
    deadline = record.refresh_token_expires_at
    return ProfileSummary(
        name,
        active,
        path,
        signed_in=True,
        needs_login=(
            record.needs_login
            or not record.refresh_token
            or (deadline is not None and deadline <= now)
        ),
        email=(record.account or {}).get("email_address"),
        organization=(record.organization or {}).get("name"),
        plan=plan_of(record) or _plan_seen(settings.with_profile(name), record),
        # An unusable stored expiry means nothing (the token is refreshed on next use).
        access_token_expires_at=None if "expires_at" in record.repaired else record.expires_at,
        login_expires_at=deadline,
        credential="oauth",
    )


_READ_IT = object()


def list_profiles(
    settings: Settings, *, now: float | None = None, active: object = _READ_IT
) -> list[ProfileSummary]:
    """The profile ``settings`` uses first (signed in or not), then every other profile
    with a token file. ``active`` marks the one the active-profile file names (which
    ``--profile`` or ``CLAUDE_CODE_OAUTH_PROFILE`` may override for one command); a
    caller that already read that file passes its name (``None``: mark none).
    May raise ConfigError / ProfileError for a bad name."""
    from ..errors import ProfileError
    from .active import recorded_active_profile

    now = time.time() if now is None else now
    current = settings.profile
    if active is _READ_IT:
        try:
            active = recorded_active_profile(settings)
        except ProfileError:
            active = None  # a damaged active-profile file: none is marked
    names = [current] + [n for n in profile_names(settings) if n != current]
    return [summarize(settings, name, active=name == active, now=now) for name in names]


def active_listing(
    settings: Settings, *, now: float | None = None
) -> tuple[list[ProfileSummary], str | None]:
    """Every profile with the active one first and marked, as ``profiles`` and
    ``/claude-code-switch`` show them, reading the active-profile file once; and the
    problem with that file, if it is damaged (then ``default`` comes first, unmarked)."""
    from ..config_rules import DEFAULT_PROFILE
    from ..errors import ProfileError
    from .active import recorded_active_profile

    try:
        active = recorded_active_profile(settings)
    except ProfileError as exc:
        return list_profiles(settings.with_profile(DEFAULT_PROFILE), now=now, active=None), str(exc)
    return list_profiles(settings.with_profile(active), now=now, active=active), None


def other_signed_in_profiles(settings: Settings) -> list[ProfileSummary]:
    """The usable profiles other than ``settings.profile``, for a message such as "a usage
    limit was reached; other signed-in profiles: work (you@work.example)".

    Only for telling the user: switching stays the user's choice (``switch``);
    nothing in this package ever switches on its own.
    """
    now = time.time()
    current = settings.profile
    others = (
        summarize(settings, name, active=False, now=now)
        for name in profile_names(settings)
        if name != current
    )
    return [summary for summary in others if summary.usable]


def other_profiles_hint(settings: Settings) -> str | None:
    """One sentence for a limit message, or ``None`` when no other profile is usable:
    "Other signed-in profiles: work (you@work.example). Switching is your choice:
    /claude-code-switch NAME" (worded by :func:`~claude_code_oauth.hints.anywhere`). Never raises
    for a damaged file (a hint must not turn a limit message into another error)."""
    try:
        others = other_signed_in_profiles(settings)
    except ClaudeOAuthError:
        return None
    if not others:
        return None
    names = ", ".join(f"{s.name} ({s.email})" if s.email else s.name for s in others)
    from ..hints import anywhere

    return (
        f"Other signed-in profiles: {names}. Switching is your choice: {anywhere().switch('NAME')}."
    )


def describe(summary: ProfileSummary, now: float) -> str:
    """One line for people: ``work: you@work.example (Acme, Max) — token valid, expires in
    7h 59m; login ends in 29d 23h``."""
    from ..account.status import countdown

    if not summary.signed_in:
        return f"{summary.name}: not signed in"
    if summary.error:
        return f"{summary.name}: {summary.error}"
    who = summary.email or "unknown account"
    details = ", ".join(x for x in (summary.organization, summary.plan) if x)
    line = f"{summary.name}: {who}" + (f" ({details})" if details else "")
    if summary.needs_login:
        return line + " — needs a new login"
    if summary.credential == "api_key":
        created = summary.api_key_created_at
        when = f", created {countdown(created - now)}" if created is not None else ""
        return line + f" — Anthropic API key (Console) …{summary.api_key_last4}{when}"
    parts = []
    expires = summary.access_token_expires_at
    if expires is not None:
        state = "expired" if expires <= now else "valid"
        parts.append(f"token {state}, expires {countdown(expires - now)}")
    else:
        parts.append("token expiry unknown (refreshed on next use)")
    if summary.login_expires_at is not None:
        parts.append(f"login ends {countdown(summary.login_expires_at - now)}")
    return line + " — " + "; ".join(parts)
