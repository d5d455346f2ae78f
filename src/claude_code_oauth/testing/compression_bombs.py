"""Compressed answers that expand enormously: for tests and benchmarks of decoding caps.

:func:`bomb` returns ``payload`` preceded by ``size`` spaces (still valid JSON when
``payload`` is), compressed with each of ``layers`` in turn — the first innermost,
the ``Content-Encoding`` header lists them in that order. Two GiB of spaces in a
single gzip layer take about 2 MiB and a second gzip layer brings that to about 3.5
KB; a gzip or deflate first layer is assembled from one repeated compressed block
(about a second for 2 GiB, mostly the checksum of the spaces, which is cached per
process like the results).
``br`` and ``zstd`` need the ``brotli`` and ``zstandard`` packages.
"""

from __future__ import annotations

import functools
import struct
import zlib

_BLOCK = 1 << 20


def bomb(payload: bytes, size: int, layers: tuple[str, ...]) -> bytes:
    """``b" " * size + payload`` compressed by ``layers`` (see the module docstring)."""
    return _cached(payload, size, tuple(layers))


@functools.lru_cache(maxsize=16)
def _cached(payload: bytes, size: int, layers: tuple[str, ...]) -> bytes:
    if not layers:
        raise ValueError("a bomb needs at least one encoding")
    data = _first_layer(payload, size, layers[0])
    for name in layers[1:]:
        data = _compress(data, name)
    return data


def _first_layer(payload: bytes, size: int, name: str) -> bytes:
    if name not in ("gzip", "deflate"):
        return _compress_stream(payload, size, name)
    blocks, rest = divmod(size, _BLOCK)
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    spaces = b" " * _BLOCK
    # After a full flush each block of spaces compresses to the same bytes.
    block = raw.compress(spaces) + raw.flush(zlib.Z_FULL_FLUSH)
    body = block * blocks + raw.compress(b" " * rest + payload) + raw.flush(zlib.Z_FINISH)
    if name == "deflate":
        adler = zlib.adler32(b" " * rest + payload, _adler_of_spaces(blocks))
        return b"\x78\xda" + body + struct.pack(">I", adler)
    crc = zlib.crc32(b" " * rest + payload, _crc_of_spaces(blocks))
    total = (size + len(payload)) & 0xFFFFFFFF
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + struct.pack("<II", crc, total)


@functools.lru_cache(maxsize=8)
def _crc_of_spaces(blocks: int) -> int:
    crc = 0
    spaces = b" " * _BLOCK
    for _ in range(blocks):
        crc = zlib.crc32(spaces, crc)
    return crc


@functools.lru_cache(maxsize=8)
def _adler_of_spaces(blocks: int) -> int:
    adler = 1
    spaces = b" " * _BLOCK
    for _ in range(blocks):
        adler = zlib.adler32(spaces, adler)
    return adler


def _compress_stream(payload: bytes, size: int, name: str) -> bytes:
    spaces = b" " * _BLOCK
    blocks, rest = divmod(size, _BLOCK)
    if name == "zstd":
        import zstandard

        compressor = zstandard.ZstdCompressor(level=3).compressobj()
        parts = [compressor.compress(spaces) for _ in range(blocks)]
        parts += [compressor.compress(b" " * rest + payload), compressor.flush()]
        return b"".join(parts)
    if name == "br":
        import brotli

        encoder = brotli.Compressor(quality=5)
        parts = [encoder.process(spaces) for _ in range(blocks)]
        parts += [encoder.process(b" " * rest + payload), encoder.finish()]
        return b"".join(parts)
    raise ValueError(f"unknown encoding {name!r}")


def _compress(data: bytes, name: str) -> bytes:
    if name == "gzip":
        encoder = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        return encoder.compress(data) + encoder.flush()
    if name == "deflate":
        return zlib.compress(data, 9)
    return _compress_stream(data, 0, name)
