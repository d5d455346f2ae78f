"""Doctor (``doctor``, ``/claude-code-doctor``): the setup checklist of
:mod:`claude_code_oauth.doctor`, one line per item with the fix.

:func:`checkup` says :data:`~claude_code_oauth.doctor.INFERENCE_NOTICE` before any
model request is sent (with ``inference`` only), then returns a :class:`Checkup`.
Never holds a token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..config import Settings

if TYPE_CHECKING:
    from ..doctor import Check


class Checkup:
    """The checks in their fixed order, whether all passed, and their two forms."""

    __slots__ = ("checks", "ok")

    def __init__(self, checks: list[Check]) -> None:
        from ..doctor import all_ok

        self.checks = checks
        self.ok = all_ok(checks)

    def lines(self) -> list[str]:
        """One or more lines per check (✓/✗, the cause, the fix)."""
        return [line for check in self.checks for line in check.lines()]

    def to_json(self) -> dict[str, Any]:
        """``{"ok": BOOL, "checks": [...]}`` (stable keys)."""
        from ..doctor import report_json

        return report_json(self.checks)

    def json_text(self) -> str:
        import json

        return json.dumps(self.to_json(), indent=2)


def checkup(settings: Settings, *, inference: bool, notice: Callable[[str], None]) -> Checkup:
    """Run every check for ``settings``' profile; with ``inference`` one minimal model
    request too, announced through ``notice`` before it is sent."""
    from ..doctor import INFERENCE_NOTICE, run_checks

    if inference:
        notice(INFERENCE_NOTICE)
    return Checkup(run_checks(settings, inference=inference))
