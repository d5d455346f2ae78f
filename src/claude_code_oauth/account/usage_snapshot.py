"""The usage file beside the token file: the latest usage snapshot, the plan, and
when the usage endpoint was last asked.

One file per profile, ``settings.side_path("usage")``
(``claude_code_oauth.default.usage.json``), written atomically with mode 0600
and never holding a token or anything else secret: utilization, reset times,
statuses and other short words, the model names of per-model rows, the offers
that are not windows (grace, slow lane, fallback, upgrade paths), the plan's
name, tier, display name and extra-usage setting, the account's uuid and three
timestamps.

What a caller may rely on:

* :func:`load` never returns half a file; a missing file is an empty
  :class:`UsageFile`; a damaged one raises :class:`UsageFileError` (one line)
  and is replaced by the next :func:`update`. A symlink is refused.
* :func:`update` changes the file under its own lock (``….usage.json.lock``)
  so the snapshot writers of several processes and ``usage --refresh`` never
  lose each other's fields.
* The snapshot belongs to ``account`` (the token file's account uuid when it
  was written): readers ignore a snapshot of another account.
* Files of older versions load: fields they lack are ``None``, and the "windows"
  older versions made of the grace and slow-lane headers (``grace``,
  ``grace_5h``, ``slow``, ``slow_budget``…) are dropped, since they are not
  windows. Fields added since are written beside the old ones, never instead.

This module is on the ``usage`` fast path: it imports ``json`` and the standard
library only (``filelock`` only inside :func:`update`).
"""

from __future__ import annotations

import json
from collections import namedtuple

from ..errors import UsageFileError
from ..storage import secure_file
from .header_values import word
from .limit_offers import Grace, Slow
from .unified_limits import UnifiedLimits, Window

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..config import Settings

FORMAT_VERSION = 1
#: The file is a few KiB; a larger one is refused unread (and replaced by the next update).
MAX_FILE_BYTES = 1 << 20
#: Where a snapshot came from (the ``source`` of ``usage --json``).
SOURCES = ("headers", "usage_endpoint")
_MAX_TEXT = 64


# namedtuples, not dataclasses: this module is on the `usage` fast path (see unified_limits).


class UsageSnapshot(namedtuple("UsageSnapshot", ["limits", "as_of", "source"])):
    """Where the account stood at ``as_of`` (epoch seconds), and how we know
    (``source``: ``headers`` or ``usage_endpoint``)."""

    __slots__ = ()
    limits: UnifiedLimits
    as_of: float
    source: str


class Plan(
    namedtuple(
        "Plan", ["name", "tier", "as_of", "display_name", "extra_usage"], defaults=(None, None)
    )
):
    """The subscription, from the profile endpoint: ``name`` is ``Max``, ``Pro``,
    ``Team``, ``Enterprise`` or ``API`` (or what the server called it), ``tier``
    the raw rate-limit tier (``default_claude_max_20x``), ``display_name`` the
    profile's ``plan_display_name`` (``Max 20x``), ``extra_usage`` its
    ``has_extra_usage_enabled`` (``None``: not said)."""

    __slots__ = ()
    name: str | None
    tier: str | None
    as_of: float
    display_name: str | None
    extra_usage: bool | None


class UsageFile(
    namedtuple(
        "UsageFile",
        ["account", "snapshot", "plan", "endpoint_checked_at", "endpoint_retry_until", "extra"],
        defaults=(None, None, None, None, None, None),
    )
):
    """The whole file. ``endpoint_checked_at``: when ``usage --refresh`` last asked
    the usage endpoint (any outcome); ``endpoint_retry_until``: the endpoint asked
    us to wait until then (429); ``extra``: unknown keys of a newer writer, kept."""

    __slots__ = ()
    account: str | None
    snapshot: UsageSnapshot | None
    plan: Plan | None
    endpoint_checked_at: float | None
    endpoint_retry_until: float | None
    extra: dict[str, Any] | None


def usage_path(settings: Settings) -> str:
    return settings.side_path("usage")


# -- reading -------------------------------------------------------------------


def _number(value: Any) -> float | None:
    from ..tokens.record import finite_number

    return finite_number(value)  # None for NaN, infinity, 400 digits, a bool, text


def _time(value: Any) -> float | None:
    from ..tokens.record import stored_time

    return stored_time(value)  # epoch seconds before 2100, else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:_MAX_TEXT]


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _window_key(name: Any) -> bool:
    return (
        isinstance(name, str)
        and 0 < len(name) <= 40
        and all(c.isascii() and (c.isalnum() or c == "_") for c in name)
    )


#: Window names older versions made of headers that are not windows (grace, slow lane).
_NOT_WINDOWS = ("grace", "slow")
_LABEL = r"[^\W_](?:[\w .+-]{0,38}[\w+])?"


def label(value: Any) -> str | None:
    """A model's display name as a scoped row gives it (``Opus 4.1``): letters, digits,
    spaces and ``.+-``, at most 40 characters, nothing token-shaped; else ``None``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    import re  # on first use (most snapshots hold no label); re caches the compiled pattern

    if not re.fullmatch(_LABEL, text) or text.lower().startswith("sk-"):
        return None
    return text


def _dict(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _words(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    found = tuple(w for w in (word(v) for v in value[:8]) if w)
    return found or None


def _grace_from(data: Any) -> Grace | None:
    if not isinstance(data, dict):
        return None
    return Grace(
        word(data.get("status")), _number(data.get("five_hour")), _number(data.get("seven_day"))
    )


def _slow_from(data: Any) -> Slow | None:
    if not isinstance(data, dict):
        return None
    return Slow(
        word(data.get("offer")),
        word(data.get("status")),
        _number(data.get("retry_after")),
        _number(data.get("max_wait")),
        _number(data.get("budget_utilization")),
        _time(data.get("budget_resets_at")),
    )


def _limits_from(data: dict[str, Any]) -> UnifiedLimits:
    windows = {}
    for name, raw in _dict(data, "windows").items():
        if _window_key(name) and isinstance(raw, dict) and not name.startswith(_NOT_WINDOWS):
            windows[name] = Window(
                name,
                utilization=_number(raw.get("utilization")),
                resets_at=_time(raw.get("resets_at")),
                status=_text(raw.get("status")),
                surpassed_threshold=_number(raw.get("surpassed_threshold")),
                severity=word(raw.get("severity")),
                model=label(raw.get("model")),
            )
    overage = _dict(data, "overage")
    binding = data.get("binding_window")
    return UnifiedLimits(
        status=_text(data.get("status")),
        binding_window=binding if _window_key(binding) else None,
        resets_at=_time(data.get("resets_at")),
        windows=windows,
        overage_status=_text(overage.get("status")),
        overage_in_use=_flag(overage.get("in_use")),
        overage_utilization=_number(overage.get("utilization")),
        overage_resets_at=_time(overage.get("resets_at")),
        overage_disabled_reason=_text(overage.get("disabled_reason")),
        fallback=word(data.get("fallback")),
        overage_surpassed_threshold=_number(overage.get("surpassed_threshold")),
        grace=_grace_from(data.get("grace")),
        slow=_slow_from(data.get("slow")),
        upgrade_paths=_words(data.get("upgrade_paths")),
    )


def _snapshot_from(data: Any) -> UsageSnapshot | None:
    if not isinstance(data, dict):
        return None
    as_of = _time(data.get("as_of"))
    source = data.get("source")
    if as_of is None or source not in SOURCES:
        return None
    return UsageSnapshot(_limits_from(data), as_of, source)


def _plan_from(data: Any) -> Plan | None:
    if not isinstance(data, dict):
        return None
    as_of = _time(data.get("as_of"))
    if as_of is None:
        return None
    return Plan(
        _text(data.get("name")),
        _text(data.get("tier")),
        as_of,
        label(data.get("display_name")),
        _flag(data.get("extra_usage")),
    )


def from_json(data: Any) -> UsageFile:
    """A :class:`UsageFile` from parsed JSON; anything malformed is dropped field by field."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    known = {"version", "account", "snapshot", "plan", "endpoint"}
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, dict):
        endpoint = {}
    return UsageFile(
        account=_text(data.get("account")),
        snapshot=_snapshot_from(data.get("snapshot")),
        plan=_plan_from(data.get("plan")),
        endpoint_checked_at=_time(endpoint.get("checked_at")),
        endpoint_retry_until=_time(endpoint.get("retry_until")),
        extra={k: v for k, v in data.items() if k not in known},
    )


def load(path: str) -> UsageFile:
    """The usage file at ``path`` (empty when absent); raises :class:`UsageFileError`."""
    raw = secure_file.read_bytes(
        path,
        UsageFileError,
        max_bytes=MAX_FILE_BYTES,
        oversize_hint="The next answer from Claude replaces it.",
    )
    if raw is None:
        return UsageFile()
    try:
        return from_json(json.loads(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageFileError(
            f"The usage snapshot {path} is damaged ({type(exc).__name__}); "
            "the next answer from Claude replaces it."
        ) from None


# -- writing -------------------------------------------------------------------


def _window_json(window: Window) -> dict[str, Any]:
    return {
        "utilization": window.utilization,
        "resets_at": window.resets_at,
        "status": window.status,
        "surpassed_threshold": window.surpassed_threshold,
        "severity": window.severity,
        "model": window.model,
    }


def snapshot_json(snapshot: UsageSnapshot) -> dict[str, Any]:
    limits = snapshot.limits
    grace, slow = limits.grace, limits.slow
    return {
        "as_of": snapshot.as_of,
        "source": snapshot.source,
        "status": limits.status,
        "binding_window": limits.binding_window,
        "resets_at": limits.resets_at,
        "windows": {name: _window_json(w) for name, w in limits.windows.items()},
        "overage": {
            "status": limits.overage_status,
            "in_use": limits.overage_in_use,
            "utilization": limits.overage_utilization,
            "resets_at": limits.overage_resets_at,
            "disabled_reason": limits.overage_disabled_reason,
            "surpassed_threshold": limits.overage_surpassed_threshold,
        },
        "fallback": limits.fallback,
        "grace": None if grace is None else grace._asdict(),
        "slow": None if slow is None else slow._asdict(),
        "upgrade_paths": None if limits.upgrade_paths is None else list(limits.upgrade_paths),
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return plan._asdict()


def to_json(usage: UsageFile) -> dict[str, Any]:
    data: dict[str, Any] = dict(usage.extra or {})
    data.update(
        version=FORMAT_VERSION,
        account=usage.account,
        snapshot=None if usage.snapshot is None else snapshot_json(usage.snapshot),
        plan=None if usage.plan is None else plan_json(usage.plan),
        endpoint={
            "checked_at": usage.endpoint_checked_at,
            "retry_until": usage.endpoint_retry_until,
        },
    )
    return data


def save(path: str, usage: UsageFile) -> None:
    """Write ``usage`` atomically (0600); raises :class:`UsageFileError`."""
    import os

    secure_file.ensure_private_dir(os.path.dirname(path), UsageFileError)
    payload = json.dumps(to_json(usage), indent=1, sort_keys=True).encode()
    secure_file.atomic_write(path, payload, error_cls=UsageFileError)


def update(
    path: str, change: Callable[[UsageFile], UsageFile | None], *, lock_timeout: float
) -> UsageFile:
    """Apply ``change`` to the file under its lock and write the result (``None``:
    leave the file alone). A damaged file is treated as empty. Returns the file
    as it now is. Raises :class:`UsageFileError` or :class:`LockTimeout`."""
    from ..storage.file_lock import file_lock, held

    with held(file_lock(path + ".lock", lock_timeout), "the usage snapshot"):
        try:
            current = load(path)
        except UsageFileError:
            if secure_file.file_mode(path) is not None and not _is_regular(path):
                raise
            current = UsageFile()
        changed = change(current)
        if changed is None:
            return current
        save(path, changed)
        return changed


def _is_regular(path: str) -> bool:
    import os
    import stat

    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def with_snapshot(usage: UsageFile, snapshot: UsageSnapshot, account: str | None) -> UsageFile:
    """``usage`` holding ``snapshot`` unless it already holds a newer one of that account.

    Another account's snapshot and plan are dropped: they no longer describe this sign-in.
    """
    if account is not None and usage.account not in (None, account):
        usage = UsageFile(extra=usage.extra)
    current = usage.snapshot
    if current is not None and current.as_of > snapshot.as_of:
        return usage._replace(account=account or usage.account)
    return usage._replace(snapshot=snapshot, account=account or usage.account)


def for_account(usage: UsageFile, account: str | None) -> UsageFile:
    """``usage`` if it describes ``account`` (or either is unknown), else an empty file."""
    if account is not None and usage.account is not None and usage.account != account:
        return UsageFile()
    return usage
