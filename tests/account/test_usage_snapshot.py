"""The usage file beside the token file: its exact form, what survives a round trip,
what is dropped, and how writers of several processes and accounts share it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from claude_code_oauth.account.limit_offers import Grace, Slow
from claude_code_oauth.account.unified_limits import UnifiedLimits, Window
from claude_code_oauth.account.usage_snapshot import (
    MAX_FILE_BYTES,
    Plan,
    UsageFile,
    UsageSnapshot,
    from_json,
    label,
    load,
    save,
    update,
    with_snapshot,
)
from claude_code_oauth.errors import UsageFileError

AS_OF = 1_790_000_000.0

LIMITS = UnifiedLimits(
    status="rejected",
    binding_window="five_hour",
    resets_at=AS_OF + 3600,
    windows={
        "five_hour": Window("five_hour", 100.0, AS_OF + 3600, "rejected", 100.0, "critical"),
        "seven_day_opus": Window("seven_day_opus", 3.0, AS_OF + 86400, model="Opus 4.1"),
    },
    overage_status="allowed",
    overage_in_use=True,
    overage_utilization=12.5,
    overage_resets_at=AS_OF + 20 * 86400,
    overage_disabled_reason="out_of_credits",
    fallback="available",
    overage_surpassed_threshold=50.0,
    grace=Grace("eligible", 0.0, 25.0),
    slow=Slow("treatment", "active", 30.0, 300.0, 25.0, AS_OF + 86400),
    upgrade_paths=("upgrade_plan", "overage"),
)
FULL = UsageFile(
    account="account-a",
    snapshot=UsageSnapshot(LIMITS, AS_OF, "headers"),
    plan=Plan("Max", "default_claude_max_20x", AS_OF - 60, "Max 20x", True),
    endpoint_checked_at=AS_OF - 30,
    endpoint_retry_until=AS_OF + 300,
    extra={"written_by_a_newer_version": [1, 2]},
)

#: The file as it is written: one key a line at one space, keys sorted (diffable).
FULL_TEXT = """{
 "account": "account-a",
 "endpoint": {
  "checked_at": 1789999970.0,
  "retry_until": 1790000300.0
 },
 "plan": {
  "as_of": 1789999940.0,
  "display_name": "Max 20x",
  "extra_usage": true,
  "name": "Max",
  "tier": "default_claude_max_20x"
 },
 "snapshot": {
  "as_of": 1790000000.0,
  "binding_window": "five_hour",
  "fallback": "available",
  "grace": {
   "five_hour": 0.0,
   "seven_day": 25.0,
   "status": "eligible"
  },
  "overage": {
   "disabled_reason": "out_of_credits",
   "in_use": true,
   "resets_at": 1791728000.0,
   "status": "allowed",
   "surpassed_threshold": 50.0,
   "utilization": 12.5
  },
  "resets_at": 1790003600.0,
  "slow": {
   "budget_resets_at": 1790086400.0,
   "budget_utilization": 25.0,
   "max_wait": 300.0,
   "offer": "treatment",
   "retry_after": 30.0,
   "status": "active"
  },
  "source": "headers",
  "status": "rejected",
  "upgrade_paths": [
   "upgrade_plan",
   "overage"
  ],
  "windows": {
   "five_hour": {
    "model": null,
    "resets_at": 1790003600.0,
    "severity": "critical",
    "status": "rejected",
    "surpassed_threshold": 100.0,
    "utilization": 100.0
   },
   "seven_day_opus": {
    "model": "Opus 4.1",
    "resets_at": 1790086400.0,
    "severity": null,
    "status": null,
    "surpassed_threshold": null,
    "utilization": 3.0
   }
  }
 },
 "version": 1,
 "written_by_a_newer_version": [
  1,
  2
 ]
}"""


def test_the_file_word_for_word_and_back(tmp_path: Path) -> None:
    path = str(tmp_path / "claude_code_oauth.default.usage.json")
    save(path, FULL)
    assert Path(path).read_text() == FULL_TEXT
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load(path) == FULL


def test_a_missing_file_is_empty_and_a_damaged_one_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "usage.json"
    assert load(str(path)) == UsageFile()
    path.write_text("[1, 2]")
    with pytest.raises(UsageFileError) as caught:
        load(str(path))
    assert str(caught.value) == (
        f"The usage snapshot {path} is damaged (ValueError); the next answer from Claude "
        "replaces it."
    )


def test_malformed_fields_are_dropped_one_by_one() -> None:
    data = json.loads(FULL_TEXT)
    snapshot = data["snapshot"]
    snapshot["binding_window"] = "x" * 41  # longer than any window name
    snapshot["windows"] = {
        "grace_5h": {"utilization": 1.0},  # an older version's "window" that is not one
        "": {"utilization": 1.0},
        "a" * 40: {"utilization": 2.0},  # 40 characters: the longest name kept
        "b" * 41: {"utilization": 3.0},
        "five-hour": {"utilization": 4.0},  # not a name we write
        "w": "not an object",
    }
    snapshot["upgrade_paths"] = [f"path{i}" for i in range(9)]  # eight at most
    snapshot["overage"] = "not an object"
    limits = from_json(data).snapshot.limits
    assert limits.binding_window is None
    assert limits.windows == {"a" * 40: Window("a" * 40, 2.0)}
    assert limits.upgrade_paths == tuple(f"path{i}" for i in range(8))
    assert limits.overage_status is None and limits.overage_utilization is None
    assert from_json({**data, "snapshot": {**snapshot, "source": "guess"}}).snapshot is None
    assert from_json({**data, "snapshot": {**snapshot, "as_of": None}}).snapshot is None
    a_window = {**snapshot, "binding_window": "a"}
    assert from_json({**data, "snapshot": a_window}).snapshot.limits.binding_window == "a"


def test_labels_are_model_names_only() -> None:
    assert label(" Opus 4.1 ") == "Opus 4.1" and label("Sonnet 4.5+") == "Sonnet 4.5+"
    assert label("x" * 40) == "x" * 40 and label("x" * 41) is None
    assert label("sk-ant-oat01-abc") is None and label("<b>") is None and label(5) is None


def test_a_newer_snapshot_of_the_same_account_is_kept() -> None:
    older = UsageSnapshot(LIMITS, AS_OF - 10, "headers")
    same_time = UsageSnapshot(LIMITS._replace(status="allowed"), AS_OF, "headers")
    kept = with_snapshot(FULL, older, "account-a")
    assert kept == FULL
    assert with_snapshot(FULL, same_time, "account-a").snapshot == same_time  # a tie: the new
    assert with_snapshot(FULL, older, None) == FULL
    # Another account's file: its snapshot and plan go, what a newer version wrote stays.
    other = with_snapshot(FULL, older, "account-b")
    assert other == UsageFile(account="account-b", snapshot=older, extra=FULL.extra)


def test_update_changes_the_file_under_its_lock(tmp_path: Path) -> None:
    path = str(tmp_path / "claude_code_oauth.default.usage.json")
    assert update(path, lambda usage: None, lock_timeout=5) == UsageFile()
    assert not os.path.exists(path)
    changed = update(path, lambda usage: FULL, lock_timeout=5)
    assert changed == FULL and load(path) == FULL
    assert os.path.exists(path + ".lock")
    Path(path).write_text("{damaged")
    assert update(path, lambda usage: usage._replace(account="b"), lock_timeout=5) == UsageFile(
        account="b", endpoint_checked_at=None
    )
    assert load(path).account == "b"


def test_update_refuses_a_symlink_in_place_of_the_file(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    path = tmp_path / "usage.json"
    path.symlink_to(target)
    with pytest.raises(UsageFileError):
        update(str(path), lambda usage: FULL, lock_timeout=5)
    assert target.read_text() == "{}"


def test_a_file_over_a_mebibyte_is_refused_unread_and_one_of_exactly_that_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "usage.json"
    text = json.dumps({"version": 1, "account": "account-a"})
    path.write_text(text.ljust(MAX_FILE_BYTES))  # JSON allows the trailing spaces
    assert load(str(path)) == UsageFile(account="account-a", extra={})
    path.write_text(text.ljust(MAX_FILE_BYTES + 1))
    with pytest.raises(UsageFileError) as caught:
        load(str(path))
    assert str(caught.value) == (
        f"Refusing to read {path}: it is larger (1,048,577 bytes) than the 1 MiB such a file can "
        "hold; it was not read. The next answer from Claude replaces it."
    )


def test_a_save_that_cannot_be_made_is_a_usage_file_error(tmp_path: Path) -> None:
    """Every failure of a save is the usage file's own one-line error (which the
    capture and ``usage --refresh`` expect), naming what is in the way."""
    (tmp_path / "not-a-dir").write_text("")
    with pytest.raises(UsageFileError) as caught:
        save(str(tmp_path / "not-a-dir" / "usage.json"), FULL)
    assert str(caught.value) == f"{tmp_path / 'not-a-dir'} exists and is not a directory."
    (tmp_path / "usage.json").mkdir()
    with pytest.raises(UsageFileError) as caught:
        save(str(tmp_path / "usage.json"), FULL)
    assert str(caught.value) == (
        f"Cannot write {tmp_path / 'usage.json'}: Is a directory. Check {tmp_path} and the "
        "filesystem it is on."
    )


def test_update_waits_for_the_lock_at_most_its_timeout_and_says_whose_lock(
    tmp_path: Path,
) -> None:
    from claude_code_oauth.errors import LockTimeout
    from claude_code_oauth.storage.file_lock import file_lock

    path = str(tmp_path / "claude_code_oauth.default.usage.json")
    changes: list[UsageFile] = []
    # Another writer holds the lock.
    with file_lock(path + ".lock", 5), pytest.raises(LockTimeout) as caught:
        update(path, lambda usage: changes.append(usage) or FULL, lock_timeout=0.2)
    assert str(caught.value) == (
        f"Another claude-code-oauth process has held the lock on the usage snapshot for more "
        f"than 0.2 s ({path}.lock). Retry in a moment; if it persists, look for a hung "
        "claude-code-oauth or Code Puppy process."
    )
    assert changes == [] and not os.path.exists(path)


def test_update_leaves_a_fifo_or_a_directory_in_place_of_the_file_alone(tmp_path: Path) -> None:
    """Only a damaged regular file is replaced: anything else there is not ours."""
    fifo = tmp_path / "fifo.usage.json"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.usage.json"
    folder.mkdir()
    changes: list[UsageFile] = []
    for path in (fifo, folder):
        with pytest.raises(UsageFileError) as caught:
            update(str(path), lambda usage: changes.append(usage) or FULL, lock_timeout=5)
        assert str(caught.value) == (
            f"Refusing to use {path}: it is not a regular file. Move it away; the file must "
            "be a regular file."
        )
    assert changes == []
    assert fifo.is_fifo() and folder.is_dir() and list(folder.iterdir()) == []
