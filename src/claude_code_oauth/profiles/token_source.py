"""Where a model entry gets its tokens: the active profile, looked up per request,
or the one profile it is pinned to.

:class:`ProfileTokenSource` has the methods the model's auth layer calls on a
token provider (``get_credential``, ``get_access_token`` and ``replace_rejected``)
and hands each call to the shared
:class:`~claude_code_oauth.tokens.provider.TokenProvider` of the right profile,
so single-flight refresh stays per token file. A profile signed in through the
Console serves its API key (``get_credential``), whatever entry asks.

What a caller may rely on:

* A source that follows the active profile asks which profile is active on every
  call: one ``stat`` of the active-profile file (it is re-read only when it
  changed). Switching therefore changes which account serves the next request,
  with no re-registration and no new model. ``CLAUDE_CODE_OAUTH_PROFILE`` (or a
  ``profile`` override in the base settings) fixes the profile instead.
* ``replace_rejected(token)`` goes to the provider that handed ``token`` out,
  even if the active profile changed in between (that request began there); the
  replacement it returns counts as handed out by that provider too.
* Not signed in: :class:`~claude_code_oauth.errors.NotSignedIn` naming the
  profile ("Not signed in to Claude (profile work).") and how to sign in.
* Never switches profiles itself.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from ..config import Settings
from ..config_rules import DEFAULT_PROFILE
from ..errors import ClaudeOAuthError, NotSignedIn
from ..hints import anywhere
from ..tokens.credential import Credential
from ..tokens.provider import TokenProvider, provider_for
from ..tokens.store import TokenRecord
from .active import ActiveProfileWatch

_T = TypeVar("_T")

#: Tokens remembered for ``replace_rejected`` (those of requests still in flight).
_REMEMBERED_TOKENS = 16


def login_hint(profile: str, *, following: bool) -> str:
    """How to sign in to ``profile`` (and, for a following entry, how to switch)."""
    hints = anywhere()
    hint = f"Sign in with {hints.login(profile)}"
    if following:
        hint += f", or make another profile active with {hints.switch('NAME')}"
    return hint + "."


class ProfileTokenSource:
    """Access tokens for one model entry: ``pinned`` profile, or the active one."""

    def __init__(self, base: Settings, pinned: str | None = None) -> None:
        self._base = base
        fixed = pinned
        if fixed is None and str(base.raw("profile") or "").strip():
            fixed = base.profile  # an override or CLAUDE_CODE_OAUTH_PROFILE wins
        self._fixed = fixed
        self._watch = None if fixed is not None else ActiveProfileWatch(base.active_profile_path)
        self._settings: dict[str, Settings] = {}
        self._issued: OrderedDict[str, TokenProvider] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def following(self) -> bool:
        """True when the profile is looked up per call (the entry is not pinned)."""
        return self._watch is not None

    @property
    def profile(self) -> str:
        """The profile serving the next call (may raise ProfileError for a bad file)."""
        if self._watch is None:
            assert self._fixed is not None
            return self._fixed
        return self._watch.current() or DEFAULT_PROFILE

    def settings(self) -> Settings:
        """Settings of the profile serving the next call (one object per profile)."""
        name = self.profile
        settings = self._settings.get(name)
        if settings is None:
            settings = self._settings.setdefault(name, self._base.with_profile(name))
        return settings

    def provider(self) -> TokenProvider:
        """The shared provider of the profile serving the next call."""
        return provider_for(self.settings())

    def current(self) -> TokenRecord | None:
        """The stored record of the profile serving the next call (no network)."""
        return self.provider().current()

    def get_credential(self) -> Credential:
        """The credential of the profile serving the next call: its API key (a Console
        sign-in) or a usable access token."""
        provider = self.provider()
        credential = self._not_signed_in_names_profile(provider, provider.get_credential)
        if not credential.is_api_key:
            self._remember(credential.secret, provider)
        return credential

    def get_access_token(self) -> str:
        provider = self.provider()
        token = self._not_signed_in_names_profile(provider, provider.get_access_token)
        self._remember(token, provider)
        return token

    def _remember(self, token: str, provider: TokenProvider) -> None:
        with self._lock:
            self._issued[token] = provider
            self._issued.move_to_end(token)
            while len(self._issued) > _REMEMBERED_TOKENS:
                self._issued.popitem(last=False)

    def replace_rejected(self, rejected: str) -> str:
        with self._lock:
            provider = self._issued.get(rejected)
        if provider is None:
            provider = self.provider()
        replacement = self._not_signed_in_names_profile(
            provider, lambda: provider.replace_rejected(rejected)
        )
        # The retry carries the replacement: its answer (usage, another 401) belongs to
        # the same profile, whatever is active by then.
        self._remember(replacement, provider)
        return replacement

    def settings_for_token(self, token: str) -> Settings | None:
        """Settings of the profile that issued ``token`` (one this source handed out
        recently), else ``None``."""
        with self._lock:
            provider = self._issued.get(token)
        return provider.settings if provider is not None else None

    def _not_signed_in_names_profile(self, provider: TokenProvider, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except NotSignedIn:
            profile = provider.settings.profile
            raise NotSignedIn(
                f"Not signed in to Claude (profile {profile}).",
                hint=login_hint(profile, following=self.following),
            ) from None


#: Variable name → the provider allowed to write it (the active profile's).
_exported: dict[str, TokenProvider] = {}
#: (token file, variable name) pairs whose provider already has our listener.
_listening: set[tuple[str, str]] = set()
_exported_lock = threading.Lock()


def export_active_token(base: Settings) -> str | None:
    """Keep ``os.environ[api_key_env_var]`` holding the active profile's token.

    Sets it now (or removes it when the active profile has no usable token, so
    the variable never holds another account's token) and keeps it current as that
    profile's provider rotates tokens. A provider that stops being the active
    one no longer writes the variable. Returns the active profile's name.
    """
    source = ProfileTokenSource(base)
    name = base.api_key_env_var
    provider = source.provider()
    with _exported_lock:
        _exported[name] = provider
        if (provider.path, name) not in _listening:
            _listening.add((provider.path, name))

            def update(token: str, provider: TokenProvider = provider) -> None:
                if _exported.get(name) is provider:
                    os.environ[name] = token

            provider.add_listener(update)
    try:
        os.environ[name] = provider.get_access_token()
    except ClaudeOAuthError:
        # Not signed in, or the login is dead: never leave another account's token there.
        os.environ.pop(name, None)
    return provider.settings.profile
