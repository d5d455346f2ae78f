"""The keyring-library store (macOS Keychain, Windows Credential Manager): parts under
Windows' limit, whole-or-old writes, damage named, the deadline kept — with a fake
backend that behaves like Windows' (no macOS or Windows here), and with the real
`keyring` library on the private gnome-keyring."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from claude_code_oauth.errors import (
    SecretStoreDamaged,
    SecretStoreError,
    SecretStoreLocked,
    SecretStorePromptDismissed,
    SecretStoreTimeout,
    SecretStoreUnavailable,
    SecretTooLarge,
)
from claude_code_oauth.secret_store import chunking
from claude_code_oauth.secret_store.interface import MAX_SECRET_BYTES, SERVICE
from claude_code_oauth.secret_store.keyring_library import (
    KeyringLibraryStore,
    load_keyring_backend,
)
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from helpers.memory_keyring import MemoryKeyring


class PasswordSetError(Exception):
    """Named like keyring's, as the fake raises what the real backends raise."""


class WindowsLikeBackend(MemoryKeyring):
    """The in-memory keyring, refusing values over 2 560 bytes of UTF-16 as Windows does.

    ``fail_on_set`` makes the n-th next set raise.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fail_on_set: int | None = None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._enter()
        if len(password.encode("utf-16-le")) > chunking.WINDOWS_CREDENTIAL_BYTES:
            raise PasswordSetError("(1783, 'CredWrite', 'The stub received bad data.')")
        if self.fail_on_set is not None:
            self.fail_on_set -= 1
            if self.fail_on_set < 0:
                self.fail_on_set = None
                raise PasswordSetError("(5, 'CredWrite', 'Access is denied for a test')")
        self.entries[(service, username)] = password


@pytest.fixture
def backend() -> WindowsLikeBackend:
    return WindowsLikeBackend()


@pytest.fixture
def store(backend: WindowsLikeBackend) -> KeyringLibraryStore:
    return KeyringLibraryStore(
        timeout=30, load_backend=lambda: backend, name="Windows Credential Manager"
    )


SIZES = [0, 1, 700, 760, 2000, 5000, MAX_SECRET_BYTES]


@pytest.mark.parametrize("size", SIZES)
def test_values_of_any_size_round_trip_in_parts_windows_accepts(
    store: KeyringLibraryStore, backend: WindowsLikeBackend, size: int
) -> None:
    value = bytes((i * 7) % 256 for i in range(size))
    store.set("work", value)
    assert store.get("work") == value
    assert all(
        len(text.encode("utf-16-le")) <= chunking.WINDOWS_CREDENTIAL_BYTES
        for text in backend.entries.values()
    )
    base64_chars = 4 * -(-size // 3)
    assert len(backend.entries) == max(1, -(-base64_chars // chunking.PART_CHARS))
    assert store.delete("work") is True
    assert backend.entries == {}
    assert store.get("work") is None
    assert store.delete("work") is False


def test_a_typical_sign_in_is_one_entry(
    store: KeyringLibraryStore, backend: WindowsLikeBackend
) -> None:
    store.set(
        "default",
        b'{"access_token": "' + b"a" * 108 + b'", "refresh_token": "' + b"r" * 108 + b'"}',
    )
    assert list(backend.entries) == [(SERVICE, "default")]


def test_replacing_a_value_leaves_only_the_new_parts(
    store: KeyringLibraryStore, backend: WindowsLikeBackend
) -> None:
    store.set("work", b"a" * 5000)
    store.set("work", b"b" * 3000)
    assert store.get("work") == b"b" * 3000
    head = chunking.parse_head(backend.entries[(SERVICE, "work")])
    names = {name for _service, name in backend.entries}
    assert names == {"work"} | {chunking.part_name("work", head, i) for i in range(1, head.parts)}


def test_profiles_do_not_share_parts(store: KeyringLibraryStore) -> None:
    store.set("a", b"1" * 4000)
    store.set("b", b"2" * 4000)
    store.delete("a")
    assert store.get("b") == b"2" * 4000


@pytest.mark.parametrize("failing_set", [0, 1, 3])
def test_a_write_that_fails_midway_leaves_the_old_value_whole(
    store: KeyringLibraryStore, backend: WindowsLikeBackend, failing_set: int
) -> None:
    store.set("work", b"old" * 1500)
    before = dict(backend.entries)
    backend.fail_on_set = failing_set  # parts first, the head last: every point is covered
    with pytest.raises(SecretStoreError, match="PasswordSetError") as caught:
        store.set("work", b"new" * 1500)
    assert "Access is denied" not in str(caught.value)  # the backend's text is not shown
    assert store.get("work") == b"old" * 1500
    assert backend.entries == before  # the new parts were removed again


def test_a_missing_part_is_damage_not_garbage(
    store: KeyringLibraryStore, backend: WindowsLikeBackend
) -> None:
    store.set("work", b"x" * 5000)
    head = chunking.parse_head(backend.entries[(SERVICE, "work")])
    del backend.entries[(SERVICE, chunking.part_name("work", head, 2))]
    with pytest.raises(SecretStoreDamaged, match=f"part 3 of {head.parts} is missing"):
        store.get("work")


def test_a_changed_part_fails_the_checksum(
    store: KeyringLibraryStore, backend: WindowsLikeBackend
) -> None:
    store.set("work", b"x" * 5000)
    head = chunking.parse_head(backend.entries[(SERVICE, "work")])
    key = (SERVICE, chunking.part_name("work", head, 1))
    backend.entries[key] = "eXl5" + backend.entries[key][4:]  # still base64, other bytes
    with pytest.raises(SecretStoreDamaged, match="checksum"):
        store.get("work")


@pytest.mark.parametrize(
    "head", ["a password someone typed", "ccoa1:0:00000000:0123456789abcdef:", "ccoa1:x:y:z:w"]
)
def test_an_entry_not_in_our_format_is_damaged_and_can_be_replaced_and_deleted(
    store: KeyringLibraryStore, backend: WindowsLikeBackend, head: str
) -> None:
    backend.entries[(SERVICE, "work")] = head
    with pytest.raises(SecretStoreDamaged, match="damaged") as caught:
        store.get("work")
    assert head not in str(caught.value)
    store.set("work", b"fresh")
    assert store.get("work") == b"fresh"
    assert store.delete("work") and backend.entries == {}


def test_a_value_over_the_limit_is_refused_before_anything_is_written(
    store: KeyringLibraryStore, backend: WindowsLikeBackend
) -> None:
    with pytest.raises(SecretTooLarge):
        store.set("work", b"x" * (MAX_SECRET_BYTES + 1))
    assert backend.calls == 0


# -- the deadline -------------------------------------------------------------------------------


@pytest.fixture
def hung(backend: WindowsLikeBackend) -> Iterator[threading.Event]:
    event = threading.Event()
    backend.hold = event
    yield event
    event.set()


def test_a_hung_backend_cannot_hold_a_call_past_its_deadline(
    backend: WindowsLikeBackend, hung: threading.Event
) -> None:
    store = KeyringLibraryStore(timeout=0.2, load_backend=lambda: backend, name="the Keychain")
    with pytest.raises(SecretStoreTimeout, match=r"The Keychain did not answer within 0\.2 s"):
        store.get("work")
    calls = backend.calls
    # While the abandoned worker is stuck, calls fail at once instead of adding threads.
    for call in (lambda: store.get("work"), lambda: store.set("work", b"v"), store.probe):
        with pytest.raises(SecretStoreTimeout):
            call()
    assert backend.calls == calls
    hung.set()
    store._stuck.join(30)
    backend.hold = None
    store.set("work", b"v")
    assert store.get("work") == b"v"


def test_a_slow_import_counts_against_the_deadline(hung: threading.Event) -> None:
    def slow_import() -> object:
        hung.wait(60)
        return WindowsLikeBackend()

    store = KeyringLibraryStore(timeout=0.2, load_backend=slow_import, name="the Keychain")
    with pytest.raises(SecretStoreTimeout):
        store.probe()


# -- errors, named ----------------------------------------------------------------------------


def _error_class(name: str) -> type[Exception]:
    return type(name, (Exception,), {})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_error_class("NoKeyringError")("No recommended backend"), SecretStoreUnavailable),
        (_error_class("InitError")("dbus"), SecretStoreUnavailable),
        (_error_class("KeyringLocked")("locked"), SecretStoreLocked),
        (
            _error_class("KeyringError")("(-128, 'User canceled the operation.')"),
            SecretStorePromptDismissed,
        ),
        (PasswordSetError("(1783, 'CredWrite', 'The stub received bad data.')"), SecretTooLarge),
        (RuntimeError("sk-secret-looking text from a backend"), SecretStoreError),
    ],
)
def test_backend_errors_become_named_one_line_errors(
    store: KeyringLibraryStore, backend: WindowsLikeBackend, error: Exception, expected: type
) -> None:
    backend.error = error
    with pytest.raises(expected) as caught:
        store.get("work")
    text = str(caught.value)
    assert "\n" not in text and "sk-secret" not in text and "Windows Credential Manager" in text


def test_without_the_keyring_library_the_store_is_unavailable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # `import keyring` raises ImportError
    store = KeyringLibraryStore(timeout=30, name="the macOS Keychain")
    with pytest.raises(SecretStoreUnavailable, match=r"claude-code-oauth\[keyring\]"):
        store.probe()


# -- the real keyring library, on the private gnome-keyring -------------------------------------


def test_the_real_keyring_library_round_trips_parts(
    private_keyring: PrivateKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in private_keyring.env.items():
        monkeypatch.setenv(key, value)

    def secret_service_backend() -> object:
        from keyring.backends import SecretService

        return SecretService.Keyring()

    store = KeyringLibraryStore(timeout=30, load_backend=secret_service_backend, name="keyring")
    value = bytes(range(256)) * 20  # 5 120 bytes: seven parts
    store.set("library", value)
    assert store.get("library") == value
    store.set("library", b"short")
    assert store.get("library") == b"short"
    assert store.delete("library") is True
    assert store.get("library") is None
    assert "SecretService" in store.probe()


def test_the_default_loader_refuses_keyrings_fail_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    with pytest.raises(SecretStoreUnavailable, match="no usable keyring"):
        load_keyring_backend()
