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
from collections.abc import Callable, Iterable, Iterator
from typing import Any

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


def decoder_for(encodings: list[str], who: str) -> Callable[[Iterable[bytes]], Iterator[bytes]]:
    """A function from raw chunks to decoded chunks of at most :data:`STEP` bytes; raises
    :class:`UndecodableAnswer` for stacked or unsupported encodings (``who`` names the
    server in the message)."""
    if not encodings:
        return _identity
    if len(encodings) > 1:
        raise UndecodableAnswer(
            f"{who} sent an answer encoded {len(encodings)} times over "
            f"({', '.join(encodings)[:80]}); it was not read."
        )
    name = encodings[0]
    if name in ("gzip", "x-gzip"):
        return lambda raw: _zlib(raw, zlib.MAX_WBITS | 16)
    if name == "deflate":
        return lambda raw: _zlib(raw, None)
    if name == "br" and _brotli() is not None:
        return _brotli_chunks
    if name == "zstd" and _zstandard() is not None:
        return _zstd_chunks
    raise UndecodableAnswer(
        f"{who} sent an answer in an encoding this client did not ask for and cannot "
        f"decode ({name[:40]}); it was not read."
    )


def _identity(raw: Iterable[bytes]) -> Iterator[bytes]:
    for chunk in raw:
        for start in range(0, len(chunk), STEP):
            yield chunk[start : start + STEP]


def _zlib(raw: Iterable[bytes], wbits: int | None) -> Iterator[bytes]:
    decoder: Any = None if wbits is None else zlib.decompressobj(wbits)
    for chunk in raw:
        if decoder is None:  # deflate: zlib-wrapped as the RFC says, or raw as many send
            wrapped = (
                len(chunk) >= 2 and chunk[0] & 0x0F == 8 and (chunk[0] << 8 | chunk[1]) % 31 == 0
            )
            decoder = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        data = chunk
        while data and not decoder.eof:
            try:
                out = decoder.decompress(data, STEP)
            except zlib.error:
                raise UndecodableAnswer("The answer's compressed body is broken.") from None
            if out:
                yield out
            data = decoder.unconsumed_tail
    if decoder is not None:
        while not decoder.eof:
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


def _brotli_chunks(raw: Iterable[bytes]) -> Iterator[bytes]:
    brotli = _brotli()
    decoder = brotli.Decompressor()
    try:
        for chunk in raw:
            data = chunk
            while True:
                # The limit stops the buffer's growth (so a step is under 2 x STEP).
                out = decoder.process(data, output_buffer_limit=STEP)
                data = b""
                for start in range(0, len(out), STEP):
                    yield out[start : start + STEP]
                if decoder.can_accept_more_data():
                    break
    except brotli.error:
        raise UndecodableAnswer("The answer's compressed body is broken.") from None


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


def bounded(raw: Iterable[bytes], encodings: list[str]) -> Iterator[bytes]:
    """``raw`` decoded (at most one layer), each chunk at most :data:`STEP` bytes, the
    total within the calling thread's cap (:func:`set_cap`)."""
    cap, host, what = _cap()
    who = f"{what} ({host})" if host else what
    total = 0
    for chunk in decoder_for(encodings, who)(raw):
        total += len(chunk)
        if cap is not None and total > cap:
            raise ResponseTooLarge(
                f"{who} sent an answer larger than {cap // 1024} KiB; it was not read."
            )
        yield chunk


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
