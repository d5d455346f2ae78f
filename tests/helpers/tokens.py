"""Seed token files from the emulator, compare tokens without showing them, run workers.

Tokens are never printed or put in an assertion's operands: a test compares secrets
with :func:`assert_same_secret` (or compares :func:`digest` values), so a failure
shows only short hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.store import TokenRecord

WORKER = Path(__file__).with_name("token_worker.py")
TOKEN_URL_PATH = "/v1/oauth/token"

#: The exact keys of `status --json` (a stable interface).
STATUS_KEYS = frozenset(
    {
        "profile",
        "signed_in",
        "needs_login",
        "account",
        "organization",
        "access_token_expires_at",
        "access_token_expires_in",
        "login_expires_at",
        "login_expires_in",
        "login_warning",
        "scopes",
        "token_file",
        "token_file_mode",
        "refresh_not_before",
        "last_error",
        "verified",
        "error",
        "credential",
        "api_key",
        "credentials",
    }
)

#: Deadline of the keyring calls a test makes to set itself up (generous: a loaded
#: machine must not fail them; the tests about deadlines set their own).
KEYRING_SETUP_TIMEOUT = 30.0


def seed_in_keyring(
    emulator: ClaudeEmulator,
    path: str | os.PathLike[str],
    bus_env: Mapping[str, str],
    item: str,
    *,
    expires_in: float,
) -> TokenRecord:
    """:func:`seed`, then the login moved as a sign-in under ``storage = keyring`` saves
    it: its secrets in item ``item`` of the Secret Service ``bus_env`` reaches (its
    ``DBUS_SESSION_BUS_ADDRESS``), then the token file at ``path`` without them."""
    from claude_code_oauth.tokens.keyring_item import KeyringTarget, StoreOpener

    record = seed(emulator, path, expires_in=expires_in)
    stores = StoreOpener(KEYRING_SETUP_TIMEOUT, bus_env)
    target = KeyringTarget("secret-service", item)
    token_store.save(os.fspath(path), record, secrets=target, stores=stores)
    return record


def digest(token: str | None) -> str:
    """A short, non-secret fingerprint of ``token``."""
    return hashlib.sha256((token or "").encode()).hexdigest()[:16]


def assert_same_secret(actual: object, expected: object, what: str = "the secret") -> None:
    """Fail unless ``actual == expected`` — tokens, codes, API keys, or tuples or lists of
    them — without either value appearing in the failure.

    Why not ``assert token == record.access_token``: when it fails, pytest prints both
    operands (and for ``assert same(a, b)`` the call's arguments), so the secret lands in
    the test's output — where the suite's secret scan then reports a leak instead of the
    mismatch, and where a CI log would keep it. This module is not rewritten by pytest,
    and this frame is hidden from the traceback (which would list its arguments): the
    failure names ``what`` and short SHA-256 fingerprints (:func:`digest`) only.
    """
    __tracebackhide__ = True
    if actual == expected:
        return
    raise AssertionError(f"{what} differs: {_fingerprint(actual)} != {_fingerprint(expected)}")


def _fingerprint(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fingerprint(item) for item in value) + "]"
    if value is None:
        return "None"
    return "sha256:" + digest(str(value))


def seed(
    emulator: ClaudeEmulator,
    path: str | os.PathLike[str],
    *,
    expires_in: float,
    lifetime: float | None = None,
    login_ends_in: float | None = None,
    email: str | None = None,
    **fields: Any,
) -> TokenRecord:
    """Write a login the emulator knows (as the account ``email``, default the first),
    with the access token expiring in ``expires_in`` seconds (negative: already
    expired locally, though still valid at the emulator)."""
    body = emulator.issue_login(email=email)
    now = time.time()
    record = TokenRecord.from_token_response(body, now=now)
    record.expires_at = now + expires_in
    record.obtained_at = record.expires_at - (lifetime or body["expires_in"])
    if login_ends_in is not None:
        record.refresh_token_expires_at = now + login_ends_in
    for key, value in fields.items():
        setattr(record, key, value)
    token_store.save(os.fspath(path), record)
    return record


def stored(path: str | os.PathLike[str]) -> TokenRecord:
    record = token_store.load(os.fspath(path))
    assert record is not None, "the token file is missing"
    return record


def token_requests(emulator: ClaudeEmulator) -> int:
    """Requests the emulator's token endpoint received (any outcome)."""
    return sum(1 for r in emulator.requests if r.path == TOKEN_URL_PATH)


def settings_for(env: Mapping[str, str], **overrides: Any) -> Settings:
    """Settings from a client environment plus configuration overrides."""
    return Settings(overrides, environ=dict(env))


def worker_command(*args: str) -> list[str]:
    return [sys.executable, str(WORKER), *args]


def run_worker(env: Mapping[str, str], *args: str, timeout: float = 60) -> dict[str, Any]:
    """Run a worker to completion; its last stdout line is its JSON report."""
    done = subprocess.run(
        worker_command(*args),
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise AssertionError(f"worker {args[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def start_worker(env: Mapping[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        worker_command(*args),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen[str], expected: str, timeout: float = 30) -> None:
    """Block until the worker prints ``expected`` (it flushes each marker line)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"worker exited before {expected!r}: {proc.wait()}")
        if line.strip() == expected:
            return
    raise AssertionError(f"worker did not print {expected!r} in {timeout} s")


def files_containing(roots: list[Path], needle: str, *, skip: set[Path]) -> list[Path]:
    """Every regular file under ``roots`` (not in ``skip``) whose bytes contain ``needle``."""
    found = []
    raw = needle.encode()
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = Path(dirpath, name)
                if path in skip or path.is_symlink() or not path.is_file():
                    continue
                try:
                    if raw in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


def login_record(n: int, tag: str, **fields: Any) -> TokenRecord:
    """The ``n``-th sign-in of a test file: tokens of the real shape, unique to ``tag``
    and ``n`` (never a real token), obtained at a fixed instant; ``fields`` replace any."""
    values: dict[str, Any] = {
        "access_token": "sk-ant-oat01-" + f"{tag}-access-{n}-" + "a" * 40,
        "refresh_token": "sk-ant-ort01-" + f"{tag}-refresh-{n}-" + "r" * 40,
        "expires_at": 2_000_003_600.0 + n,
        "obtained_at": 2_000_000_000.0 + n,
        "scope": "user:inference user:profile",
        "account": {"uuid": "acc-1", "email_address": "dev@example.com"},
    }
    return TokenRecord(**{**values, **fields})


def assert_no_secret_in(directory: str | os.PathLike[str], *records: TokenRecord) -> None:
    """No file in ``directory`` holds an access or refresh token of ``records``."""
    for path in Path(directory).iterdir():
        text = path.read_bytes()
        for record in records:
            for secret in (record.access_token, record.refresh_token):
                assert secret.encode() not in text, f"a secret is in {path.name}"
