"""One line of the checklist (:class:`Check`), the checks' names in order, and the
JSON form; no check runs here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Check names, in the order they run (the stable ``name`` values of the JSON).
NAMES = (
    "configuration",
    "files",
    "credential_store",
    "keyring_item",
    "stale_items",
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
    "credential_store": "Credential store",
    "keyring_item": "Keyring item",
    "stale_items": "Stale keyring items",
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


def all_ok(checks: list[Check]) -> bool:
    return all(check.ok for check in checks)


def report_json(checks: list[Check]) -> dict[str, Any]:
    """What ``--json`` prints: ``{"ok": BOOL, "checks": [...]}``."""
    return {"ok": all_ok(checks), "checks": [check.to_json() for check in checks]}
