"""Code Puppy's per-model choices as our model reads them before each request: parsed
again only when ``puppy.cfg`` changed, and never a reason for a request to fail."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.hosts.code_puppy.model_choices import _flag, choices_for
from claude_code_oauth.models.capabilities import NO_CHOICES, HostChoices

#: Tests of the adapter in pytest's own process: not once per Code Puppy release.
IN_THIS_PROCESS = True


@pytest.mark.parametrize(
    ("value", "flag"),
    [
        (True, True),
        (False, False),
        ("true", True),
        (" Off ", False),
        (1, True),
        (0, False),
        ("maybe", None),
        (None, None),
        ([], None),
    ],
)
def test_a_setting_as_a_flag(value: Any, flag: bool | None) -> None:
    assert _flag(value) is flag


def test_read_again_only_when_the_file_changed(tmp_path: Path) -> None:
    cfg = tmp_path / "puppy.cfg"
    cfg.write_text("[puppy]\n")
    reads: list[str] = []
    answers = [HostChoices(fast=True), HostChoices(interleaved_thinking=False)]

    def read(model: str) -> HostChoices:
        reads.append(model)
        return answers[len(reads) - 1]

    choices = choices_for("claude-code-x", read=read, config_file=lambda: str(cfg))
    assert [choices() for _ in range(3)] == [answers[0]] * 3
    assert reads == ["claude-code-x"]
    cfg.write_text("[puppy]\nmodel_settings_claude_code_x_interleaved_thinking = false\n")
    os.utime(cfg, ns=(1, 1))  # a different size and mtime: changed, whatever the clock
    assert choices() == answers[1] and len(reads) == 2


def test_a_missing_file_or_a_failing_read_is_no_choice(tmp_path: Path) -> None:
    def broken(model: str) -> HostChoices:
        raise ValueError("unparsable puppy.cfg")

    gone = choices_for("m", read=broken, config_file=lambda: str(tmp_path / "missing.cfg"))
    assert gone() is NO_CHOICES
    (tmp_path / "puppy.cfg").write_text("[puppy\n")
    failing = choices_for("m", read=broken, config_file=lambda: str(tmp_path / "puppy.cfg"))
    assert failing() is NO_CHOICES
