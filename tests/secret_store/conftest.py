"""A real gnome-keyring on a private session bus, once per test session.

The fixture fails loudly when the daemon cannot be started (never skips): `make test`
installs dbus-daemon and gnome-keyring when they are missing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.private_keyring import PrivateKeyring

#: Deadline for calls that are expected to succeed: generous, so a loaded machine does
#: not fail them; the tests about deadlines set their own short ones.
CALM_TIMEOUT = 30.0

_profiles = itertools.count()


@pytest.fixture(scope="session")
def private_keyring() -> Iterator[PrivateKeyring]:
    with PrivateKeyring() as keyring:
        yield keyring


@pytest.fixture
def keyring_env(private_keyring: PrivateKeyring) -> dict[str, str]:
    return dict(private_keyring.env)


@pytest.fixture
def secret_service(keyring_env: dict[str, str]) -> SecretServiceStore:
    return SecretServiceStore(environ=keyring_env, timeout=CALM_TIMEOUT)


@pytest.fixture
def profile() -> str:
    """A profile name no other test in this session uses."""
    return f"test-{next(_profiles)}"
