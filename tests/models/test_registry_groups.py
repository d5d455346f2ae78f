"""extra_models.json with profiles: entries that follow the active profile, entries
pinned to a profile, and foreign entries — each group changes only when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_code_oauth.config import Settings
from claude_code_oauth.models.discovery import DiscoveredModel
from claude_code_oauth.models.registry import (
    PROFILE_FIELD,
    model_entry,
    pinned_profile,
    register_models,
    registered_models,
    unregister_models,
)

FOREIGN_TEXT = (
    '{\n    "my-model": {"type": "openai",   "name": "x"},\n'
    '    "claude-code-work-hand-made": {"type": "custom_anthropic", "oauth_profile": "work"}\n}\n'
)


def _settings(data_dir: Path) -> Settings:
    return Settings(overrides={"data_dir": str(data_dir)}, environ={})


def _model(model_id: str) -> DiscoveredModel:
    return DiscoveredModel(model_id, model_id.title(), "2025-01-01T00:00:00Z", None)


def _file(data_dir: Path) -> dict[str, Any]:
    return json.loads((data_dir / "extra_models.json").read_text())


def test_pinned_entries_carry_their_profile_and_a_key_of_their_own(data_dir: Path) -> None:
    settings = _settings(data_dir)
    entry = model_entry(settings, _model("m1"), "work")
    assert entry[PROFILE_FIELD] == "work" and pinned_profile(entry) == "work"
    assert entry["display_name"] == "M1 (work)"
    assert entry["custom_endpoint"]["api_key"] == "$CLAUDE_CODE_ACCESS_TOKEN"  # never a token
    assert PROFILE_FIELD not in model_entry(settings, _model("m1"))
    change = register_models(settings, [_model("m1"), _model("m2")], pinned="work")
    assert change.added == ("claude-code-work-m1", "claude-code-work-m2")


def test_each_group_changes_alone_and_foreign_entries_keep_their_bytes(data_dir: Path) -> None:
    settings = _settings(data_dir)
    path = data_dir / "extra_models.json"
    path.write_text(FOREIGN_TEXT)
    register_models(settings, [_model("m1"), _model("m2")])
    register_models(settings, [_model("m1")], pinned="work")
    register_models(settings, [_model("m1"), _model("m3")], pinned="personal")
    assert list(registered_models(settings)) == [
        "claude-code-m1",
        "claude-code-m2",
        "claude-code-work-m1",
        "claude-code-personal-m1",
        "claude-code-personal-m3",
    ]
    # Re-registering the unpinned group with fewer models touches nothing pinned.
    change = register_models(settings, [_model("m2")])
    assert change.removed == ("claude-code-m1",) and change.kept == ("claude-code-m2",)
    assert "claude-code-work-m1" in registered_models(settings)
    # Removing one profile's pinned entries leaves the rest.
    change = unregister_models(settings, ["work"])
    assert change.removed == ("claude-code-work-m1",)
    assert list(registered_models(settings)) == [
        "claude-code-m2",
        "claude-code-personal-m1",
        "claude-code-personal-m3",
    ]
    change = unregister_models(settings, ["personal", None])
    assert set(change.removed) == {
        "claude-code-m2",
        "claude-code-personal-m1",
        "claude-code-personal-m3",
    }
    # Exactly the foreign entries are left, each value written back as it was written
    # (the hand-made entry naming profile "work" is not ours: it has no marker).
    text = path.read_text()
    assert json.loads(text) == json.loads(FOREIGN_TEXT)
    assert '{"type": "openai",   "name": "x"}' in text


def test_everything_of_ours_without_groups(data_dir: Path) -> None:
    settings = _settings(data_dir)
    register_models(settings, [_model("m1")])
    register_models(settings, [_model("m1")], pinned="work")
    assert len(unregister_models(settings).removed) == 2
    assert _file(data_dir) == {}


def test_a_key_held_by_another_group_is_a_collision_not_an_overwrite(data_dir: Path) -> None:
    settings = _settings(data_dir)
    # Profile "a" pins model "b-m": claude-code-a-b-m. Unpinned model "a-b-m" has that key too.
    register_models(settings, [_model("b-m")], pinned="a")
    change = register_models(settings, [_model("a-b-m")])
    assert change.collisions == ("claude-code-a-b-m",) and change.added == ()
    assert _file(data_dir)["claude-code-a-b-m"][PROFILE_FIELD] == "a"
