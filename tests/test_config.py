"""Configuration: defaults, CLAUDE_CODE_OAUTH_<KEY> overrides, validation on use, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.config_rules import (
    CLAUDE_CODE_OAUTH_CONFIG,
    default_data_dir,
    env_name,
    is_loopback_host,
)
from claude_code_oauth.errors import ConfigError

CLI = [sys.executable, "-m", "claude_code_oauth"]

EXPECTED_DEFAULTS = {
    "auth_url": "https://claude.com/cai/oauth/authorize",
    "console_auth_url": "https://platform.claude.com/oauth/authorize",
    "token_url": "https://platform.claude.com/v1/oauth/token",
    "api_base_url": "https://api.anthropic.com",
    "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
    "scope": "org:create_api_key user:profile user:inference",
    "redirect_host": "http://localhost",
    "callback_port_range": (8765, 8795),
    "callback_timeout": 180.0,
    "manual_redirect_uri": "https://platform.claude.com/oauth/code/callback",
    "prefix": "claude-code-",
    "default_context_length": 200000,
    "api_key_env_var": "CLAUDE_CODE_ACCESS_TOKEN",
    "extra_usage": "warn",
    "storage": "file",
    "keyring_timeout": 2.0,
}

#: key -> (an override, what the property returns for it)
OVERRIDES = {
    "auth_url": ("https://auth.example.test/authorize", "https://auth.example.test/authorize"),
    "console_auth_url": (
        "https://con.example.test/authorize",
        "https://con.example.test/authorize",
    ),
    "token_url": ("https://tok.example.test/token", "https://tok.example.test/token"),
    "api_base_url": ("https://api.example.test/", "https://api.example.test"),
    "manual_redirect_uri": ("https://x.example.test/cb", "https://x.example.test/cb"),
    "client_id": ("other-client", "other-client"),
    "scope": ("  a:b   c:d ", "a:b c:d"),
    "redirect_host": ("http://127.0.0.1", "http://127.0.0.1"),
    "redirect_path": ("/oauth/cb/", "/oauth/cb"),
    "callback_port_range": ("9100-9110", (9100, 9110)),
    "callback_timeout": ("2.5", 2.5),
    "prefix": ("cc-", "cc-"),
    "default_context_length": ("1000", 1000),
    "api_key_env_var": ("MY_TOKEN", "MY_TOKEN"),
    "token_file": ("t.json", None),
    "profile": ("default", "default"),
    "models_file": ("m.json", None),
    "refresh_margin": ("60", 60.0),
    "http_timeout": ("0.25", 0.25),
    "lock_timeout": ("3", 3.0),
    "anthropic_version": ("2099-01-01", "2099-01-01"),
    "anthropic_beta": ("b-1", "b-1"),
    "extra_usage": (" Block ", "block"),
    "storage": (" Keyring ", "keyring"),
    "keyring_timeout": ("0.5", 0.5),
    "data_dir": (None, None),
}


def test_defaults_match_the_seed_configuration() -> None:
    settings = Settings(environ={"HOME": "/home/someone"})
    for key, value in EXPECTED_DEFAULTS.items():
        assert getattr(settings, key) == value, key
        assert settings.source(key) == "default"
    assert settings.redirect_uri(8765) == "http://localhost:8765/callback"
    assert settings.refresh_margin is None
    assert settings.token_path == "/home/someone/.code_puppy/claude_code_oauth.json"
    assert settings.models_path == "/home/someone/.code_puppy/extra_models.json"
    assert settings.profile_url == "https://api.anthropic.com/api/oauth/profile"


def test_every_key_is_overridable_by_its_environment_variable(tmp_path: Path) -> None:
    assert set(OVERRIDES) == set(CLAUDE_CODE_OAUTH_CONFIG)
    env = {env_name(k): v for k, (v, _) in OVERRIDES.items() if v is not None}
    env[env_name("data_dir")] = str(tmp_path / "d")
    settings = Settings(environ=env)
    for key, (_, expected) in OVERRIDES.items():
        assert settings.source(key) == env_name(key) == "CLAUDE_CODE_OAUTH_" + key.upper()
        if expected is not None:
            assert getattr(settings, key) == expected, key
    assert settings.data_dir == str(tmp_path / "d")
    assert settings.token_path == str(tmp_path / "d" / "t.json")
    assert settings.models_path == str(tmp_path / "d" / "m.json")
    assert settings.redirect_uri(9100) == "http://127.0.0.1:9100/oauth/cb"


def test_overrides_win_over_the_environment_and_unknown_keys_are_refused() -> None:
    env = {"CLAUDE_CODE_OAUTH_CLIENT_ID": "from-env"}
    settings = Settings({"client_id": "from-override"}, environ=env)
    assert settings.client_id == "from-override"
    assert settings.source("client_id") == "override"
    with pytest.raises(ConfigError, match="nonsense"):
        Settings({"nonsense": 1}, environ={})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/token",
        "http://127.4.5.6/token",
        "http://localhost:1234/x",
        "http://[::1]:8080/token",
        "HTTP://LOCALHOST/x",
        "https://example.com/token",
    ],
)
def test_http_is_allowed_only_towards_loopback(url: str) -> None:
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_TOKEN_URL": url})
    assert settings.token_url == url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/token",
        "http://127.0.0.1.evil.example/token",
        "http://localhost.evil.example/x",
        "http://128.0.0.1/x",
        "http://127.0.0.1\u00b2/x",
        "http://127.0.0.\u00b2/x",
        "ftp://127.0.0.1/x",
        "https:///no-host",
        "token",
        "https://user:pw@example.com/token",
        "https://example.com:99999/token",
        "https://[::1/token",
        "",
    ],
)
def test_bad_endpoints_raise_config_error_naming_key_and_variable(url: str) -> None:
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_TOKEN_URL": url})
    with pytest.raises(ConfigError) as info:
        _ = settings.token_url
    message = str(info.value)
    assert "token_url" in message and "CLAUDE_CODE_OAUTH_TOKEN_URL" in message
    assert "\n" not in message
    assert info.value.exit_code == 2


def test_is_loopback_host() -> None:
    for host in ("localhost", "LOCALHOST", "127.0.0.1", "127.255.255.254", "::1", "[::1]"):
        assert is_loopback_host(host), host
    for host in ("", "0.0.0.0", "192.0.2.1", "127.0.0", "127.0.0.256", "::", "example.com"):
        assert not is_loopback_host(host), host
    assert not is_loopback_host("127.0.0.\u00b2")  # a Unicode digit int() refuses


@pytest.mark.parametrize(
    "value", ["8795-8765", "0", "0-10", "70000", "8765-70000", "abc", "", "-5", "1-2-3", "80 90"]
)
def test_bad_port_ranges(value: str) -> None:
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": value})
    with pytest.raises(ConfigError) as info:
        _ = settings.callback_port_range
    assert "callback_port_range" in str(info.value)
    assert "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE" in str(info.value)


@pytest.mark.parametrize("value", ["8765", " 8765 - 8766 ", "1-65535"])
def test_good_port_ranges(value: str) -> None:
    low, high = Settings(
        environ={"CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": value}
    ).callback_port_range
    assert 1 <= low <= high <= 65535
    assert str(low) in value


@pytest.mark.parametrize(
    "key", ["callback_timeout", "http_timeout", "lock_timeout", "keyring_timeout"]
)
@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf", "", "86401", "1e300"])
def test_bad_timeouts(key: str, value: str) -> None:
    settings = Settings(environ={env_name(key): value})
    with pytest.raises(ConfigError) as info:
        getattr(settings, key)
    assert key in str(info.value) and env_name(key) in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("redirect_host", "https://localhost"),
        ("redirect_host", "http://example.com"),
        ("redirect_host", "http://localhost:8080"),
        ("redirect_host", "http://localhost."),
        ("redirect_host", "http://127.0.0.2"),
        ("redirect_host", "http://user@localhost"),
        ("redirect_path", "a b"),
        ("redirect_path", "/"),
        ("token_file", "../escape.json"),
        ("refresh_margin", "-1"),
        ("default_context_length", "zero"),
        ("api_key_env_var", "1BAD"),
        ("client_id", "   "),
        ("extra_usage", "sometimes"),
        ("storage", "keychain"),
        ("storage", ""),
        ("keyring_timeout", "61"),
        ("token_url", "https://a..b/v1/oauth/token"),
        ("api_base_url", "https://" + "x" * 64 + ".example"),
    ],
)
def test_other_bad_values(key: str, value: str) -> None:
    settings = Settings(environ={env_name(key): value})
    attribute = "token_path" if key == "token_file" else key
    with pytest.raises(ConfigError) as info:
        getattr(settings, attribute)
    assert key in str(info.value) and env_name(key) in str(info.value)


def test_validation_happens_on_use_not_on_construction() -> None:
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_TOKEN_URL": "http://example.com/"})
    assert settings.client_id == EXPECTED_DEFAULTS["client_id"]
    with pytest.raises(ConfigError):
        _ = settings.token_url


def test_data_dir_rule(tmp_path: Path) -> None:
    home, xdg = str(tmp_path / "home"), str(tmp_path / "xdg")
    assert default_data_dir({"HOME": home}) == os.path.join(home, ".code_puppy")
    assert default_data_dir({"HOME": home, "XDG_DATA_HOME": xdg}) == os.path.join(xdg, "code_puppy")
    assert default_data_dir({"HOME": home, "XDG_DATA_HOME": ""}) == os.path.join(
        home, ".code_puppy"
    )
    settings = Settings(environ={"HOME": home, "XDG_DATA_HOME": xdg})
    assert settings.token_path == os.path.join(xdg, "code_puppy", "claude_code_oauth.json")
    explicit = Settings(environ={"HOME": home, "CLAUDE_CODE_OAUTH_DATA_DIR": "rel/dir"})
    assert explicit.data_dir == os.path.abspath("rel/dir")
    tilde = Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": "~/elsewhere"}).data_dir
    assert os.path.isabs(tilde) and "~" not in tilde and tilde.endswith("elsewhere")


# -- through the command line ---------------------------------------------------------


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _base_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLAUDE_CODE_OAUTH_", "XDG_", "SSH_")) and k != "BROWSER"
    }
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.mark.subprocess
def test_cli_config_shows_values_variables_and_sources(tmp_path: Path) -> None:
    env = _base_env(tmp_path)
    env["CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE"] = "9100-9110"
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    done = _run(["config", "--json"], env)
    assert done.returncode == 0, done.stderr
    rows = {row["key"]: row for row in json.loads(done.stdout)}
    assert set(rows) == set(CLAUDE_CODE_OAUTH_CONFIG)
    assert rows["callback_port_range"]["value"] == "9100-9110"
    assert rows["callback_port_range"]["source"] == "environment"
    assert rows["callback_port_range"]["env"] == "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE"
    assert rows["token_url"] == {
        "key": "token_url",
        "value": EXPECTED_DEFAULTS["token_url"],
        "env": "CLAUDE_CODE_OAUTH_TOKEN_URL",
        "source": "default",
        "error": None,
    }
    assert rows["data_dir"]["value"] == str(tmp_path / "xdg" / "code_puppy")
    text = _run(["config"], env)
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert len(lines) == len(CLAUDE_CODE_OAUTH_CONFIG)
    port_line = next(line for line in lines if line.startswith("callback_port_range "))
    assert "9100-9110" in port_line
    # The variable is named once, then where the value came from.
    assert port_line.count("CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE") == 1, port_line
    assert port_line.endswith("CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE (set in the environment)")
    token_line = next(line for line in lines if line.startswith("token_url "))
    assert token_line.endswith("CLAUDE_CODE_OAUTH_TOKEN_URL (default)")


@pytest.mark.subprocess
def test_cli_config_flags_an_invalid_value_with_exit_2(tmp_path: Path) -> None:
    env = _base_env(tmp_path)
    env["CLAUDE_CODE_OAUTH_TOKEN_URL"] = "http://token.example.com/v1/oauth/token"
    done = _run(["config", "--json"], env)
    assert done.returncode == 2
    rows = {row["key"]: row for row in json.loads(done.stdout)}
    assert "plain http to a non-loopback host" in rows["token_url"]["error"]
    assert rows["auth_url"]["error"] is None
    text = _run(["config"], env)
    assert text.returncode == 2
    (line,) = text.stderr.strip().splitlines()
    assert line.startswith("error: ") and "CLAUDE_CODE_OAUTH_TOKEN_URL" in line


def test_data_dir_tilde_uses_the_given_home(tmp_path: Path) -> None:
    settings = Settings(environ={"HOME": str(tmp_path), "CLAUDE_CODE_OAUTH_DATA_DIR": "~/cp"})
    assert settings.data_dir == str(tmp_path / "cp")


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE", "abc", "callback_port_range"),
        ("CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE", "8795-8765", "callback_port_range"),
        ("CLAUDE_CODE_OAUTH_CALLBACK_TIMEOUT", "soon", "callback_timeout"),
        ("CLAUDE_CODE_OAUTH_CALLBACK_TIMEOUT", "1e12", "CALLBACK_TIMEOUT"),
        ("CLAUDE_CODE_OAUTH_AUTH_URL", "http://example.com/authorize", "auth_url"),
        ("CLAUDE_CODE_OAUTH_MANUAL_REDIRECT_URI", "http://example.com/cb", "manual_redirect_uri"),
    ],
)
def test_cli_login_with_a_bad_value_is_one_line_and_exit_2(
    tmp_path: Path, variable: str, value: str, key: str
) -> None:
    env = _base_env(tmp_path)
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(tmp_path / "data")
    env[variable] = value
    done = _run(["login", "--no-browser", "--no-models"], env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and key in lines[0] and variable in lines[0]
    assert "Waiting" not in done.stdout  # it stopped before listening


# -- profiles ------------------------------------------------------------------------


def test_profile_paths_default_keeps_todays_file_and_side_files_never_collide() -> None:
    base = {"HOME": "/h"}
    default = Settings(environ=base)
    work = Settings(environ={**base, "CLAUDE_CODE_OAUTH_PROFILE": "work"})
    usage = Settings(environ={**base, "CLAUDE_CODE_OAUTH_PROFILE": "usage"})
    assert default.profile == "default"
    assert default.token_path == "/h/.code_puppy/claude_code_oauth.json"
    assert work.token_path == "/h/.code_puppy/claude_code_oauth.work.json"
    assert default.side_path("usage") == "/h/.code_puppy/claude_code_oauth.default.usage.json"
    assert work.side_path("usage") == "/h/.code_puppy/claude_code_oauth.work.usage.json"
    # A profile named like a side file's kind still gets a file of its own.
    assert usage.token_path not in {default.side_path("usage"), work.side_path("usage")}


@pytest.mark.parametrize("name", ["Work", "-x", "a.b", "a/b", "x" * 33, "é", " "])
def test_a_bad_profile_name_is_one_line_naming_the_variable(name: str) -> None:
    settings = Settings(environ={"HOME": "/h", "CLAUDE_CODE_OAUTH_PROFILE": name})
    if not name.strip():
        assert settings.profile == "default"
        return
    with pytest.raises(ConfigError, match="CLAUDE_CODE_OAUTH_PROFILE") as info:
        settings.token_path  # noqa: B018
    assert "\n" not in str(info.value)
