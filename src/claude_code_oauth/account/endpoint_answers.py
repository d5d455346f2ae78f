"""What the usage endpoint's and the profile's answers say, read as ``CONTEXT.md`` §2c
says (:mod:`.usage_endpoint` asks them).

The usage endpoint's two forms are normalized to the headers' vocabulary
(:class:`~.unified_limits.UnifiedLimits`, utilization in percent) by
:func:`normalize`: the window form (``five_hour: {"utilization": 0–100,
"resets_at": ISO}``…) and the newer ``limits: [{kind, group, percent, resets_at,
severity, scope, is_active}]``:

* rows are classified on ``kind``, never on a label: ``session`` is
  ``five_hour``, ``weekly_all`` is ``seven_day`` (not a window of its own), and
  each ``weekly_scoped`` row is a per-model weekly window named after the model its
  ``scope.model.display_name`` (or ``scope.surface``) gives — ``Opus`` →
  ``seven_day_opus`` — with that name kept as the window's ``model``, so several
  scoped rows all survive (two rows of one model too). Another kind is a window of
  that name (a meter this version does not know is still shown);
* ``severity`` (``normal`` | ``warning`` | ``critical``) is the server's colour,
  kept as the window's ``severity``: it is **never** a rejection. A window's
  status is ``rejected`` only at 100 % or more, ``allowed_warning`` for a
  ``warning`` or ``critical`` colour, else ``allowed``;
* ``is_active`` marks the binding window;
* with both forms, ``limits[]`` wins and the window form fills in what it lacks;
  ``extra_usage.is_enabled`` and ``disabled_reason`` give the overage status.

The plan comes from the profile (:func:`plan_of_profile`): the organization type
and tier, and — when the profile has them — ``plan_display_name`` and
``has_extra_usage_enabled``. Nothing here raises for what a server sends, and
nothing kept is more than a short word, a number, a time or a model's name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..tokens.record import finite_number
from .header_values import MAX_PERCENT, word
from .unified_limits import UnifiedLimits, Window, window_name
from .usage_snapshot import Plan, label

#: ``limits[]`` kinds → the windows they are (a ``weekly_scoped`` row is named by its model).
_KINDS = {"session": "five_hour", "weekly_all": "seven_day"}
#: The window form's keys that are not windows.
_NOT_WINDOWS = ("limits", "extra_usage")


def _percent(value: Any) -> float | None:
    number = finite_number(value)  # None for NaN, infinity, 400 digits, a bool, text
    return number if number is not None and 0.0 <= number <= MAX_PERCENT else None


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())  # "…Z" too, since Python 3.11
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def _window_status(utilization: float | None, severity: str | None = None) -> str | None:
    if utilization is not None and utilization >= 100.0:
        return "rejected"
    if severity in ("warning", "critical"):
        return "allowed_warning"
    return None if utilization is None else "allowed"


def _scope_label(item: dict[str, Any]) -> str | None:
    scope = item.get("scope")
    if not isinstance(scope, dict):
        return None
    for key in ("model", "surface"):
        named = scope.get(key)
        if isinstance(named, dict) and label(named.get("display_name")):
            return label(named.get("display_name"))
    return None


def _slug(text: str) -> str:
    return "_".join("".join(c if c.isascii() and c.isalnum() else " " for c in text).split())


def _row_name(kind: str, model: str | None, taken: dict[str, Window]) -> str | None:
    if kind in _KINDS:
        return _KINDS[kind]
    if kind == "weekly_scoped":
        base = "seven_day_" + (_slug(model).lower() if model else "scoped")
    else:
        base = word(window_name(kind)) or ""
    base = base[:36]
    if not base:
        return None
    name, n = base, 2
    while name in taken:  # two rows for one model (or unnamed): both survive
        name, n = f"{base}_{n}", n + 1
    return name


def _rows(limits: list[Any], windows: dict[str, Window], active: list[str]) -> None:
    for item in limits[:64]:
        if not isinstance(item, dict):
            continue
        kind = word(item.get("kind"))
        if kind is None:
            continue
        model = _scope_label(item) if kind == "weekly_scoped" else None
        name = _row_name(kind, model, windows)
        if name is None:
            continue
        utilization = _percent(item.get("percent"))
        severity = word(item.get("severity"))
        windows[name] = Window(
            name,
            utilization=utilization,
            resets_at=_timestamp(item.get("resets_at")),
            status=_window_status(utilization, severity),
            severity=severity,
            model=model,
        )
        if item.get("is_active") is True:
            active.append(name)


def normalize(body: dict[str, Any]) -> UnifiedLimits:
    """The usage endpoint's answer (either form) as :class:`UnifiedLimits`."""
    windows: dict[str, Window] = {}
    active: list[str] = []
    limits = body.get("limits")
    if isinstance(limits, list):
        _rows(limits, windows, active)
    for key, value in body.items():
        if key in _NOT_WINDOWS or not isinstance(value, dict) or "utilization" not in value:
            continue
        name = word(window_name(key))
        if name is None or name in windows:
            continue
        utilization = _percent(value.get("utilization"))
        windows[name] = Window(
            name,
            utilization=utilization,
            resets_at=_timestamp(value.get("resets_at")),
            status=_window_status(utilization),
        )
    statuses = {w.status for w in windows.values()}
    overall = next((s for s in ("rejected", "allowed_warning", "allowed") if s in statuses), None)
    candidates = [n for n in (active or windows) if windows[n].utilization is not None]
    binding = max(candidates, key=lambda n: windows[n].utilization or 0.0) if candidates else None
    extra = body.get("extra_usage") if isinstance(body.get("extra_usage"), dict) else {}
    enabled = extra.get("is_enabled")
    return UnifiedLimits(
        status=overall,
        binding_window=binding,
        resets_at=windows[binding].resets_at if binding else None,
        windows=windows,
        overage_status=("allowed" if enabled is True else "rejected" if enabled is False else None),
        overage_utilization=_percent(extra.get("utilization")),
        overage_disabled_reason=word(extra.get("disabled_reason")),
    )


def plan_from_profile(profile: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(name, tier)`` from the profile: Max / Pro / Team / Enterprise / API, and the
    raw ``rate_limit_tier``. An organization type we do not know is shown as sent."""
    account = profile.get("account") if isinstance(profile.get("account"), dict) else {}
    org = profile.get("organization") if isinstance(profile.get("organization"), dict) else {}
    kind = org.get("organization_type")
    kind = kind.strip().lower() if isinstance(kind, str) else ""
    tier = org.get("rate_limit_tier")
    tier = tier.strip()[:64] if isinstance(tier, str) and tier.strip() else None
    if "enterprise" in kind:
        name: str | None = "Enterprise"
    elif "team" in kind:
        name = "Team"
    elif account.get("has_claude_max") is True or "max" in kind:
        name = "Max"
    elif account.get("has_claude_pro") is True or "pro" in kind:
        name = "Pro"
    elif kind == "console" or kind.startswith("api"):  # api, api_individual, …
        name = "API"
    elif kind:
        name = kind.removeprefix("claude_").replace("_", " ").title()[:32]
    elif account or org:
        name = "API"
    else:
        name = None
    return name, tier


def plan_of_profile(profile: dict[str, Any], now: float) -> Plan:
    """The :class:`Plan` a profile answer describes (display name and extra-usage
    setting included when the profile gives them)."""
    name, tier = plan_from_profile(profile)
    org = profile.get("organization") if isinstance(profile.get("organization"), dict) else {}
    enabled = org.get("has_extra_usage_enabled")
    return Plan(
        name,
        tier,
        now,
        label(org.get("plan_display_name")),
        enabled if isinstance(enabled, bool) else None,
    )
