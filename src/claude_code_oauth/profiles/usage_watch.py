"""Usage capture and the extra-usage guard for a model that follows the active profile.

An unpinned ``claude-code-<model>`` entry may be served by a different profile
from one request to the next (the user switched). :class:`ProfileUsageWatch`
files each answer's usage under the profile whose token the request carried —
so a switch between request and answer never records one account's usage as
another's — and asks the guard of the profile that will serve the next request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..account.extra_usage_guard import ExtraUsageGuard, guard_for
from ..config import Settings
from .token_source import ProfileTokenSource


class ProfileUsageWatch:
    """A response observer and a usage guard (``check()``) across profiles."""

    def __init__(self, source: ProfileTokenSource, warn: Callable[[str], None]) -> None:
        self._source = source
        self._warn = warn

    def _guard(self, settings: Settings) -> ExtraUsageGuard:
        guard = guard_for(settings)
        guard.warn = self._warn
        return guard

    def __call__(self, response: Any) -> None:
        """Observe one answer: capture it for the profile that sent the request."""
        authorization = response.request.headers.get("authorization", "")
        token = authorization[7:] if authorization[:7].lower() == "bearer " else ""
        settings = self._source.settings_for_token(token) if token else None
        if settings is None:
            settings = self._source.settings()
        self._guard(settings).capture(response)

    def check(self) -> None:
        """Raise ExtraUsageBlocked if the next request's profile must not send now."""
        self._guard(self._source.settings()).check()
