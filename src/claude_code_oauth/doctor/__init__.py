"""``doctor``: a checklist a user runs when something is wrong.

:func:`run_checks` returns one :class:`Check` per item, in a fixed order, each
``ok`` or not with a one-line ``detail`` (the cause) and, when not ok, a
``fix``. Local checks (:mod:`.local`) read files only; :mod:`.host_stack` builds
one request in memory (this Python's anthropic SDK and pydantic-ai); remote checks
(:mod:`.remote`) make at most one request each, within ``http_timeout``, and
never spend or probe a refresh token to learn whether the token endpoint is
reachable. Only ``inference=True`` sends a model request (``max_tokens`` 1, the
cheapest listed model), which counts against the account's usage.

A Console sign-in (an API key) is checked for what it uses: the Console's
authorize page (for the next sign-in) and the key itself on the models endpoint
(and with ``inference``, a request); the token endpoint and the OAuth profile
endpoint are left out — an API key is never refreshed and has no OAuth profile.

The JSON form (:meth:`Check.to_json`) has stable keys: ``name``, ``ok``,
``detail``, ``fix``. Nothing here ever holds a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..config import Settings

#: Check names, in the order they run (the stable ``name`` values of the JSON).
NAMES = (
    "configuration",
    "files",
    "sign_in",
    "host_stack",
    "token_endpoint",
    "authorize_endpoint",
    "profile",
    "models",
    "inference",
)

TITLES = {
    "configuration": "Configuration",
    "files": "Data directory and token file",
    "sign_in": "Sign-in",
    "host_stack": "Anthropic SDK and pydantic-ai",
    "token_endpoint": "Token endpoint",
    "authorize_endpoint": "Authorize endpoint",
    "profile": "Profile endpoint",
    "models": "Models endpoint",
    "inference": "Inference",
}

INFERENCE_NOTICE = (
    "--inference sends one request to Claude (max_tokens 1, the cheapest listed model); "
    "it counts against your usage."
)


@dataclass(frozen=True)
class Check:
    """One line of the checklist; ``fix`` is ``None`` when ``ok``."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "fix": self.fix}

    def lines(self) -> list[str]:
        """``✓ Title: detail`` and, when not ok, an indented ``fix:`` line."""
        mark = "✓" if self.ok else "✗"
        shown = [f"{mark} {TITLES.get(self.name, self.name)}: {self.detail}"]
        if self.fix:
            shown.append(f"    fix: {self.fix}")
        return shown


def run_checks(settings: Settings, *, inference: bool = False) -> list[Check]:
    """Every check, in :data:`NAMES` order (``inference`` only when asked; for a Console
    sign-in without ``token_endpoint`` and ``profile``)."""
    from ..tokens.api_key import ApiKeyRecord
    from . import local, remote
    from .host_stack import host_stack

    checks = [local.configuration(settings), local.files(settings)]
    sign_in, record = local.sign_in(settings)
    checks += [sign_in, host_stack()]
    # A Console sign-in (always usable once read) has no token endpoint and no profile.
    api_key = record.api_key if isinstance(record, ApiKeyRecord) else None
    if api_key is None:
        checks.append(remote.token_endpoint(settings))
    checks.append(remote.authorize_endpoint(settings, console=api_key is not None))
    usable = record is not None and sign_in.ok
    why = "not checked: not signed in" if record is None else "not checked: see the sign-in"
    if api_key is None:
        checks.append(
            remote.profile(settings) if usable else remote.skipped(settings, "profile", why)
        )
    found = remote.models(settings, api_key=api_key) if usable else None
    checks.append(found[0] if found else remote.skipped(settings, "models", why))
    if inference:
        if found and found[1]:
            checks.append(remote.inference(settings, found[1], api_key=api_key))
        else:
            checks.append(
                remote.skipped(
                    settings,
                    "inference",
                    "no model is listed to try",
                    "See the models check above.",
                )
            )
    return checks


def all_ok(checks: list[Check]) -> bool:
    return all(check.ok for check in checks)


def report_json(checks: list[Check]) -> dict[str, Any]:
    """What ``--json`` prints: ``{"ok": BOOL, "checks": [...]}``."""
    return {"ok": all_ok(checks), "checks": [check.to_json() for check in checks]}
