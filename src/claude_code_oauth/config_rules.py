"""The configuration keys with their defaults and environment variables, and what a
valid value looks like: profile names, token file names, loopback hosts,
endpoints, and Code Puppy's data directory.

Pure functions and constants, shared by :mod:`.config` (which validates every key
on use) and by the modules that check a value they got elsewhere (a pasted URL,
an ``oauth_profile`` in a model entry, the ``Host`` of a callback). On the
``token`` fast path: imports only ``os`` at module level.
"""

from __future__ import annotations

import os

from .errors import ConfigError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

ENV_PREFIX = "CLAUDE_CODE_OAUTH_"

#: Every key with its default. Durations are seconds.
CLAUDE_CODE_OAUTH_CONFIG: dict[str, Any] = {
    # Where Claude Code 2.1.220 (October 2026) sends the browser; before it,
    # https://claude.ai/oauth/authorize. Keep overridable (see docs/configuration.md).
    "auth_url": "https://claude.com/cai/oauth/authorize",
    # The Anthropic Console's sign-in (API-billed accounts): `login --console` opens it,
    # then creates an API key with the login's access token.
    "console_auth_url": "https://platform.claude.com/oauth/authorize",
    # console.anthropic.com moved to platform.claude.com (its old URL answers 404
    # since about 2026-06-12); keep overridable.
    "token_url": "https://platform.claude.com/v1/oauth/token",
    "api_base_url": "https://api.anthropic.com",
    "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
    "scope": "org:create_api_key user:profile user:inference",
    "redirect_host": "http://localhost",
    "redirect_path": "callback",
    "callback_port_range": (8765, 8795),
    "callback_timeout": 180.0,
    "manual_redirect_uri": "https://platform.claude.com/oauth/code/callback",
    "prefix": "claude-code-",
    "default_context_length": 200000,
    "api_key_env_var": "CLAUDE_CODE_ACCESS_TOKEN",
    # Empty: Code Puppy's rule ($XDG_DATA_HOME/code_puppy, else ~/.code_puppy).
    "data_dir": "",
    "token_file": "claude_code_oauth.json",
    # Which sign-in to use: empty means the active profile, else "default".
    "profile": "",
    "models_file": "extra_models.json",
    # "auto": refresh when less than min(300 s, 10 % of the token's lifetime) is left.
    "refresh_margin": "auto",
    "http_timeout": 30.0,
    "lock_timeout": 30.0,
    "anthropic_version": "2023-06-01",
    "anthropic_beta": "oauth-2025-04-20",
    # What our Code Puppy models do about answers billed as extra usage: warn | block | allow.
    "extra_usage": "warn",
    # Where a new sign-in's secrets go: file (the 0600 token file) | keyring | auto.
    "storage": "file",
    # Seconds one OS keyring call may take before it is abandoned.
    "keyring_timeout": 2.0,
}

#: The values of ``extra_usage``.
EXTRA_USAGE_MODES = ("warn", "block", "allow")

#: The values of ``storage``: the token file only; the OS keyring (an error when it
#: fails, never a silent fall-back to the file); the keyring when one answers, else
#: the file.
STORAGE_MODES = ("file", "keyring", "auto")

#: The longest deadline a keyring call may have (a longer one is a hang in all but name).
MAX_KEYRING_SECONDS = 60

#: The longest duration a setting may hold (callback, HTTP and lock timeouts).
MAX_SECONDS = 86400


def env_name(key: str) -> str:
    """The environment variable that overrides ``key``."""
    return ENV_PREFIX + key.upper()


#: The profile whose token file is ``token_file`` itself (today's single sign-in).
DEFAULT_PROFILE = "default"
_PROFILE_FIRST = "abcdefghijklmnopqrstuvwxyz0123456789"
_PROFILE_REST = _PROFILE_FIRST + "-"
#: The profile-name rule, as error messages state it.
PROFILE_RULE = "1-32 of a-z, 0-9 and '-', starting with a letter or digit"

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "::1", "[::1]"})
#: The host names the loopback receiver accepts in ``Host`` (so: in redirect_host).
#: The names the loopback receiver answers to (its Host check and redirect_host).
RECEIVER_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def is_profile_name(name: str) -> bool:
    """``[a-z0-9][a-z0-9-]{0,31}`` (no dots, so profile files never collide)."""
    return (
        0 < len(name) <= 32 and name[0] in _PROFILE_FIRST and all(c in _PROFILE_REST for c in name)
    )


def require_profile_name(name: str, label: str = "--profile") -> str:
    """``name`` if it is a profile name, else a one-line UsageError (exit 2) naming ``label``."""
    if not is_profile_name(name):
        shown = repr(name) if len(name) <= 40 else repr(name[:40] + "…")
        raise UsageError(f"{label}: {shown} is not a profile name ({PROFILE_RULE}).")
    return name


def token_file_name(token_file: str, profile: str) -> str:
    """The name of ``profile``'s token file: ``token_file`` itself for ``default``, else
    ``<stem>.<profile>.<ext>`` (``claude_code_oauth.work.json``)."""
    if profile == DEFAULT_PROFILE:
        return token_file
    stem, dot, ext = token_file.rpartition(".")
    return f"{stem}.{profile}.{ext}" if dot and stem else f"{token_file}.{profile}"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (brackets allowed)."""
    host = host.strip().lower()
    if host in _LOOPBACK_NAMES:
        return True
    host = host.strip("[]")
    parts = host.split(".")
    if len(parts) == 4 and parts[0] == "127":
        # isascii(): str.isdigit() also accepts digits such as "²" that int() refuses.
        return all(p.isascii() and p.isdigit() and 0 <= int(p) <= 255 for p in parts)
    if ":" in host:
        import ipaddress

        try:
            return ipaddress.IPv6Address(host).is_loopback
        except ValueError:
            return False
    return False


def masked_url(value: str) -> str:
    """``value`` with any user-info (``user:password@``) replaced by ``***@``: what a
    message may show of a configured URL. Works on text that is not a valid URL too."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc = rest[:end]
    if "@" not in netloc:
        return value
    masked = "***@" + netloc.rpartition("@")[2] + rest[end:]
    return f"{scheme}{sep}{masked}" if sep else masked


def url_host(url: str) -> str:
    """The ``host[:port]`` of ``url``, never its user-info (what every message names)."""
    netloc = masked_url(url).partition("://")[2].split("/", 1)[0].split("?", 1)[0]
    return netloc.rpartition("@")[2] or masked_url(url)


def check_endpoint(value: str, label: str) -> str:
    """``value`` if it is an absolute https URL (or http to a loopback host), else
    ConfigError. No message shows the URL's user-info (a password): it is masked."""
    from urllib.parse import urlsplit

    shown = repr(masked_url(value))
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"Invalid {label}: {shown} is not a valid URL.") from None
    if parts.username or parts.password:
        raise ConfigError(f"Invalid {label}: credentials in the URL ({shown}) are not allowed.")
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(f"Invalid {label}: {shown} must be an absolute https:// URL.")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigError(
            f"Invalid {label}: {shown} is plain http to a non-loopback host; use https://."
        )
    try:
        host.encode("idna")  # what name resolution will do: "a..b" and "xn--" fail
    except UnicodeError:
        raise ConfigError(f"Invalid {label}: {shown} has an invalid host name.") from None
    return value


def default_data_dir(environ: Mapping[str, str] | None = None) -> str:
    """Code Puppy's data directory: ``$XDG_DATA_HOME/code_puppy`` or ``~/.code_puppy``."""
    environ = os.environ if environ is None else environ
    xdg = environ.get("XDG_DATA_HOME")
    if xdg:
        return os.path.join(xdg, "code_puppy")
    home = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".code_puppy")
