"""Configuration: the seed keys, their environment overrides, validation on use.

``CLAUDE_CODE_OAUTH_CONFIG`` holds every key with its default. Each key ``k`` can
be overridden by the environment variable ``CLAUDE_CODE_OAUTH_<K>`` (upper case),
for example ``CLAUDE_CODE_OAUTH_TOKEN_URL`` or
``CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE=8765-8795``.

Values are validated when a command uses them, not when :class:`Settings` is
built, so ``status`` still works while an unused endpoint is misconfigured. A bad
value raises :class:`~claude_code_oauth.errors.ConfigError` naming the key and
the variable to fix.

The rules a value must follow (profile names, endpoints, loopback hosts) live in
:mod:`.config_rules`, the layer below this one, which is where callers import them
from: every name has one home. This module is on the ``token`` fast path: it imports
only ``os`` (and those rules).
"""

from __future__ import annotations

import os

from .config_rules import (
    CLAUDE_CODE_OAUTH_CONFIG,
    DEFAULT_PROFILE,
    EXTRA_USAGE_MODES,
    MAX_KEYRING_SECONDS,
    MAX_SECONDS,
    PROFILE_RULE,
    RECEIVER_HOSTS,
    STORAGE_MODES,
    check_endpoint,
    default_data_dir,
    env_name,
    is_profile_name,
    masked_url,
    token_file_name,
)
from .errors import ConfigError

__all__ = ["Settings", "load_settings"]

# Not `typing.TYPE_CHECKING`: importing typing costs start-up time on the token path.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


#: Keys whose value is checked through the property that uses it.
_CHECKED_AS = {"token_file": "token_path", "models_file": "models_path"}


class Settings:
    """Resolved configuration. Read attributes; each validates its value on access.

    ``overrides`` (for example from the Code Puppy adapter) win over the
    environment, which wins over the defaults.
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._overrides = dict(overrides or {})
        #: The profile and where it came from, resolved on first use (see :attr:`profile`).
        self._profile: tuple[str, str] | None = None
        unknown = set(self._overrides) - set(CLAUDE_CODE_OAUTH_CONFIG)
        if unknown:
            raise ConfigError(f"Unknown configuration key(s): {', '.join(sorted(unknown))}.")

    # -- raw access ---------------------------------------------------------

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment these settings read (what a keyring client connects with)."""
        return self._environ

    def source(self, key: str) -> str:
        """Where ``key``'s value comes from: ``override``, the env var name, or ``default``."""
        if key in self._overrides:
            return "override"
        if env_name(key) in self._environ:
            return env_name(key)
        return "default"

    def raw(self, key: str) -> Any:
        if key in self._overrides:
            return self._overrides[key]
        name = env_name(key)
        if name in self._environ:
            return self._environ[name]
        return CLAUDE_CODE_OAUTH_CONFIG[key]

    def checked(self, key: str) -> Any:
        """``key``'s value the way the commands use it (``token_file`` as the token path,
        ``models_file`` as the models path); raises ConfigError when it is not valid."""
        return getattr(self, _CHECKED_AS.get(key, key))

    def _bad(self, key: str, why: str) -> ConfigError:
        where = self.source(key)
        origin = "" if where == "default" else f" (from {where})"
        return ConfigError(f"Invalid configuration {key}{origin}: {why}.")

    def _str(self, key: str) -> str:
        value = str(self.raw(key)).strip()
        if not value:
            raise self._bad(key, "it must not be empty")
        return value

    def _seconds(self, key: str) -> float:
        value = self.raw(key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._bad(key, f"{value!r} is not a number of seconds") from None
        if not number > 0 or number != number or number == float("inf"):
            raise self._bad(key, f"{value!r} must be a positive number of seconds")
        # Larger values are mistakes, and past ~292 years every lock wait overflows.
        if number > MAX_SECONDS:
            raise self._bad(key, f"{value!r} is more than a day ({MAX_SECONDS} s)")
        return number

    def _endpoint(self, key: str) -> str:
        """An absolute URL that is https, or http only towards a loopback host."""
        where = self.source(key)
        origin = "" if where == "default" else f" (from {where})"
        return check_endpoint(self._str(key), f"configuration {key}{origin}")

    # -- endpoints ----------------------------------------------------------

    @property
    def auth_url(self) -> str:
        return self._endpoint("auth_url")

    @property
    def console_auth_url(self) -> str:
        """The Console's authorize URL (``login --console``)."""
        return self._endpoint("console_auth_url")

    @property
    def create_api_key_url(self) -> str:
        """Where a Console login's access token creates an API key."""
        return self.api_base_url + "/api/oauth/claude_cli/create_api_key"

    @property
    def token_url(self) -> str:
        return self._endpoint("token_url")

    @property
    def api_base_url(self) -> str:
        return self._endpoint("api_base_url").rstrip("/")

    @property
    def manual_redirect_uri(self) -> str:
        return self._endpoint("manual_redirect_uri")

    @property
    def profile_url(self) -> str:
        return self.api_base_url + "/api/oauth/profile"

    # -- client -------------------------------------------------------------

    @property
    def client_id(self) -> str:
        return self._str("client_id")

    @property
    def scope(self) -> str:
        return " ".join(self._str("scope").split())

    @property
    def redirect_host(self) -> str:
        from urllib.parse import urlsplit

        value = self._str("redirect_host").rstrip("/")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            port = -1
        # Exactly the names the loopback receiver answers to (it refuses other Hosts).
        if (
            parts.scheme != "http"
            or parts.hostname not in RECEIVER_HOSTS
            or port is not None
            or "@" in parts.netloc
            or parts.path
        ):
            raise self._bad(
                "redirect_host",
                f"{masked_url(value)!r} must be http://localhost, http://127.0.0.1 or "
                "http://[::1], without a port",
            )
        return value

    @property
    def redirect_path(self) -> str:
        value = self._str("redirect_path").strip("/")
        if not value or any(c in value for c in "?#% "):
            raise self._bad("redirect_path", f"{value!r} is not a plain path")
        return "/" + value

    def redirect_uri(self, port: int) -> str:
        """The loopback redirect URI for ``port``; byte-identical wherever it is used."""
        return f"{self.redirect_host}:{port}{self.redirect_path}"

    @property
    def callback_port_range(self) -> tuple[int, int]:
        value = self.raw("callback_port_range")
        try:
            if isinstance(value, (tuple, list)):
                low, high = (int(v) for v in value)
            else:
                text = str(value).strip()
                low_s, sep, high_s = text.partition("-")
                low = int(low_s)
                high = int(high_s) if sep else low
        except (TypeError, ValueError):
            raise self._bad(
                "callback_port_range", f"{value!r} is not a range such as 8765-8795"
            ) from None
        if not (1 <= low <= high <= 65535):
            raise self._bad(
                "callback_port_range", f"{value!r} must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535"
            )
        return low, high

    @property
    def callback_timeout(self) -> float:
        return self._seconds("callback_timeout")

    # -- files --------------------------------------------------------------

    @property
    def data_dir(self) -> str:
        value = str(self.raw("data_dir") or "").strip()
        if not value:
            return default_data_dir(self._environ)
        if value == "~" or value.startswith("~/"):
            home = self._environ.get("HOME") or os.path.expanduser("~")
            value = home + value[1:]
        return os.path.abspath(os.path.expanduser(value))

    def _filename(self, key: str) -> str:
        value = self._str(key)
        if os.sep in value or value in (".", ".."):
            raise self._bad(key, f"{value!r} must be a file name, not a path")
        return value

    @property
    def profile(self) -> str:
        """The sign-in in use: ``--profile`` (an override), ``CLAUDE_CODE_OAUTH_PROFILE``,
        else the active-profile file, else ``default``.

        Resolved once per :class:`Settings` object, so every path it derives stays
        the same while a command runs even if another process switches profiles.
        A bad name, or an active-profile file that names none, is a ConfigError.
        """
        if self._profile is None:
            self._profile = self._resolve_profile()
        return self._profile[0]

    @property
    def profile_origin(self) -> str:
        """Where :attr:`profile` came from: ``override``, the environment variable's
        name, ``active profile file`` or ``default``."""
        if self._profile is None:
            self._profile = self._resolve_profile()
        return self._profile[1]

    def _resolve_profile(self) -> tuple[str, str]:
        value = str(self.raw("profile") or "").strip()
        if value:
            if not is_profile_name(value):
                raise self._bad("profile", f"{value!r} is not a profile name ({PROFILE_RULE})")
            return value, self.source("profile")
        from .profiles.active import read_active_profile

        name = read_active_profile(self.active_profile_path)
        if name is None:
            return DEFAULT_PROFILE, "default"
        return name, "active profile file"

    def with_profile(self, name: str) -> Settings:
        """The same settings for profile ``name`` (validated when used, like any value)."""
        return Settings({**self._overrides, "profile": name}, self._environ)

    @property
    def active_profile_path(self) -> str:
        """The file that records the active profile: ``<stem>.active_profile`` beside the
        token files (``_`` is not allowed in profile names, so no profile's file has it)."""
        stem = self._filename("token_file")
        if stem.endswith(".json"):
            stem = stem[: -len(".json")]
        return os.path.join(self.data_dir, f"{stem}.active_profile")

    @property
    def token_path(self) -> str:
        """The profile's token file: ``token_file`` for ``default``, else
        ``<stem>.<profile>.<ext>`` beside it (``claude_code_oauth.work.json``)."""
        name = token_file_name(self._filename("token_file"), self.profile)
        return os.path.join(self.data_dir, name)

    def side_path(self, kind: str) -> str:
        """A per-profile file beside the token file, for example the usage snapshot:
        ``<stem>.<profile>.<kind>.json`` (``claude_code_oauth.default.usage.json``).

        It never equals any profile's token file: those have exactly one name
        between the stem and the extension, and profile names have no dots.
        """
        stem = self._filename("token_file")
        if stem.endswith(".json"):
            stem = stem[: -len(".json")]
        return os.path.join(self.data_dir, f"{stem}.{self.profile}.{kind}.json")

    @property
    def models_path(self) -> str:
        return os.path.join(self.data_dir, self._filename("models_file"))

    # -- tokens and HTTP ----------------------------------------------------

    @property
    def refresh_margin(self) -> float | None:
        """Seconds before expiry to refresh; ``None`` means automatic."""
        value = self.raw("refresh_margin")
        if isinstance(value, str) and value.strip().lower() in ("", "auto"):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._bad("refresh_margin", f"{value!r} is not 'auto' or seconds") from None
        if not 0 <= number < float("inf"):
            raise self._bad("refresh_margin", f"{value!r} must be zero or more seconds")
        return number

    @property
    def http_timeout(self) -> float:
        return self._seconds("http_timeout")

    @property
    def lock_timeout(self) -> float:
        return self._seconds("lock_timeout")

    @property
    def prefix(self) -> str:
        return self._str("prefix")

    @property
    def default_context_length(self) -> int:
        value = self.raw("default_context_length")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise self._bad("default_context_length", f"{value!r} is not an integer") from None
        if number <= 0:
            raise self._bad("default_context_length", "it must be positive")
        return number

    @property
    def api_key_env_var(self) -> str:
        value = self._str("api_key_env_var")
        if not value.replace("_", "a").isalnum() or value[0].isdigit():
            raise self._bad("api_key_env_var", f"{value!r} is not a valid variable name")
        return value

    @property
    def anthropic_version(self) -> str:
        return self._str("anthropic_version")

    @property
    def anthropic_beta(self) -> str:
        return self._str("anthropic_beta")

    @property
    def usage_url(self) -> str:
        return self.api_base_url + "/api/oauth/usage"

    @property
    def extra_usage(self) -> str:
        """``warn`` (default), ``block`` or ``allow`` — see :mod:`.account.extra_usage_guard`."""
        value = str(self.raw("extra_usage")).strip().lower()
        if value not in EXTRA_USAGE_MODES:
            raise self._bad(
                "extra_usage", f"{value!r} is not one of {', '.join(EXTRA_USAGE_MODES)}"
            )
        return value

    # -- where the secrets live ---------------------------------------------

    @property
    def storage(self) -> str:
        """``file`` (default), ``keyring`` or ``auto``: where a new sign-in's secrets go.
        A sign-in already saved stays where its file says its secrets are."""
        value = str(self.raw("storage")).strip().lower()
        if value not in STORAGE_MODES:
            raise self._bad("storage", f"{value!r} is not one of {', '.join(STORAGE_MODES)}")
        return value

    @property
    def keyring_timeout(self) -> float:
        """Seconds one OS keyring call may take (more than 0, at most 60)."""
        number = self._seconds("keyring_timeout")
        if number > MAX_KEYRING_SECONDS:
            value = self.raw("keyring_timeout")
            raise self._bad(
                "keyring_timeout", f"{value!r} is more than {MAX_KEYRING_SECONDS} seconds"
            )
        return number


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from the defaults, the process environment and ``overrides``."""
    return Settings(overrides)
