"""choose: the store for each system, opened without touching the keyring; and what the
fast path's modules import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from claude_code_oauth.secret_store.choose import backend_for, open_secret_store
from claude_code_oauth.secret_store.keyring_library import KeyringLibraryStore
from claude_code_oauth.secret_store.secret_service import SecretServiceStore


@pytest.mark.parametrize(
    ("platform", "backend", "name"),
    [
        ("linux", "secret-service", "the Secret Service"),
        ("freebsd14", "secret-service", "the Secret Service"),
        ("darwin", "keyring-library", "the macOS Keychain"),
        ("win32", "keyring-library", "Windows Credential Manager"),
    ],
)
def test_auto_picks_the_store_of_the_system(platform: str, backend: str, name: str) -> None:
    assert backend_for(platform) == backend
    store = open_secret_store(platform=platform, timeout=1.5)
    assert store.name == name
    assert store.timeout == 1.5


def test_a_backend_can_be_named() -> None:
    assert isinstance(open_secret_store("keyring-library"), KeyringLibraryStore)
    assert isinstance(open_secret_store("secret-service"), SecretServiceStore)
    with pytest.raises(ValueError, match="unknown"):
        open_secret_store("plaintext")


def test_a_secret_service_read_imports_nothing_heavy(
    secret_service: SecretServiceStore, keyring_env: dict[str, str]
) -> None:
    """The token fast path may read the Secret Service: no keyring, no socket module (its
    enums cost milliseconds), no threads, no HTTP — a whole read, in a fresh process."""
    secret_service.set("import-check", b"value")
    code = (
        "import json, sys\n"
        "from claude_code_oauth.secret_store.choose import open_secret_store\n"
        "value = open_secret_store('secret-service', timeout=30).get('import-check')\n"
        "heavy = ['keyring', 'socket', 'threading', 'hashlib', 'httpx', 'logging', 'jeepney']\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "print(json.dumps({'read': value.decode(), 'loaded': loaded}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=keyring_env,
    )
    assert json.loads(done.stdout) == {"read": "value", "loaded": []}
