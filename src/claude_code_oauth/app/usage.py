"""Usage (``usage``, ``/claude-code-usage``): the plan, each usage window, extra usage
and the offers at the limit, from local files unless a refresh is asked for.

:func:`collect` returns a :class:`UsageResult`; the front ends print its ``lines`` (or
:meth:`UsageResult.json_text`) and its ``notes``. Without ``refresh`` nothing is sent
and no HTTP library is imported: ``usage`` and ``usage --json`` stay on the CLI's fast
path (:func:`claude_code_oauth.cli.main`). Never holds a token.
"""

from __future__ import annotations

import time

from ..account.unified_limits import until
from ..account.usage_lines import render
from ..account.usage_report import API_KEY_LINES, build, empty_report, with_live_snapshot
from ..account.usage_snapshot import UsageFile, for_account

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..config import Settings


class UsageResult:
    """What ``usage`` shows: ``report`` (the JSON), ``lines`` (for people), ``notes``
    (one-line remarks for stderr / warnings), the exit status, and ``signed_in``."""

    __slots__ = ("exit_code", "lines", "notes", "report", "signed_in")

    def __init__(
        self,
        report: dict[str, Any],
        lines: list[str],
        notes: list[str],
        exit_code: int,
        signed_in: bool = True,
    ) -> None:
        self.report = report
        self.lines = lines
        self.notes = notes
        self.exit_code = exit_code
        self.signed_in = signed_in

    def json_text(self) -> str:
        """The report as ``usage --json`` prints it."""
        import json

        return json.dumps(self.report, indent=2)


def collect(settings: Settings, *, refresh: bool = False, now: float | None = None) -> UsageResult:
    """The usage of ``settings``' sign-in: local files only, unless ``refresh`` (then
    the usage endpoint, at most once a minute across processes). Not signed in: the
    empty report and exit status 1. A Console sign-in (an API key): the empty report
    with plan ``API``, lines saying plan windows don't apply, exit status 0. Raises
    :class:`ClaudeOAuthError` for a damaged token file or a sign-in that cannot be
    used for ``refresh``."""
    from ..account.usage_snapshot import load, usage_path
    from ..errors import UsageFileError
    from ..tokens import store as token_store

    fixed_now = now
    now = time.time() if now is None else now
    from ..tokens.keyring_item import StoreOpener

    record = token_store.load_sign_in(settings.token_path, stores=StoreOpener(settings=settings))
    if isinstance(record, token_store.ApiKeyRecord):
        report = empty_report()
        report["plan"] = {"name": "API", "tier": None}
        api_notes = [
            "--refresh asks Claude's usage endpoint, which only subscription sign-ins have."
        ]
        return UsageResult(report, list(API_KEY_LINES), api_notes if refresh else [], 0)
    if record is None:
        lines = ["Not signed in to Claude: no usage to show."]
        from ..hints import anywhere

        lines.append(f"Sign in with {anywhere().login(settings.profile)}.")
        return UsageResult(empty_report(), lines, [], 1, signed_in=False)
    from ..tokens.record import account_uuid

    account = account_uuid(record)
    notes: list[str] = []
    exit_code = 0
    path = usage_path(settings)
    try:
        usage = load(path)
    except UsageFileError as exc:
        notes.append(str(exc))
        usage = UsageFile()
    if refresh:
        # Imported only here: without --refresh `usage` imports no HTTP library
        # (benchmarks/token_fast_path.py measures it).
        from ..account.usage_endpoint import refresh as ask_endpoint

        outcome = ask_endpoint(settings, account, now=fixed_now)
        usage = outcome.usage
        now = time.time() if fixed_now is None else fixed_now
        if outcome.note:
            notes.append(outcome.note)
        exit_code = 1 if outcome.failed else 0
    usage = with_live_snapshot(usage, path, account)
    lines = render(usage, account, now)
    blocked = _block_line(settings, usage, account, now)
    if blocked:
        lines.append(blocked)
    return UsageResult(build(usage, account), lines, notes, exit_code)


def _block_line(
    settings: Settings, usage: UsageFile, account: str | None, now: float
) -> str | None:
    """While ``extra_usage = block`` holds requests back: until when."""
    try:
        if settings.extra_usage != "block":
            return None
    except Exception:
        return None
    snapshot = for_account(usage, account).snapshot
    if snapshot is None:
        return None
    from ..account.extra_usage_guard import block_reason

    reason = block_reason(snapshot.limits, now)
    if reason is None:
        return None
    _, resets_at = reason
    when = f"until {until(resets_at, now)}" if resets_at is not None else "for now"
    return (
        f"extra_usage = block: claude-code-* models in Code Puppy send nothing {when}, "
        "because Claude would bill it as extra usage."
    )
