"""The public Python API: a signed-in Claude for your own code, in a few typed names.

::

    from claude_code_oauth.api import anthropic_client

    client = anthropic_client()  # the active profile's sign-in
    reply = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hi"}]
    )

What a caller may rely on:

* ``profile``: every function takes one (``None``: the active profile, as the
  ``claude-code-oauth`` command would pick it). Settings come from the configuration and
  its ``CLAUDE_CODE_OAUTH_*`` environment overrides, as for the command.
* :func:`credential` returns the current access token — refreshed first if it is about to
  expire, with at most one refresh across every process — or, for a Console sign-in, its
  API key. Nothing else here returns a secret, and no error ever holds one.
* :func:`auth` signs each request of an httpx client with the sign-in the profile has
  when it is called: an OAuth token (``Authorization: Bearer``, the OAuth beta merged
  into ``anthropic-beta``, one replacement token and one retry after a 401 or a revoked
  token's 403, as Claude Code does) or a Console API key (``x-api-key``, no retry). Every
  answer it sees keeps ``claude-code-oauth usage`` current.
* :func:`anthropic_client` and :func:`async_anthropic_client` are the anthropic SDK's
  clients on such an HTTP client (the SDK's own HTTP library, httpx or httpx2), at the
  configured ``api_base_url``, with our User-Agent. Keyword options go to the SDK's
  constructor. The SDK must be installed (``pip install anthropic``).
* :func:`usage` is what ``claude-code-oauth usage --json`` prints (stable keys), from
  local files only.
* Failures are :class:`ClaudeOAuthError` subclasses whose ``str()`` is one line saying
  what happened and what to do: :class:`NotSignedIn`, :class:`LoginRequired` (the login
  ended), and :class:`ClaudeApiError` for Claude's answers (:func:`raise_for_answer`
  turns a response into one: :class:`UsageLimitReached`, :class:`CreditsRequired`,
  :class:`ThirdPartyRefused`, … — the refusal table in ``docs/refusals-and-usage.md``).

Importing this module imports httpx, not the anthropic SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from . import USER_AGENT
from .config import Settings, load_settings
from .errors import (
    ApiUnavailable,
    ClaudeApiError,
    ClaudeOAuthError,
    CreditsRequired,
    ExtraUsageBlocked,
    LoginRequired,
    NotSignedIn,
    ThirdPartyRefused,
    UsageLimitReached,
)
from .net.claude_answers import error_for_response, raise_for_answer

if TYPE_CHECKING:
    import anthropic

__all__ = [
    "ApiUnavailable",
    "ClaudeApiError",
    "ClaudeOAuthError",
    "CreditsRequired",
    "ExtraUsageBlocked",
    "LoginRequired",
    "NotSignedIn",
    "Settings",
    "ThirdPartyRefused",
    "UsageLimitReached",
    "anthropic_client",
    "async_anthropic_client",
    "auth",
    "credential",
    "error_for_response",
    "raise_for_answer",
    "settings",
    "usage",
]

#: What the SDK is given as its credential: never sent (the auth replaces it on every
#: request), it only keeps the SDK from reading ``ANTHROPIC_API_KEY``.
_PLACEHOLDER = "set-per-request-by-claude-code-oauth"


def settings(profile: str | None = None) -> Settings:
    """The effective settings for ``profile`` (``None``: the active profile)."""
    return load_settings(None if profile is None else {"profile": profile})


def credential(profile: str | None = None) -> str:
    """The profile's current access token (refreshed if needed) or Console API key."""
    from .tokens.provider import provider_for

    return provider_for(settings(profile)).get_credential().secret


def auth(profile: str | None = None, *, http_library: Any = httpx) -> httpx.Auth:
    """An auth that signs every request with the profile's sign-in (see the module's
    docstring). ``http_library``: ``httpx`` (default) or ``httpx2``, whichever the client
    it is given to comes from."""
    return _auth_for(settings(profile), http_library)


def _auth_for(config: Settings, http_library: Any) -> httpx.Auth:
    from .net.api_key_auth import ApiKeyAuth
    from .net.bearer_auth import OAuthBearerAuth
    from .tokens import store as token_store
    from .tokens.api_key import ApiKeyRecord
    from .tokens.keyring_item import StoreOpener
    from .tokens.provider import provider_for

    record = token_store.load_sign_in(config.token_path, stores=StoreOpener(settings=config))
    made: httpx.Auth
    if isinstance(record, ApiKeyRecord):
        made = ApiKeyAuth(record.api_key, config)
    else:
        made = OAuthBearerAuth(provider_for(config), config)
    if http_library is httpx:
        return made
    # The same flows on another httpx-compatible library's Auth (httpx2's, for one).
    flows = {k: v for k, v in vars(type(made)).items() if k not in ("__dict__", "__weakref__")}
    rebased: type[httpx.Auth] = type(type(made).__name__, (http_library.Auth,), flows)
    moved = object.__new__(rebased)
    moved.__dict__.update(vars(made))
    return moved


def _sdk_client(profile: str | None, options: dict[str, Any], *, asynchronous: bool) -> Any:
    """The SDK's client (``AsyncAnthropic`` if ``asynchronous``) on an HTTP client of the
    SDK's own library that signs every request as the profile."""
    import anthropic

    from .models.host_stack import sdk_http
    from .net.bounded_decoding import ACCEPT

    config = settings(profile)
    http_library = sdk_http()
    http_class = http_library.AsyncClient if asynchronous else http_library.Client
    http_client = http_class(
        auth=_auth_for(config, http_library),
        follow_redirects=False,
        headers={"Accept-Encoding": ACCEPT},
        timeout=http_library.Timeout(600.0, connect=15.0),
    )
    sdk_class = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
    return sdk_class(
        base_url=config.api_base_url,
        auth_token=_PLACEHOLDER,
        http_client=http_client,
        default_headers={"User-Agent": USER_AGENT, **options.pop("default_headers", {})},
        **options,
    )


def anthropic_client(profile: str | None = None, **options: Any) -> anthropic.Anthropic:
    """The anthropic SDK's client, signed in as the profile (see the module's docstring)."""
    client: anthropic.Anthropic = _sdk_client(profile, options, asynchronous=False)
    return client


def async_anthropic_client(profile: str | None = None, **options: Any) -> anthropic.AsyncAnthropic:
    """The anthropic SDK's async client, signed in as the profile (token refreshes run
    off the event loop)."""
    client: anthropic.AsyncAnthropic = _sdk_client(profile, options, asynchronous=True)
    return client


def usage(profile: str | None = None) -> dict[str, Any]:
    """The profile's usage as ``claude-code-oauth usage --json`` prints it (local files
    only: what the last answers said). Raises :class:`ClaudeOAuthError` for a damaged
    token file."""
    from .app.usage import collect

    return collect(settings(profile)).report
