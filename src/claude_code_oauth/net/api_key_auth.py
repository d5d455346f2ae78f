"""Requests with an Anthropic API key (a Console sign-in): ``x-api-key``, never OAuth.

:func:`apply_api_key_headers` makes a request's headers (httpx or httpx2) carry
the key the way Claude's API takes it: ``x-api-key``, no ``Authorization``, the
OAuth beta taken out of ``anthropic-beta`` (other betas kept, never an identity
beta), ``anthropic-version`` if absent, and optionally our User-Agent.
:class:`ApiKeyAuth` is the ``httpx.Auth`` that does it for every request. An API
key has no refresh: a 401 is returned to the caller as it is (see
:func:`claude_code_oauth.net.claude_answers.error_for_answer` with ``api_key=True``).
"""

from __future__ import annotations

from collections.abc import Generator, MutableMapping
from typing import TYPE_CHECKING

import httpx

from .beta_header import without_beta

if TYPE_CHECKING:
    from ..config import Settings


def apply_api_key_headers(
    headers: MutableMapping[str, str],
    key: str,
    *,
    version: str | None,
    oauth_beta: str | None,
    user_agent: str | None = None,
) -> None:
    """Make ``headers`` carry ``key`` as Claude's API takes an API key, with no OAuth left."""
    headers.pop("Authorization", None)
    headers["x-api-key"] = key
    if user_agent:
        headers["User-Agent"] = user_agent
    if version and "anthropic-version" not in headers:
        headers["anthropic-version"] = version
    if "anthropic-beta" in headers:
        betas = without_beta(headers.get("anthropic-beta"), oauth_beta)
        if betas:
            headers["anthropic-beta"] = betas
        else:
            del headers["anthropic-beta"]


class ApiKeyAuth(httpx.Auth):
    """``x-api-key`` with ``key`` on every request; no retry (a key has no refresh).

    With ``settings`` it also adds ``anthropic-version`` (if absent) and keeps the
    configured OAuth beta out. httpx runs :meth:`auth_flow` for sync and async
    clients alike.
    """

    def __init__(self, key: str, settings: Settings | None = None) -> None:
        self._key = key
        self._version = settings.anthropic_version if settings else None
        self._beta = settings.anthropic_beta if settings else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        apply_api_key_headers(
            request.headers, self._key, version=self._version, oauth_beta=self._beta
        )
        yield request
