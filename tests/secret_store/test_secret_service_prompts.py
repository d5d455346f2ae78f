"""Prompts, which gnome-keyring cannot show without a desktop: a small Secret Service of
our own (written with jeepney, an independent D-Bus implementation) on a private bare
bus, whose unlock prompt is approved, dismissed, or never answered."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from jeepney import DBusAddress, MessageType, new_error, new_method_return, new_signal
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection
from jeepney.low_level import HeaderFields, Message

from claude_code_oauth.errors import (
    SecretStoreLocked,
    SecretStorePromptDismissed,
    SecretStoreTimeout,
)
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.private_keyring import bare_bus

pytestmark = pytest.mark.keyring

COLLECTION = "/org/freedesktop/secrets/collection/fake"
PROMPT = "/org/freedesktop/secrets/prompt/1"
SESSION = "/org/freedesktop/secrets/session/1"


class FakeSecretService:
    """A locked collection whose unlock prompt ends as ``answer`` says: ``approve``,
    ``dismiss`` or ``never``."""

    def __init__(self, address: str, answer: str, create_prompts: bool = False) -> None:
        self.answer = answer
        #: CreateItem on the locked collection answers with a prompt (the specification
        #: allows it) instead of the IsLocked error gnome-keyring sends.
        self.create_prompts = create_prompts
        self.pending: tuple[str, dict[str, str], bytes] | None = None
        self.locked = True
        self.items: dict[str, tuple[dict[str, str], bytes]] = {}
        self.prompted = 0
        self.dismissed = 0
        self._stop = threading.Event()
        self._conn = open_dbus_connection(address)
        self._conn.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets"))
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self._conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                message = self._conn.receive(timeout=0.05)
            except TimeoutError:
                continue
            if message.header.message_type == MessageType.method_call:
                for answer in self._answer(message):
                    self._conn.send(answer)

    @staticmethod
    def _completed(dismissed: bool, result: list[str] | str) -> Message:
        emitter = DBusAddress(PROMPT, interface="org.freedesktop.Secret.Prompt")
        variant = ("o", result) if isinstance(result, str) else ("ao", result)
        return new_signal(emitter, "Completed", "bv", (dismissed, variant))

    def _answer(self, message: Message) -> list[Message]:
        """The reply (and, after Prompt, the signal) to one method call."""
        return [self._reply(message), *self._after(message)]

    def _after(self, message: Message) -> list[Message]:
        if message.header.fields[HeaderFields.member] != "Prompt" or self.answer == "never":
            return []
        if self.answer == "approve":
            self.locked = False
            if self.pending is not None:  # the prompt was CreateItem's: create it now
                path, attributes, value = self.pending
                self.items[path] = (attributes, value)
                return [self._completed(False, path)]
            return [self._completed(False, [COLLECTION])]
        return [self._completed(True, [])]

    def _reply(self, message: Message) -> Message:
        member = message.header.fields[HeaderFields.member]
        body = message.body
        if member == "OpenSession":
            return new_method_return(message, "vo", (("s", ""), SESSION))
        if member == "ReadAlias":
            return new_method_return(message, "o", (COLLECTION,))
        if member == "CreateItem":
            properties, secret, _replace = body
            attributes = properties["org.freedesktop.Secret.Item.Attributes"][1]
            path = f"{COLLECTION}/{attributes['profile']}"
            if self.locked and self.create_prompts:
                self.pending = (path, attributes, secret[2])
                return new_method_return(message, "oo", ("/", PROMPT))
            if self.locked:
                return new_error(message, "org.freedesktop.Secret.Error.IsLocked")
            self.items[path] = (attributes, secret[2])
            return new_method_return(message, "oo", (path, "/"))
        if member == "Unlock":
            return new_method_return(message, "aoo", ([], PROMPT))
        if member == "Prompt":
            self.prompted += 1
            return new_method_return(message)
        if member == "Dismiss":
            self.dismissed += 1
            return new_method_return(message)
        if member == "SearchItems":
            found = [p for p, (attrs, _) in self.items.items() if attrs == body[0]]
            unlocked, locked = ([], found) if self.locked else (found, [])
            return new_method_return(message, "aoao", (unlocked, locked))
        if member == "GetSecrets":
            secrets = {p: (SESSION, b"", self.items[p][1], "text/plain") for p in body[0]}
            return new_method_return(message, "a{o(oayays)}", (secrets,))
        return new_error(message, "org.freedesktop.DBus.Error.UnknownMethod")


@pytest.fixture
def bus_address() -> Iterator[str]:
    with bare_bus() as bus:
        yield bus.address


def _service(
    bus_address: str, answer: str, create_prompts: bool = False
) -> Iterator[FakeSecretService]:
    service = FakeSecretService(bus_address, answer, create_prompts)
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def approving(bus_address: str) -> Iterator[FakeSecretService]:
    yield from _service(bus_address, "approve")


@pytest.fixture
def prompting_on_create(bus_address: str) -> Iterator[FakeSecretService]:
    yield from _service(bus_address, "approve", create_prompts=True)


@pytest.fixture
def dismissing(bus_address: str) -> Iterator[FakeSecretService]:
    yield from _service(bus_address, "dismiss")


@pytest.fixture
def silent(bus_address: str) -> Iterator[FakeSecretService]:
    yield from _service(bus_address, "never")


def _store(bus_address: str, prompt_timeout: float = 30.0) -> SecretServiceStore:
    return SecretServiceStore(
        environ={"DBUS_SESSION_BUS_ADDRESS": bus_address},
        timeout=30,
        prompt_timeout=prompt_timeout,
    )


def test_an_approved_unlock_prompt_lets_the_write_through(
    approving: FakeSecretService, bus_address: str
) -> None:
    store = _store(bus_address)
    store.set("work", b"value", allow_prompt=True)
    assert approving.prompted == 1
    assert store.get("work") == b"value"


def test_a_write_that_may_not_prompt_never_shows_one(
    approving: FakeSecretService, bus_address: str
) -> None:
    with pytest.raises(SecretStoreLocked, match="nothing was stored"):
        _store(bus_address).set("work", b"value")
    assert approving.prompted == 0
    assert approving.items == {}


def test_a_dismissed_prompt_is_one_line_and_nothing_is_written(
    dismissing: FakeSecretService, bus_address: str
) -> None:
    with pytest.raises(SecretStorePromptDismissed, match="dismissed or denied") as caught:
        _store(bus_address).set("work", b"value", allow_prompt=True)
    assert "\n" not in str(caught.value)
    assert dismissing.prompted == 1
    assert dismissing.items == {}


def test_a_prompt_nobody_answers_ends_at_its_deadline_and_is_dismissed(
    silent: FakeSecretService, bus_address: str
) -> None:
    with pytest.raises(SecretStoreTimeout, match=r"within 0\.3 s \(waiting for you to answer"):
        _store(bus_address, prompt_timeout=0.3).set("work", b"value", allow_prompt=True)
    assert silent.prompted == 1
    assert silent.dismissed == 1
    assert silent.items == {}


def test_a_prompt_the_write_itself_asks_for_is_shown_only_when_allowed(
    prompting_on_create: FakeSecretService, bus_address: str
) -> None:
    service = prompting_on_create
    with pytest.raises(SecretStoreLocked, match="may not prompt"):
        _store(bus_address).set("work", b"value")
    assert (service.prompted, service.dismissed, service.items) == (0, 1, {})
    _store(bus_address).set("work", b"value", allow_prompt=True)
    assert service.prompted == 1
    assert [value for _attributes, value in service.items.values()] == [b"value"]
