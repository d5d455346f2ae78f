"""Compressed answers decoded within bounds: stacked encodings refused, every decoder
step at most 64 KiB, the decoded total held to the call's cap — for ``fetch`` and for
the bodies an auth flow reads (a 401's) inside it."""

from __future__ import annotations

import struct
import sys
import threading
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from claude_code_oauth.errors import ResponseTooLarge
from claude_code_oauth.net import bounded_decoding
from claude_code_oauth.net.bearer_auth import OAuthBearerAuth
from claude_code_oauth.net.bounded_decoding import STEP, UndecodableAnswer, bounded, layers
from claude_code_oauth.net.http_client import MAX_SMALL_BODY, fetch
from claude_code_oauth.testing.compression_bombs import bomb
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy

PAYLOAD = b'{"ok": true}'
#: Every encoding this client decodes (br and zstd: the test extras install their decoders).
ENCODINGS = ("gzip", "deflate", "br", "zstd")


def _wire(data: bytes, size: int = 1 << 16) -> Iterator[bytes]:
    """``data`` in network-sized chunks."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture(autouse=True)
def _no_cap() -> Iterator[None]:
    bounded_decoding.set_cap(None)
    yield
    bounded_decoding.set_cap(None)


@pytest.fixture(autouse=True)
def _fresh_stream_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    # As in a fresh process: the async stream class of each library is made by the test
    # that needs it, not inherited from an earlier test's cache.
    monkeypatch.setattr(bounded_decoding, "_async_classes", {})


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_each_decoder_step_is_at_most_64_kib_and_the_whole_body_comes_through(
    encoding: str,
) -> None:
    wire = bomb(PAYLOAD, 32 << 20, (encoding,))
    sizes = [len(chunk) for chunk in bounded(_wire(wire), [encoding])]
    assert max(sizes) <= STEP
    assert sum(sizes) == (32 << 20) + len(PAYLOAD)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_bomb_stops_at_the_cap_with_memory_to_match(encoding: str) -> None:
    wire = (
        bomb(PAYLOAD, 2 << 30, (encoding,))
        if encoding == "gzip"
        else bomb(PAYLOAD, 256 << 20, (encoding,))
    )
    bounded_decoding.set_cap(1 << 20, "example.test", "The test endpoint")
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge, match=r"The test endpoint \(example.test\) sent an"):
            for _ in bounded(_wire(wire), [encoding]):
                pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < len(wire) + (4 << 20)


@pytest.mark.parametrize(
    "header", ["gzip, gzip", "gzip,deflate", "deflate, br", "zstd, identity, gzip"]
)
def test_stacked_encodings_are_refused_before_decoding(header: str) -> None:
    decoded = bounded(iter([b"whatever"]), layers([header]))
    with pytest.raises(UndecodableAnswer, match="encoded 2 times over"):
        next(decoded)


def test_an_unknown_encoding_is_refused_and_identity_is_no_layer() -> None:
    assert layers(["identity", " GZip "]) == ["gzip"]
    with pytest.raises(UndecodableAnswer, match=r"cannot decode here \(compress\)"):
        next(bounded(iter([b"x"]), ["compress"]))


#: A valid start of each encoding's stream, then bytes no decoder accepts.
BROKEN = {
    "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff" * 16,
    "deflate": b"\x78\x9c" + b"\xff" * 16,
    "br": b"\xff" * 16,
    "zstd": b"\x28\xb5\x2f\xfd" + b"\xff" * 16,
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_broken_compressed_body_is_one_line(encoding: str) -> None:
    with pytest.raises(UndecodableAnswer) as caught:
        list(bounded(iter([BROKEN[encoding]]), [encoding]))
    assert str(caught.value) == "The answer's compressed body is broken."


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_empty_compressed_answer_is_an_empty_body(encoding: str) -> None:
    # A 204, or a HEAD-like answer that names its encoding anyway: no bytes to decode.
    assert list(bounded(iter([]), [encoding])) == []


@pytest.mark.parametrize("spaces", [65533, 65791])
def test_a_raw_deflate_answer_is_read_to_its_last_byte(spaces: int) -> None:
    """Raw deflate (no zlib wrapper, as many servers send it) has no trailer after its
    last code: at these sizes the decoder has taken every input byte while it still
    holds the answer's last bytes (9 and 267 of them), which must come out too."""
    body = PAYLOAD + b" " * spaces
    encoder = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    wire = encoder.compress(body) + encoder.flush()
    assert b"".join(bounded(_wire(wire), ["deflate"])) == body


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("size", [1, 7, 1000])
def test_an_answer_in_small_network_chunks_is_decoded_whole(encoding: str, size: int) -> None:
    """The network splits a body anywhere: in the middle of a code, of the two-byte zlib
    header (one byte, then the rest), of a frame."""
    wire = bomb(PAYLOAD, 100_000, (encoding,))
    assert b"".join(bounded(_wire(wire, size), [encoding])) == b" " * 100_000 + PAYLOAD


def _stored(data: bytes, *, final: bool, pad: int = 0) -> bytes:
    """One stored (uncompressed) raw deflate block; ``pad`` fills the header byte's
    unused bits, which a decoder skips."""
    header = int(final) | pad << 3
    return struct.pack("<BHH", header, len(data), len(data) ^ 0xFFFF) + data


@pytest.mark.parametrize(
    "wire",
    [
        # The first byte says "deflate" as a zlib header's would (0x08), the second
        # does not complete a valid header.
        _stored(b"hello", final=False, pad=1) + _stored(b" world", final=True),
        # The first two bytes (0x10 0x1b) are a multiple of 31 as a zlib header's are,
        # the first does not say "deflate".
        _stored(b"x" * 27, final=False, pad=2) + _stored(b"!", final=True),
    ],
    ids=["first-byte", "multiple-of-31"],
)
def test_raw_deflate_is_told_from_zlib_by_the_whole_header_check(wire: bytes) -> None:
    body = b"".join(zlib.decompressobj(-zlib.MAX_WBITS).decompress(wire) for _ in range(1))
    assert b"".join(bounded(iter([wire]), ["deflate"])) == body and body


def test_x_gzip_is_gzip() -> None:
    wire = bomb(PAYLOAD, 10, ("gzip",))
    assert b"".join(bounded(iter([wire]), layers(["X-GZip"]))) == b" " * 10 + PAYLOAD


def test_a_hostile_encoding_header_is_cut_short_in_the_refusal() -> None:
    with pytest.raises(UndecodableAnswer) as stacked:
        next(bounded(iter([b"x"]), layers(["gzip, " * 40])))
    shown = "gzip, " * 13 + "gz"  # the first 80 characters of the 40 names
    assert str(stacked.value) == (
        f"The server sent an answer encoded 40 times over ({shown}); it was not read."
    )
    with pytest.raises(UndecodableAnswer) as unknown:
        next(bounded(iter([b"x"]), ["x" * 100]))
    assert f"cannot decode here ({'x' * 40}); it was not read." in str(unknown.value)


def test_a_thread_that_set_no_cap_reads_any_size_and_says_the_server() -> None:
    """A client with the bounded hook used outside ``fetch`` (no cap set on its thread):
    each step is still bounded, the total is not, and a refusal says "The server"."""
    found: dict[str, object] = {}

    def read() -> None:
        wire = bomb(PAYLOAD, 4 << 20, ("gzip",))
        found["size"] = sum(len(chunk) for chunk in bounded(_wire(wire), ["gzip"]))
        try:
            next(bounded(iter([b"x"]), ["gzip", "gzip"]))
        except UndecodableAnswer as refused:
            found["refusal"] = str(refused)

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert found == {
        "size": (4 << 20) + len(PAYLOAD),
        "refusal": "The server sent an answer encoded 2 times over (gzip, gzip); it was not read.",
    }


@pytest.mark.parametrize("spaces", [65533, 65791])
def test_the_async_path_reads_a_raw_deflate_answer_to_its_last_byte(spaces: int) -> None:
    import asyncio

    body = PAYLOAD + b" " * spaces
    encoder = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    wire = encoder.compress(body) + encoder.flush()

    async def read() -> bytes:
        async def network() -> AsyncIterator[bytes]:
            yield wire

        decoded = bounded_decoding.abounded(network(), ["deflate"], len(body), "Claude's API")
        return b"".join([chunk async for chunk in decoded])

    assert asyncio.run(read()) == body


def test_a_zstd_answer_in_several_frames_is_read_whole() -> None:
    """A server that streams zstd sends one frame per flush: every frame is the body."""
    import zstandard

    frames = [zstandard.ZstdCompressor().compress(part) for part in (b'{"ok": ', b"true}")]
    assert b"".join(bounded(iter(frames), ["zstd"])) == PAYLOAD


def test_a_brotli_that_cannot_bound_a_step_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """brotli before 1.2 decodes a whole chunk at once (no ``output_buffer_limit``): a
    ``br`` answer is then refused like any encoding this client cannot decode."""
    import types

    class OldDecompressor:
        def process(self, data: bytes) -> bytes:
            """Process 'data' for decompression."""
            return data

    old = types.ModuleType("brotli")
    old.Decompressor = OldDecompressor  # type: ignore[attr-defined]  # brotli's own shape
    monkeypatch.setitem(sys.modules, "brotli", old)
    with pytest.raises(UndecodableAnswer) as caught:
        next(bounded(iter([b"x"]), ["br"]))
    assert str(caught.value) == (
        "The server sent an answer in an encoding this client did not ask for and cannot "
        "decode here (br); it was not read."
    )


# -- through fetch, against a real server -------------------------------------------


@pytest.fixture
def bomb_proxy(emulator: ClaudeEmulator, fresh_shared_client: None) -> Iterator[HostileProxy]:
    """A proxy to make bombs with; ``fetch`` goes through a shared client of its own, so
    the bounding hook it has is the one the code under test installed."""
    with HostileProxy(emulator.base_url) as proxy:
        yield proxy


def test_fetch_asks_for_no_encoding(bomb_proxy: HostileProxy) -> None:
    fetch("GET", bomb_proxy.base_url + "/v1/models", what="The models endpoint", timeout=10)
    (exchange,) = bomb_proxy.requests_to("/v1/models")
    assert exchange.request.headers["accept-encoding"] == "identity"


@pytest.mark.parametrize(
    ("encode", "message"),
    [
        (("gzip", "gzip"), "encoded 2 times over (gzip, gzip); it was not read."),
        (("gzip",), "larger than 1024 KiB; it was not read."),
        (("deflate",), "larger than 1024 KiB; it was not read."),
        (("br",), "larger than 1024 KiB; it was not read."),
        (("zstd",), "larger than 1024 KiB; it was not read."),
    ],
)
def test_fetch_refuses_a_bomb_in_one_line(
    bomb_proxy: HostileProxy, encode: tuple[str, ...], message: str
) -> None:
    size = (2 << 30) if encode[0] == "gzip" else (256 << 20)
    # One call first: the modules a first call imports are not the answer's memory.
    fetch("GET", bomb_proxy.base_url + "/v1/models", what="The models endpoint", timeout=10)
    bomb_proxy.add_rule("/v1/models", forward=False, body=PAYLOAD, encode=encode, inflate_by=size)
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge if "larger" in message else UndecodableAnswer) as got:
            fetch("GET", bomb_proxy.base_url + "/v1/models", what="The models endpoint", timeout=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    host = bomb_proxy.base_url.removeprefix("http://")
    assert str(got.value) == f"The models endpoint ({host}) sent an answer {message}"
    assert peak < MAX_SMALL_BODY + (8 << 20)


def test_a_small_compressed_answer_is_decoded(bomb_proxy: HostileProxy) -> None:
    bomb_proxy.add_rule("/v1/models", forward=False, body=PAYLOAD, encode=("gzip",), inflate_by=10)
    response = fetch("GET", bomb_proxy.base_url + "/v1/models", what="x", timeout=10)
    assert response.json() == {"ok": True}
    # The loaded answer's headers describe it, not its compressed wire form.
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(b" " * 10 + PAYLOAD))


class _Source:
    def __init__(self) -> None:
        self.rejected: list[str] = []

    def get_access_token(self) -> str:
        return "first-token"

    def replace_rejected(self, rejected: str) -> str:
        self.rejected.append(rejected)
        return "second-token"


def test_a_401_bomb_read_by_the_auth_flow_is_bounded_too(bomb_proxy: HostileProxy) -> None:
    # The auth flow reads a 401's body inside httpx's send, before fetch sees the answer.
    bomb_proxy.add_rule(
        "/v1/models",
        forward=False,
        status=401,
        body=PAYLOAD,
        encode=("gzip",),
        inflate_by=2 << 30,
    )
    source = _Source()
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge):
            fetch(
                "GET",
                bomb_proxy.base_url + "/v1/models",
                what="The models endpoint",
                timeout=30,
                auth=OAuthBearerAuth(source, observers=()),
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MAX_SMALL_BODY + (8 << 20)


def test_httpx_alone_would_decode_the_stacked_bomb_whole() -> None:
    """Why this module exists: httpx's own decoders take a whole layer per chunk."""
    wire = bomb(PAYLOAD, 64 << 20, ("gzip", "gzip"))
    response = httpx.Response(200, headers={"Content-Encoding": "gzip, gzip"}, content=wire)
    assert len(response.content) == (64 << 20) + len(PAYLOAD)


# -- the model path's async client (the anthropic SDK's library) --------------------------


def _async_read(proxy: HostileProxy, **rule: object) -> bytes:
    import asyncio

    proxy.add_rule("/v1/messages", forward=False, **rule)

    async def read() -> bytes:
        async with httpx.AsyncClient(
            event_hooks={"response": [bounded_decoding.bound_async_response]}
        ) as client:
            response = await client.post(proxy.base_url + "/v1/messages", json={})
            assert "content-encoding" not in response.headers  # decoded here, not by httpx
            return response.content

    return asyncio.run(read())


def test_the_model_path_decodes_one_layer_within_its_cap(bomb_proxy: HostileProxy) -> None:
    for encode in (("gzip",), ("deflate",)):
        decoded = _async_read(bomb_proxy, body=PAYLOAD, encode=encode, inflate_by=10)
        assert decoded == b" " * 10 + PAYLOAD
    assert _async_read(bomb_proxy, body=PAYLOAD) == PAYLOAD
    over = bounded_decoding.MODEL_ANSWER_CAP + 1
    with pytest.raises(ResponseTooLarge) as caught:
        _async_read(bomb_proxy, body=PAYLOAD, encode=("gzip",), inflate_by=over)
    host = bomb_proxy.base_url.removeprefix("http://")
    assert str(caught.value) == (
        f"Claude's API ({host}) sent an answer larger than 16384 KiB; it was not read."
    )


def test_the_model_path_refuses_stacked_and_pull_only_encodings(bomb_proxy: HostileProxy) -> None:
    host = bomb_proxy.base_url.removeprefix("http://")
    with pytest.raises(UndecodableAnswer) as caught:
        _async_read(bomb_proxy, body=PAYLOAD, encode=("gzip", "gzip"), inflate_by=10)
    assert str(caught.value) == (
        f"Claude's API ({host}) sent an answer encoded 2 times over (gzip, gzip); it was not read."
    )
    with pytest.raises(UndecodableAnswer, match=r"cannot decode here \(zstd\)"):
        _async_read(bomb_proxy, body=PAYLOAD, encode=("zstd",), inflate_by=10)


def test_an_event_stream_may_be_twice_as_large(bomb_proxy: HostileProxy) -> None:
    stream = {"Content-Type": "text/event-stream"}
    size = bounded_decoding.MODEL_ANSWER_CAP + 1
    events = _async_read(
        bomb_proxy, body=PAYLOAD, encode=("gzip",), inflate_by=size, headers=stream
    )
    assert len(events) == size + len(PAYLOAD)
    with pytest.raises(ResponseTooLarge, match="larger than 32768 KiB"):
        _async_read(
            bomb_proxy,
            body=PAYLOAD,
            encode=("gzip",),
            inflate_by=bounded_decoding.MODEL_STREAM_CAP,
            headers=stream,
        )
