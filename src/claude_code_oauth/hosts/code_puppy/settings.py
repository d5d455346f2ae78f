"""The core's settings as Code Puppy sees them: its own data directory, read at call time."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...config import Settings


def host_settings(profile: str | None = None) -> Settings:
    """Settings whose data directory is Code Puppy's ``DATA_DIR`` unless
    ``CLAUDE_CODE_OAUTH_DATA_DIR`` says otherwise (tests and users may move it);
    with ``profile`` (already validated) for that profile instead of the active one."""
    from code_puppy import config as cp_config

    from ...config import Settings
    from ...config_rules import env_name

    overrides = {}
    if not os.environ.get(env_name("data_dir")):
        overrides["data_dir"] = str(cp_config.DATA_DIR)
    if profile is not None:
        overrides["profile"] = profile
    return Settings(overrides)
