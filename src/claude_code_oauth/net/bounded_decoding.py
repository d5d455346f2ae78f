"""Answer bodies decoded within bounds: no compressed bomb costs more than its cap.

httpx decodes ``Content-Encoding`` itself, one whole network chunk at a time and
layer after layer: 3.5 KB of ``gzip, gzip`` on the wire become 2 GiB in memory
before any size check sees them. So the clients we send with take the decoding
out of httpx's hands (:func:`install`, a response hook: it runs before an auth
flow or a caller reads any body) and decode here instead:

* Our own requests ask for ``Accept-Encoding: identity`` (:data:`ACCEPT`).
* At most one encoding layer is accepted: ``gzip`` (``x-gzip``), ``deflate``,
  and ``br`` / ``zstd`` where their decoders (``brotli``, ``zstandard``) are
  installed. Stacked encodings (``gzip, gzip``) and unknown ones are refused in
  one line (:class:`UndecodableAnswer`) before a byte is decoded.
* Each decoder step yields at most :data:`STEP` bytes (64 KiB), however much the
  compressed input would expand to, and the body's decoded total is counted
  against the call's cap (:func:`set_cap`, per thread; ``fetch`` sets it), so
  reading stops at the cap (:class:`~claude_code_oauth.errors.ResponseTooLarge`).

So peak memory for a body is its cap plus one step, whatever the server sends.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import ResponseTooLarge, UnexpectedResponse

#: What our own requests accept: no encoding at all.
ACCEPT = "identity"
#: The most one decoder step may produce.
STEP = 64 << 10

_local = threading.local()


class UndecodableAnswer(UnexpectedResponse):
    """The answer's ``Content-Encoding`` is stacked, unknown, or broken."""


def set_cap(max_bytes: int | None, host: str = "", what: str = "The server") -> None:
    """Cap the decoded bodies the calling thread reads (``None``: no total cap, each
    step still bounded); ``host`` and ``what`` name the server in the refusal."""
    _local.cap = (max_bytes, host, what)


def _cap() -> tuple[int | None, str, str]:
    return getattr(_local, "cap", (None, "", "The server"))


def layers(values: Iterable[str]) -> list[str]:
    """The encoding layers named by ``Content-Encoding`` values (``identity`` dropped)."""
    found = []
    for value in values:
        for item in value.split(","):
            name = item.strip().lower()
            if name and name != "identity":
                found.append(name)
    return found


def _push_decoder(encodings: list[str], who: str, *, pull_ok: bool) -> Any:
    """The decoder of ``encodings``: ``None`` for none, ``"zstd"`` for the pull-style
    zstandard reader (when ``pull_ok``), else an object with ``feed(data)`` and ``end()``
    yielding at most :data:`STEP` bytes at a time. Raises :class:`UndecodableAnswer` for
    stacked or unsupported encodings (``who`` names the server in the message)."""
    if not encodings:
        return None
    if len(encodings) > 1:
        raise UndecodableAnswer(
            f"{who} sent an answer encoded {len(encodings)} times over "
            f"({', '.join(encodings)[:80]}); it was not read."
        )
    name = encodings[0]
    if name in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Zlib(None)
    if name == "br" and _brotli() is not None:
        return _Brotli()
    if name == "zstd" and pull_ok and _zstandard() is not None:
        return "zstd"
    raise UndecodableAnswer(
        f"{who} sent an answer in an encoding this client did not ask for and cannot "
        f"decode here ({name[:40]}); it was not read."
    )


def _steps(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), STEP):
        yield data[start : start + STEP]


def _zlib_wrapped(head: bytes) -> bool:
    """Whether a deflate body's first two bytes are a zlib header (RFC 1950)."""
    return head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0


class _Zlib:
    """gzip, or deflate (``wbits`` ``None``: zlib-wrapped as the RFC says, or raw as many
    servers send it, told apart by the first two bytes, however the network splits
    them)."""

    def __init__(self, wbits: int | None) -> None:
        self._decoder: Any = None if wbits is None else zlib.decompressobj(wbits)
        self._head = b""

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        if self._decoder is None:
            chunk = self._head + chunk
            if len(chunk) < 2:
                self._head = chunk
                return
            wrapped = _zlib_wrapped(chunk)
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        decoder = self._decoder
        data = chunk
        while data and not decoder.eof:
            try:
                out = decoder.decompress(data, STEP)
            except zlib.error:
                raise UndecodableAnswer("The answer's compressed body is broken.") from None
            if out:
                yield out
            data = decoder.unconsumed_tail

    def end(self) -> Iterator[bytes]:
        # A deflate body of one byte (still in _head) holds no output: too short for a
        # block that has any.
        decoder = self._decoder
        while decoder is not None and not decoder.eof:
            out = decoder.decompress(b"", STEP)
            if not out:
                break
            yield out


def _brotli() -> Any:
    try:
        import brotli
    except ImportError:
        return None
    # Only a decoder that can stop at a size bounds each step.
    accepts_limit = "output_buffer_limit" in (brotli.Decompressor.process.__doc__ or "")
    return brotli if accepts_limit else None


class _Brotli:
    def __init__(self) -> None:
        self._brotli = _brotli()
        self._decoder = self._brotli.Decompressor()

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        data = chunk
        try:
            while True:
                # The limit stops the buffer's growth (so a step is under 2 x STEP). A
                # step may leave output behind (even when the decoder would take more
                # input): ask again until a step has nothing left to give.
                out = self._decoder.process(data, output_buffer_limit=STEP)
                if not out:
                    return
                data = b""
                yield from _steps(out)
        except self._brotli.error:
            raise UndecodableAnswer("The answer's compressed body is broken.") from None

    def end(self) -> Iterator[bytes]:
        return iter(())


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard


class _Chunks:
    """A file-like ``read`` over an iterator of chunks (for zstandard's pull reader)."""

    def __init__(self, raw: Iterable[bytes]) -> None:
        self._raw = iter(raw)

    def read(self, size: int = -1) -> bytes:
        return next(self._raw, b"")


def _zstd_chunks(raw: Iterable[bytes]) -> Iterator[bytes]:
    zstandard = _zstandard()
    reader = zstandard.ZstdDecompressor().stream_reader(_Chunks(raw), read_across_frames=True)
    try:
        while out := reader.read(STEP):
            yield out
    except zstandard.ZstdError:
        raise UndecodableAnswer("The answer's compressed body is broken.") from None


def _decoded(raw: Iterable[bytes], encodings: list[str], who: str) -> Iterator[bytes]:
    decoder = _push_decoder(encodings, who, pull_ok=True)
    if decoder == "zstd":
        yield from _zstd_chunks(raw)
        return
    for chunk in raw:
        yield from _steps(chunk) if decoder is None else decoder.feed(chunk)
    if decoder is not None:
        yield from decoder.end()


class _Counter:
    """The decoded total against a cap; raises :class:`ResponseTooLarge` past it."""

    def __init__(self, cap: int | None, who: str) -> None:
        self.cap = cap
        self.who = who
        self.total = 0

    def add(self, chunk: bytes) -> bytes:
        self.total += len(chunk)
        if self.cap is not None and self.total > self.cap:
            raise ResponseTooLarge(
                f"{self.who} sent an answer larger than {self.cap // 1024} KiB; it was not read."
            )
        return chunk


def bounded(raw: Iterable[bytes], encodings: list[str]) -> Iterator[bytes]:
    """``raw`` decoded (at most one layer), each chunk at most :data:`STEP` bytes, the
    total within the calling thread's cap (:func:`set_cap`)."""
    cap, host, what = _cap()
    who = f"{what} ({host})" if host else what
    counter = _Counter(cap, who)
    for chunk in _decoded(raw, encodings, who):
        yield counter.add(chunk)


async def abounded(
    raw: AsyncIterable[bytes], encodings: list[str], cap: int | None, who: str
) -> AsyncIterator[bytes]:
    """:func:`bounded` for an async stream (zstd is refused here: its bounded reader
    pulls)."""
    decoder = _push_decoder(encodings, who, pull_ok=False)
    counter = _Counter(cap, who)
    async for chunk in raw:
        for out in _steps(chunk) if decoder is None else decoder.feed(chunk):
            yield counter.add(out)
    if decoder is not None:
        for out in decoder.end():
            yield counter.add(out)


#: The model path's caps on a decoded answer: a message of the longest output is well
#: under 1 MiB as JSON, and under 8 MiB as an event stream (a delta every few tokens).
MODEL_ANSWER_CAP = 16 << 20
MODEL_STREAM_CAP = 32 << 20


async def bound_async_response(response: Any) -> None:
    """The async client's response hook (httpx or httpx2: the anthropic SDK's library):
    the same bounds, for every answer our model's requests get — the bodies the SDK and
    our auth flow read (:data:`MODEL_ANSWER_CAP`, :data:`MODEL_STREAM_CAP`)."""
    from ..config_rules import url_host

    encodings = layers(response.headers.get_list("content-encoding"))
    event_stream = response.headers.get("content-type", "").startswith("text/event-stream")
    cap = MODEL_STREAM_CAP if event_stream else MODEL_ANSWER_CAP
    who = f"Claude's API ({url_host(str(response.request.url))})"
    response.stream = _async_stream_class(response)(response.stream, encodings, cap, who)
    if "content-encoding" in response.headers:
        del response.headers["content-encoding"]


_async_classes: dict[type, type] = {}


def _async_stream_class(response: Any) -> type:
    """An ``AsyncByteStream`` of the response's own library, decoding by :func:`abounded`."""
    import sys

    library = sys.modules[type(response).__module__.split(".")[0]]
    base = library.AsyncByteStream
    found = _async_classes.get(base)
    if found is None:
        if TYPE_CHECKING:  # httpx2 (the SDK's library) copies httpx: one shape
            from httpx import AsyncByteStream as Base
        else:
            Base = base

        class AsyncBoundedStream(Base):
            def __init__(self, stream: Any, encodings: list[str], cap: int | None, who: str):
                self._stream = stream
                self._args = (encodings, cap, who)

            def __aiter__(self) -> AsyncIterator[bytes]:
                return abounded(self._stream, *self._args)

            async def aclose(self) -> None:
                await self._stream.aclose()

        found = _async_classes[base] = AsyncBoundedStream
    return found


def install(client: httpx.Client) -> None:
    """Make ``client`` hand every answer's body over decoded here
    (idempotent). Its response hook runs before any auth flow or caller reads a body."""
    hooks = client.event_hooks
    if _bound_response not in hooks["response"]:
        hooks["response"] = [*hooks["response"], _bound_response]
        client.event_hooks = hooks


def _bound_response(response: httpx.Response) -> None:
    encodings = layers(response.headers.get_list("content-encoding"))
    response.stream = BoundedStream(response.stream, encodings)
    if "content-encoding" in response.headers:
        del response.headers["content-encoding"]  # decoded here: httpx must not again


class BoundedStream(httpx.SyncByteStream):
    """``stream``'s bytes decoded by :func:`bounded`."""

    def __init__(self, stream: Any, encodings: list[str]) -> None:
        self._stream = stream
        self._encodings = encodings

    def __iter__(self) -> Iterator[bytes]:
        return bounded(self._stream, self._encodings)

    def close(self) -> None:
        self._stream.close()
