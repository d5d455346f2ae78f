"""The active-profile file: private, atomic, never followed through a link, and the
order in which --profile, CLAUDE_CODE_OAUTH_PROFILE and the file choose a profile."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import ConfigError, ProfileError
from claude_code_oauth.profiles.active import (
    ActiveProfileWatch,
    read_active_profile,
    recorded_active_profile,
    write_active_profile,
)


def _settings(data_dir: Path, **env: str) -> Settings:
    base = {"HOME": str(data_dir.parent), "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir)}
    return Settings(environ={**base, **env})


def test_the_file_is_created_0600_from_the_first_byte_whatever_the_umask(data_dir: Path) -> None:
    settings = _settings(data_dir)
    old = os.umask(0)
    try:
        path = write_active_profile(settings, "work")
    finally:
        os.umask(old)
    assert path == str(data_dir / "claude_code_oauth.active_profile")
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600
    assert Path(path).read_bytes() == b"work\n"
    assert read_active_profile(path) == "work"
    # Nothing else was left in the directory (no temporary file).
    assert sorted(p.name for p in data_dir.iterdir()) == ["claude_code_oauth.active_profile"]


def test_a_new_data_dir_is_created_private(tmp_path: Path) -> None:
    target = tmp_path / "fresh" / "data"
    write_active_profile(_settings(target), "work")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700


def test_readers_never_see_a_partial_file_while_it_is_switched(data_dir: Path) -> None:
    """A writer switches back and forth as fast as it can; every read is a whole name."""
    settings = _settings(data_dir)
    names = ("personal", "a-much-longer-work-profile-name")
    write_active_profile(settings, names[0])
    stop = threading.Event()
    writes = [0]

    def writer() -> None:
        while not stop.is_set():
            write_active_profile(settings, names[writes[0] % 2])
            writes[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    seen: set[str | None] = set()
    reads = 0
    deadline = time.monotonic() + 1.0
    try:
        while time.monotonic() < deadline:
            seen.add(read_active_profile(settings.active_profile_path))
            reads += 1
    finally:
        stop.set()
        thread.join(10)
    assert writes[0] > 20 and reads > 100
    assert seen <= set(names)  # never None (a missing file), never a torn name
    assert len(seen) == 2


def test_a_symlink_is_refused_for_reading_and_writing(data_dir: Path, tmp_path: Path) -> None:
    settings = _settings(data_dir)
    target = tmp_path / "elsewhere"
    target.write_text("work\n")
    Path(settings.active_profile_path).symlink_to(target)
    with pytest.raises(ProfileError, match="symbolic link"):
        read_active_profile(settings.active_profile_path)
    with pytest.raises(ProfileError, match="symbolic link"):
        write_active_profile(settings, "personal")
    assert target.read_text() == "work\n"  # the link's target was not written through
    with pytest.raises(ProfileError, match="symbolic link"):
        settings.token_path  # noqa: B018 - a command would not silently use "default"


@pytest.mark.parametrize(
    "content", [b"Work\n", b"../x\n", b"", b"\xff\xfe\n", b"work\npersonal\n", b"x" * 5000]
)
def test_a_file_that_names_no_profile_is_one_line_saying_how_to_fix_it(
    data_dir: Path, content: bytes
) -> None:
    settings = _settings(data_dir)
    Path(settings.active_profile_path).write_bytes(content)
    with pytest.raises(ProfileError) as info:
        settings.profile  # noqa: B018
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    assert settings.active_profile_path in message and "switch NAME" in message
    # Writing a good name repairs it.
    write_active_profile(_settings(data_dir), "work")
    assert _settings(data_dir).profile == "work"


def test_override_then_environment_then_file_then_default(data_dir: Path) -> None:
    assert _settings(data_dir).profile == "default"
    assert _settings(data_dir).profile_origin == "default"
    write_active_profile(_settings(data_dir), "filed")
    from_file = _settings(data_dir)
    assert (from_file.profile, from_file.profile_origin) == ("filed", "active profile file")
    assert from_file.token_path == str(data_dir / "claude_code_oauth.filed.json")
    from_env = _settings(data_dir, CLAUDE_CODE_OAUTH_PROFILE="env")
    assert (from_env.profile, from_env.profile_origin) == ("env", "CLAUDE_CODE_OAUTH_PROFILE")
    empty_env = _settings(data_dir, CLAUDE_CODE_OAUTH_PROFILE="  ")
    assert empty_env.profile == "filed"
    overridden = Settings(
        {"profile": "cli"},
        environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir), "CLAUDE_CODE_OAUTH_PROFILE": "env"},
    )
    assert (overridden.profile, overridden.profile_origin) == ("cli", "override")
    assert recorded_active_profile(overridden) == "filed"  # overrides do not change the record
    assert overridden.with_profile("default").token_path == str(data_dir / "claude_code_oauth.json")


def test_an_override_never_reads_the_file(data_dir: Path) -> None:
    # A damaged file does not stop commands that name their profile.
    Path(_settings(data_dir).active_profile_path).write_text("Not A Name\n")
    assert _settings(data_dir, CLAUDE_CODE_OAUTH_PROFILE="work").profile == "work"
    assert _settings(data_dir).with_profile("work").profile == "work"


def test_a_settings_object_keeps_its_profile_while_another_process_switches(
    data_dir: Path,
) -> None:
    settings = _settings(data_dir)
    write_active_profile(settings, "first")
    before = settings.token_path
    write_active_profile(_settings(data_dir), "second")
    assert settings.profile == "first" and settings.token_path == before
    assert _settings(data_dir).profile == "second"


def test_a_bad_environment_name_is_a_config_error_not_the_file(data_dir: Path) -> None:
    write_active_profile(_settings(data_dir), "work")
    with pytest.raises(ConfigError, match="CLAUDE_CODE_OAUTH_PROFILE"):
        _settings(data_dir, CLAUDE_CODE_OAUTH_PROFILE="Work").profile  # noqa: B018


def test_the_file_never_collides_with_a_token_or_side_file(data_dir: Path) -> None:
    settings = _settings(data_dir)
    # "_" is not allowed in profile names: no profile's token or side file can be it.
    paths = {settings.with_profile(n).token_path for n in ("default", "active-profile", "x")}
    paths |= {settings.with_profile(n).side_path("usage") for n in ("default", "x")}
    assert settings.active_profile_path not in paths
    plain = Settings({"token_file": "tokens"}, environ={"CLAUDE_CODE_OAUTH_DATA_DIR": "/d"})
    assert plain.active_profile_path == "/d/tokens.active_profile"
    assert plain.with_profile("active-profile").token_path == "/d/tokens.active-profile"


def test_the_watch_sees_each_switch_at_once(data_dir: Path) -> None:
    settings = _settings(data_dir)
    watch = ActiveProfileWatch(settings.active_profile_path)
    assert watch.current() is None
    for name in ("aaaa", "bbbb", "aaaa", "bbbb"):  # same size, maybe the same mtime
        write_active_profile(settings, name)
        assert watch.current() == name
    os.unlink(settings.active_profile_path)
    assert watch.current() is None
    Path(settings.active_profile_path).write_text("B@d\n")
    with pytest.raises(ProfileError):
        watch.current()


def test_an_oversized_file_is_refused_unread_saying_how_to_fix_it(data_dir: Path) -> None:
    path = data_dir / "claude_code_oauth.active_profile"
    path.write_bytes(b"work" + b" " * 296)  # a name, padded past the 256-byte cap
    with pytest.raises(ProfileError) as caught:
        read_active_profile(str(path))
    assert caught.value.reason == (
        f"Refusing to read {path}: it is larger (300 bytes) than the 256 bytes such a file "
        "can hold; it was not read."
    )
    assert caught.value.hint == (
        "Choose one with `claude-code-oauth switch NAME` (or /claude-code-switch NAME)."
    )


def test_a_data_dir_that_is_a_file_is_a_profile_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.write_bytes(b"not a directory")
    with pytest.raises(ProfileError) as caught:
        write_active_profile(_settings(data_dir), "work")
    assert caught.value.reason == f"{data_dir} exists and is not a directory."


def test_the_watch_says_in_one_line_why_the_file_cannot_be_looked_at(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_bytes(b"a file where the data directory should be")
    watch = ActiveProfileWatch(str(blocker / "claude_code_oauth.active_profile"))
    with pytest.raises(ProfileError) as caught:
        watch.current()
    assert caught.value.reason == (
        f"Cannot read {blocker / 'claude_code_oauth.active_profile'}: Not a directory."
    )


def test_the_watch_reads_the_file_only_when_it_changed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claude_code_oauth.profiles import active

    settings = _settings(data_dir)
    write_active_profile(settings, "work")
    watch = ActiveProfileWatch(settings.active_profile_path)
    reads: list[str] = []

    def counted(path: str) -> str | None:
        reads.append(path)
        return read_active_profile(path)

    monkeypatch.setattr(active, "read_active_profile", counted)
    assert [watch.current() for _ in range(3)] == ["work"] * 3
    assert len(reads) == 1  # one read, then one stat a call
    write_active_profile(settings, "home")
    assert watch.current() == "home" and len(reads) == 2
