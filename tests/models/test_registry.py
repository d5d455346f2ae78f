"""The extra_models.json registry: our entries change, everything else stays exactly."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import LockTimeout, ModelsFileError
from claude_code_oauth.models.discovery import DiscoveredModel
from claude_code_oauth.models.registry import (
    MODEL_TYPE,
    OAUTH_SOURCE,
    lower_context_length,
    register_models,
    registered_models,
    unregister_models,
)

# -- helpers ----------------------------------------------------------------------


def settings_for(data_dir: Path | str, **extra: Any) -> Settings:
    return Settings(overrides={"data_dir": str(data_dir), **extra}, environ={})


def model(model_id: str, name: str | None = None, max_in: int | None = None) -> DiscoveredModel:
    return DiscoveredModel(model_id, name or model_id.upper(), "2025-01-01T00:00:00Z", max_in)


def pairs(text: str | bytes) -> Any:
    """Parsed JSON with every object as a list of (key, value) pairs: order matters."""
    return json.loads(text, object_pairs_hook=list)


def foreign_entries() -> list[tuple[str, Any]]:
    """50 entries another tool or the user wrote, with unusual shapes and key order."""
    rng = random.Random(20250417)
    special: list[tuple[str, Any]] = [
        ("zeta-model", {"type": "openai", "name": "z", "custom_endpoint": {"url": "https://x"}}),
        (
            "Ünïcode-模型-🐶",
            {"name": "naïve ☃", "tags": ["α", "β", {"γ": None}], "zh": "模型"},
        ),
        ("alpha", {"z": 1, "a": 2, "m": {"y": [3, 2, 1], "b": {"d": True, "c": False}}}),
        ("numbers", {"big": 12345678901234567890, "neg": -7, "flt": 1.5, "exp": 2.5e-8}),
        ("nulls-and-bools", {"n": None, "t": True, "f": False, "empty": {}, "list": []}),
        # Not ours: a different marker, and a key that looks like ours.
        ("claude-code-imposter", {"type": "anthropic", "oauth_source": "someone-else"}),
        ("claude-code-user-made", {"type": "custom_anthropic", "name": "mine"}),
        ("a-string-value", "not an object at all"),
        ("a-list-value", [1, "two", {"three": 3}]),
        ("a-null-value", None),
        ("escapes", {"quote": 'say "hi"', "backslash": "C:\\dir", "ctl": "tab\tnl\n"}),
    ]
    entries = list(special)
    while len(entries) < 50:
        n = len(entries)
        fields = [f"f{rng.randrange(1000)}_{i}" for i in range(rng.randrange(2, 6))]
        rng.shuffle(fields)
        value: dict[str, Any] = {}
        for f in fields:
            value[f] = rng.choice(
                [rng.randrange(-(10**6), 10**6), rng.random(), f"s{n}", None, True, [n, {"k": n}]]
            )
        entries.append((f"user-{rng.randrange(10**6):06d}-{n}", value))
    rng.shuffle(entries)
    return entries


def write_foreign(path: Path, entries: list[tuple[str, Any]]) -> None:
    # Written by "someone else": 4-space indent, real unicode, our code not involved.
    path.write_text(json.dumps(dict(entries), indent=4, ensure_ascii=False), encoding="utf-8")


def foreign_part(path: Path) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in pairs(path.read_bytes()) if not _marked(v)]


def marked_part(path: Path) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in pairs(path.read_bytes()) if _marked(v)]


def _marked(value: Any) -> bool:
    return isinstance(value, list) and ("oauth_source", OAUTH_SOURCE) in value


def expected_pairs(key_prefix: str, m: DiscoveredModel, context: int) -> tuple[str, Any]:
    return (
        key_prefix + m.id,
        [
            ("type", MODEL_TYPE),
            ("name", m.id),
            ("display_name", m.display_name),
            (
                "custom_endpoint",
                [("url", "https://api.anthropic.com"), ("api_key", "$CLAUDE_CODE_ACCESS_TOKEN")],
            ),
            ("context_length", context),
            ("oauth_source", OAUTH_SOURCE),
        ],
    )


# -- lifecycle ----------------------------------------------------------------------


def test_login_relogin_logout_keep_foreign_entries_exactly(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    foreign = foreign_entries()
    write_foreign(path, foreign)
    expected_foreign = pairs(path.read_bytes())
    assert len(expected_foreign) == 50

    first = [model("claude-a"), model("claude-b", max_in=1_000_000), model("claude-c")]
    change = register_models(settings, first)
    assert change.written
    assert change.added == ("claude-code-claude-a", "claude-code-claude-b", "claude-code-claude-c")
    assert change.removed == change.kept == change.collisions == ()
    assert foreign_part(path) == expected_foreign
    # New entries are appended after every foreign one, with the exact key order.
    assert pairs(path.read_bytes())[50:] == [
        expected_pairs("claude-code-", first[0], 200000),
        expected_pairs("claude-code-", first[1], 1_000_000),
        expected_pairs("claude-code-", first[2], 200000),
    ]
    assert list(registered_models(settings)) == list(change.added)

    # Re-login with another model list: b stays in place, a is renamed, c goes, d comes.
    second = [model("claude-d"), model("claude-b", max_in=1_000_000), model("claude-a", "New A")]
    change = register_models(settings, second)
    assert change.written
    assert change.removed == ("claude-code-claude-c",)
    assert change.added == ("claude-code-claude-d",)
    assert change.kept == ("claude-code-claude-b",)
    assert change.updated == ("claude-code-claude-a",)
    assert foreign_part(path) == expected_foreign
    assert [k for k, _ in marked_part(path)] == [
        "claude-code-claude-a",
        "claude-code-claude-b",
        "claude-code-claude-d",
    ]
    assert registered_models(settings)["claude-code-claude-a"]["display_name"] == "New A"

    # Code Puppy or the user may move things around; logout still removes only ours.
    data = json.loads(path.read_bytes())
    ours = {k: data.pop(k) for k in list(data) if k.startswith("claude-code-claude-")}
    items = list(data.items())
    for position, key in zip((0, 7, 30), ours, strict=True):
        items.insert(position, (key, ours[key]))
    path.write_text(json.dumps(dict(items), indent=1), encoding="utf-8")
    change = unregister_models(settings)
    assert change.written
    assert set(change.removed) == set(ours)
    assert pairs(path.read_bytes()) == expected_foreign
    assert registered_models(settings) == {}
    # Nothing secret and nothing but our variable reference was ever written.
    assert "sk-ant" not in path.read_text(encoding="utf-8")


def test_same_models_again_does_not_rewrite(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    write_foreign(path, foreign_entries()[:5])
    models = [model("m1"), model("m2")]
    assert register_models(settings, models).written
    # A hand-reformatted file with the right content is not reformatted either.
    path.write_text(json.dumps(json.loads(path.read_bytes()), indent=8), encoding="utf-8")
    before = path.read_bytes()
    change = register_models(settings, models)
    assert not change.written
    assert change.kept == ("claude-code-m1", "claude-code-m2")
    assert path.read_bytes() == before


def test_new_file_is_created_private_and_empty_lists_create_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "code_puppy"
    settings = settings_for(data_dir)
    path = data_dir / "extra_models.json"
    assert unregister_models(settings).written is False
    assert not data_dir.exists()
    assert register_models(settings, []).written is False
    assert not path.exists()
    change = register_models(settings, [model("x"), model("x", "dup")])
    assert change.added == ("claude-code-x",)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert json.loads(path.read_bytes())["claude-code-x"]["display_name"] == "X"


def test_existing_mode_is_kept(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    write_foreign(path, foreign_entries()[:3])
    os.chmod(path, 0o640)
    register_models(settings, [model("m")])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    unregister_models(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_prefix_env_var_and_context_length_come_from_settings(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path, prefix="cc/", api_key_env_var="MY_VAR", default_context_length=5000
    )
    register_models(
        settings, [model("m", max_in=4000), model("n", max_in=9000), model("o", max_in=None)]
    )
    entries = registered_models(settings)
    assert entries["cc/m"]["custom_endpoint"]["api_key"] == "$MY_VAR"
    # What the API reports, smaller or larger than the default; the default without it.
    assert entries["cc/m"]["context_length"] == 4000
    assert entries["cc/n"]["context_length"] == 9000
    assert entries["cc/o"]["context_length"] == 5000


# -- files we must not write ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{\n  "a": {"type": "x"},\n  "b": {"type": "y",}\n}\n', "line 3, column 21"),
        ('{\n  "a": 1\n  "b": 2\n}', "line 3, column 3"),
        ("not json", "line 1, column 1"),
    ],
)
def test_invalid_json_is_left_byte_identical(tmp_path: Path, text: str, where: str) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    path.write_bytes(text.encode())
    for action in (
        lambda: register_models(settings, [model("m")]),
        lambda: unregister_models(settings),
        lambda: registered_models(settings),
    ):
        with pytest.raises(ModelsFileError) as info:
            action()
        message = str(info.value)
        assert str(path) in message
        assert where in message
        assert "\n" not in message
        assert path.read_bytes() == text.encode()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [
        "extra_models.json"
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[{"type": "x"}]', "JSON object"),
        ('"just a string"', "JSON object"),
        ('{"a": 1, "a": 1}', "'a' more than once"),
    ],
)
def test_unusable_shapes_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "extra_models.json"
    path.write_text(text)
    with pytest.raises(ModelsFileError, match=fragment):
        register_models(settings_for(tmp_path), [model("m")])
    assert path.read_text() == text


def test_foreign_entries_are_written_back_exactly_as_the_user_wrote_them(tmp_path: Path) -> None:
    # Nested duplicates, number spelling, escapes and layout of foreign values are
    # the user's business: they come back byte-for-byte, not re-serialised.
    foreign = [
        '"dup": {"x": 1, "x": 2}',
        '"num": {"n": 1.50, "e": 1E3, "neg": -0}',
        '"esc": {"s": "\\u00fc \\/ \\ud800"}',
        '"wide": {\n      "a":   [1,\n 2]\n  }',
    ]
    path = tmp_path / "extra_models.json"
    path.write_text("{\n  " + ",\n  ".join(foreign) + "\n}\n")
    register_models(settings_for(tmp_path), [model("m")])
    text = path.read_text()
    for member in foreign:
        assert member in text
    unregister_models(settings_for(tmp_path))
    assert path.read_text() == "{\n  " + ",\n  ".join(foreign) + "\n}\n"


#: The layout the issue reported as re-indented: a tab, blanks around a colon, two
#: members on one line, no spaces inside a list.
ISSUE_EXAMPLE = '{\n\t"a" :   {"x": 1}, "b": [1,2]\n}\n'


@pytest.mark.parametrize(
    "text",
    [
        ISSUE_EXAMPLE,
        '{"a":1}',  # compact, no newline at the end
        '  \r\n{ "a": 1 ,\r\n\t\t"b" : 2 }  \r\n',  # CRLF, blanks around everything
        "\ufeff" + ISSUE_EXAMPLE,  # a byte-order mark
        "{}\n",
        "{}",
    ],
)
def test_every_byte_outside_our_entries_survives_login_relogin_and_logout(
    tmp_path: Path, text: str
) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    original = text.encode("utf-8")
    path.write_bytes(original)
    foreign = json.loads(original.decode("utf-8-sig"))

    change = register_models(settings, [model("claude-a"), model("claude-b")])
    assert change.written
    after_login = path.read_bytes()
    assert after_login.startswith(original.rstrip().removesuffix(b"}").rstrip())
    assert json.loads(after_login.decode("utf-8-sig")) == {
        **foreign,
        **registered_models(settings),
    }
    # Another login with a different list: one replaced in place, one removed, one added.
    register_models(settings, [model("claude-b", "B2"), model("claude-c")])
    assert list(registered_models(settings)) == ["claude-code-claude-b", "claude-code-claude-c"]

    assert unregister_models(settings).written
    assert path.read_bytes() == original


def test_our_entry_updated_in_place_keeps_the_separators_around_it(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    register_models(settings, [model("claude-a")])
    ours = path.read_text().removeprefix("{").removesuffix("}\n").strip()
    # The user adds entries around ours, in their own style.
    path.write_text('{ "first" : 1 ,\t' + ours + ' ,  "last":[ 2 ] }')
    register_models(settings, [model("claude-a", "Renamed A")])
    text = path.read_text()
    assert text.startswith('{ "first" : 1 ,\t"claude-code-claude-a": {')
    assert text.endswith('} ,  "last":[ 2 ] }')
    assert registered_models(settings)["claude-code-claude-a"]["display_name"] == "Renamed A"
    unregister_models(settings)
    assert path.read_text() == '{ "first" : 1 ,  "last":[ 2 ] }'


def test_an_object_left_without_entries_is_written_as_braces(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    register_models(settings, [model("claude-a")])
    assert path.read_text().startswith('{\n  "claude-code-claude-a": {\n    "type"')
    unregister_models(settings)
    assert path.read_text() == "{}\n"


def test_lone_surrogate_and_unicode_survive(tmp_path: Path) -> None:
    path = tmp_path / "extra_models.json"
    path.write_text('{"odd": {"s": "\\ud800", "u": "ü"}}')
    register_models(settings_for(tmp_path), [model("m")])
    assert json.loads(path.read_bytes())["odd"] == {"s": "\ud800", "u": "ü"}


def test_empty_file_counts_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "extra_models.json"
    path.write_text("  \n")
    assert registered_models(settings_for(tmp_path)) == {}
    assert register_models(settings_for(tmp_path), [model("m")]).written
    assert list(json.loads(path.read_bytes())) == ["claude-code-m"]


def test_collision_with_user_entry_is_reported_and_untouched(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    user = {"claude-code-m": {"type": "custom_anthropic", "name": "my own", "extra": [1, 2]}}
    path.write_text(json.dumps(user))
    change = register_models(settings, [model("m"), model("n")])
    assert change.collisions == ("claude-code-m",)
    assert change.added == ("claude-code-n",)
    data = json.loads(path.read_bytes())
    assert data["claude-code-m"] == user["claude-code-m"]
    assert list(registered_models(settings)) == ["claude-code-n"]
    unregister_models(settings)
    assert json.loads(path.read_bytes()) == user


def test_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text('{"keep": 1}')
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "extra_models.json").symlink_to(target)
    settings = settings_for(data_dir)
    for action in (
        lambda: register_models(settings, [model("m")]),
        lambda: unregister_models(settings),
        lambda: registered_models(settings),
    ):
        with pytest.raises(ModelsFileError, match="symbolic link"):
            action()
    assert target.read_text() == '{"keep": 1}'
    assert (data_dir / "extra_models.json").is_symlink()


def test_directory_at_models_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "extra_models.json").mkdir()
    with pytest.raises(ModelsFileError, match=r"extra_models\.json.*(Cannot read|not a regular)"):
        register_models(settings_for(tmp_path), [model("m")])
    with pytest.raises(ModelsFileError):
        registered_models(settings_for(tmp_path))


# -- processes ------------------------------------------------------------------------


def _hold_lock(lock_path: str, held: Any, release: Any) -> None:
    with FileLock(lock_path):
        held.set()
        release.wait(30)


def test_lock_timeout_is_a_clear_error(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, lock_timeout=0.3)
    path = tmp_path / "extra_models.json"
    path.write_text("{}")
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(path) + ".lock", held, release))
    holder.start()
    try:
        assert held.wait(30)
        with pytest.raises(LockTimeout, match=r"0\.3 s.*extra_models\.json"):
            register_models(settings, [model("m")])
        assert path.read_text() == "{}"
    finally:
        release.set()
        holder.join(30)
    assert register_models(settings, [model("m")]).written


FINAL = ["final-1", "final-2"]


def _registrar(data_dir: str, worker: int, rounds: int) -> None:
    settings = settings_for(data_dir)
    for i in range(rounds):
        if i % 5 == 4:
            unregister_models(settings)
        else:
            ids = [f"w{worker}-r{i}-{j}" for j in range(1 + (i + worker) % 4)]
            register_models(settings, [model(x) for x in ids])
    register_models(settings, [model(x) for x in FINAL])


def _foreign_adder(data_dir: str, worker: int, rounds: int) -> None:
    # Another writer that follows our lock protocol: read, add one key, replace.
    path = os.path.join(data_dir, "extra_models.json")
    for i in range(rounds):
        with FileLock(path + ".lock"):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            data[f"added-by-{worker}-{i}"] = {"i": i, "nested": {"z": 1, "a": [worker]}}
            tmp = f"{path}.adder{worker}"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, path)


def _reader(data_dir: str, base_keys: list[str], stop: Any, results: Any) -> None:
    path = os.path.join(data_dir, "extra_models.json")
    seen = bad = 0
    while not stop.is_set():
        with open(path, "rb") as f:
            raw = f.read()
        seen += 1
        try:
            keys = [k for k, _ in pairs(raw)]
        except ValueError:
            bad += 1
            continue
        if [k for k in keys if k in set(base_keys)] != base_keys:
            bad += 1
    results.put((seen, bad))


@pytest.mark.multiprocess
def test_concurrent_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "extra_models.json"
    base = foreign_entries()
    write_foreign(path, base)
    expected_base = pairs(path.read_bytes())
    ctx = multiprocessing.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=_reader, args=(str(tmp_path), [k for k, _ in base], stop, results))
    workers = [ctx.Process(target=_registrar, args=(str(tmp_path), w, 25)) for w in range(3)]
    workers += [ctx.Process(target=_foreign_adder, args=(str(tmp_path), w, 25)) for w in range(2)]
    reader.start()
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
        assert p.exitcode == 0
    time.sleep(0.05)
    stop.set()
    seen, bad = results.get(timeout=60)
    reader.join(30)
    assert seen > 10
    assert bad == 0, f"{bad} of {seen} observations were invalid or lost foreign entries"

    final = pairs(path.read_bytes())
    foreign = [(k, v) for k, v in final if not _marked(v)]
    assert foreign[:50] == expected_base
    added = {k for k, _ in foreign[50:]}
    assert added == {f"added-by-{w}-{i}" for w in range(2) for i in range(25)}
    assert list(registered_models(settings_for(tmp_path))) == [f"claude-code-{x}" for x in FINAL]


def test_lower_context_length_touches_one_entry_of_ours_only(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    path = tmp_path / "extra_models.json"
    write_foreign(path, foreign_entries()[:2])
    register_models(settings, [model("m", max_in=1_000_000), model("n", max_in=1_000_000)])
    before = path.read_bytes()
    foreign_key = foreign_entries()[0][0]
    assert not lower_context_length(settings, foreign_key, 200_000)  # not ours
    assert not lower_context_length(settings, "claude-code-gone", 200_000)
    assert lower_context_length(settings, "claude-code-m", 200_000)
    assert not lower_context_length(settings, "claude-code-m", 300_000)  # never raised
    entries = registered_models(settings)
    assert entries["claude-code-m"]["context_length"] == 200_000
    assert entries["claude-code-n"]["context_length"] == 1_000_000
    assert path.read_bytes() == before.replace(b"1000000", b"200000", 1)
