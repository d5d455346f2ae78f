"""The doctor's local checks: configuration, private files, the stored sign-in.

They read files only (no network, no lock) and never show a token.
"""

from __future__ import annotations

import os
import stat
import time

from ..config import Settings
from ..config_rules import CLAUDE_CODE_OAUTH_CONFIG, DEFAULT_PROFILE
from ..errors import ClaudeOAuthError
from ..hints import anywhere
from ..tokens import store as token_store
from ..tokens.store import ApiKeyRecord, TokenRecord
from .check import Check


def sign_in_fix(settings: Settings | None = None) -> str:
    """How to sign in to the profile ``settings`` is about (the default one without)."""
    try:
        profile = settings.profile if settings is not None else DEFAULT_PROFILE
    except ClaudeOAuthError:  # an unusable profile setting: the configuration check says so
        profile = DEFAULT_PROFILE
    return f"Sign in: {anywhere().login(profile)}."


def configuration(settings: Settings) -> Check:
    """Every key's value is valid the way the commands use it."""
    problems = []
    for key in CLAUDE_CODE_OAUTH_CONFIG:
        try:
            settings.checked(key)
        except ClaudeOAuthError as exc:
            problems.append(str(exc))
    if not problems:
        changed = [k for k in CLAUDE_CODE_OAUTH_CONFIG if settings.source(k) != "default"]
        which = f"; set: {', '.join(changed)}" if changed else " (all defaults)"
        return Check("configuration", True, f"{len(CLAUDE_CODE_OAUTH_CONFIG)} keys valid{which}")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Check(
        "configuration",
        False,
        problems[0] + more,
        "Fix or unset the variable named above; `claude-code-oauth config` shows every value.",
    )


def _mode(path: str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def files(settings: Settings) -> Check:
    """The data directory is ours to write in (a save is tried: a file of a save's size
    is created and removed) and not writable by others; the token file is ours and 0600."""
    try:
        data_dir = settings.data_dir
        token_path = settings.token_path
    except ClaudeOAuthError as exc:
        return Check("files", False, str(exc), "Fix the configuration first.")
    if not os.path.isdir(data_dir):
        return Check("files", True, f"{data_dir} does not exist yet (created 0700 at sign-in)")
    info = os.stat(data_dir)
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
        return Check(
            "files",
            False,
            f"{data_dir} is writable by other users, so the token file cannot be kept safe",
            f"chmod go-w {data_dir}",
        )
    shown = f"{data_dir} (mode {stat.S_IMODE(info.st_mode):04o})"
    try:
        # Actually write there, with a save's worth of space: mode bits do not show a
        # read-only or full filesystem (nor what root may do).
        token_store.reserve(token_path).release()
    except ClaudeOAuthError as exc:
        return Check(
            "files", False, f"{exc.reason} A refresh or sign-in could not be saved.", exc.hint
        )
    if os.path.islink(token_path):
        return Check(
            "files", False, f"{token_path} is a symbolic link", f"Remove the link: rm {token_path}"
        )
    if not os.path.exists(token_path):
        return Check("files", True, f"{shown}; no token file yet")
    mode = _mode(token_path)
    if os.lstat(token_path).st_uid != os.getuid():
        return Check(
            "files", False, f"{token_path} belongs to another user", f"Remove it: rm {token_path}"
        )
    if mode & 0o077:
        return Check(
            "files",
            False,
            f"{token_path} has mode {mode:04o}: others can read or change it",
            f"chmod 600 {token_path}",
        )
    return Check("files", True, f"{shown}; token file {token_path} (mode {mode:04o})")


def _when(ts: float, now: float) -> str:
    from ..account.status import countdown
    from ..account.unified_limits import iso_local

    return f"{iso_local(ts)} ({countdown(ts - now)})"


def sign_in(
    settings: Settings, now: float | None = None
) -> tuple[Check, TokenRecord | ApiKeyRecord | None]:
    """Signed in, the access token's and the login's expiry (a Console sign-in: its API
    key, which does not expire); the record (or ``None``)."""
    now = time.time() if now is None else now
    fix = sign_in_fix(settings)
    try:
        from ..tokens.keyring_item import StoreOpener

        stores = StoreOpener(settings=settings)
        record = token_store.load_sign_in(settings.token_path, stores=stores)
    except ClaudeOAuthError as exc:
        return Check("sign_in", False, exc.reason, exc.hint or fix), None
    if record is None:
        return Check("sign_in", False, "Not signed in to Claude.", fix), None
    if isinstance(record, ApiKeyRecord):
        org = record.organization_name or "an unknown organization"
        who = f", signed in as {record.email}" if record.email else ""
        created = (
            f", created {_when(record.created_at, now)}" if record.created_at is not None else ""
        )
        return Check(
            "sign_in",
            True,
            f"Anthropic API key (Console) for {org}{who}: {record.label}{created}; "
            "it does not expire (revoked only in the Console)",
        ), record
    account = (record.account or {}).get("email_address") or "an unknown account"
    org_name = (record.organization or {}).get("name")
    who = f"as {account}" + (f" ({org_name})" if org_name else "")
    deadline = record.refresh_token_expires_at
    if record.needs_login:
        why = record.last_error or "Your Claude login has ended and must be renewed."
        return Check("sign_in", False, f"Signed in {who}, but: {why}", fix), record
    if deadline is not None and deadline <= now:
        return Check(
            "sign_in",
            False,
            f"Signed in {who}, but the login ended {_when(deadline, now)}.",
            fix,
        ), record
    if not record.refresh_token:
        return Check(
            "sign_in", False, f"Signed in {who}, but without a refresh token.", fix
        ), record
    access = (
        f"access token valid until {_when(record.expires_at, now)}"
        if not record.is_expired(now)
        else "access token expired (refreshed at the next use)"
    )
    detail = f"Signed in {who}; {access}"
    if deadline is not None:
        detail += f"; login ends {_when(deadline, now)}"
        from ..tokens.store import LOGIN_WARNING_SECONDS

        if deadline - now <= LOGIN_WARNING_SECONDS:
            detail += " — sign in again before then"
    return Check("sign_in", True, detail), record
