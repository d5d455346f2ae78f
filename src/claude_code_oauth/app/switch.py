"""Switch (``switch NAME``, ``/claude-code-switch NAME``): make a signed-in profile the
active one. The only way the active profile changes besides a first sign-in: nothing
switches on its own, not even at a usage limit.
"""

from __future__ import annotations

from ..config import Settings
from ..hints import hints_for
from .reporter import Reporter


def switch(settings: Settings, name: str, reporter: Reporter) -> str:
    """Make ``name`` (a valid profile name) the active profile; returns the file written.

    Raises :class:`ProfileError` when ``name`` has no sign-in (saying how to sign
    in) or its token file is damaged.
    """
    import time

    from ..config_rules import env_name
    from ..errors import ProfileError
    from ..profiles.active import write_active_profile
    from ..profiles.listing import summarize

    summary = summarize(settings, name, active=False, now=time.time())
    if not summary.signed_in:
        raise ProfileError(
            f"Profile {name} is not signed in.",
            hint=f"Sign in with {hints_for(reporter).login(name)}, then switch.",
        )
    if summary.error:
        raise ProfileError(f"Profile {name} cannot be used: {summary.error}")
    path = write_active_profile(settings, name)
    who = f" ({summary.email})" if summary.email else ""
    reporter.success(
        f"Switched to profile {name}{who}: models named {settings.prefix}<model> now use it."
    )
    if summary.needs_login:
        reporter.warning(
            f"Profile {name} needs a new login: run {hints_for(reporter).login(name)}."
        )
    variable = env_name("profile")
    overridden = settings.source("profile") == variable and str(settings.raw("profile")).strip()
    if overridden and str(settings.raw("profile")).strip() != name:
        reporter.warning(
            f"{variable}={settings.raw('profile')} is set in this environment and overrides "
            "the active profile here; unset it to follow the switch."
        )
    return path
