"""A per-thread deadline that every socket operation of an HTTP call respects.

httpx's timeouts bound each network operation, not a call. :func:`~.http_client.fetch`
runs each call in a worker thread and gives that thread a deadline with
:func:`set_deadline`; the network backend :func:`install` puts under a client's
connection pools then shortens every connect, TLS handshake, read and write to
what is left, and fails it once the deadline has passed. So a worker whose
caller has given up lets go of its socket at the deadline, instead of reading a
trickle for as long as the server keeps sending (a thread and a socket per
abandoned call, for ever, in a long-lived host such as Code Puppy).

Threads without a deadline (any other use of the same client) are unaffected.
Name resolution is not a socket operation and cannot be bounded here; the
caller's own wait still is.

This reaches one attribute below httpx's public API (each pool's network
backend, which httpcore takes as a constructor argument); :func:`install` says
whether it could, and the tests fail if an httpx upgrade moves it.
"""

from __future__ import annotations

import threading
import time
import typing

import httpcore

if typing.TYPE_CHECKING:
    import ssl

    import httpx

_local = threading.local()


def set_deadline(deadline: float | None) -> None:
    """Give the calling thread's HTTP operations a ``time.monotonic()`` deadline."""
    _local.deadline = deadline


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Wraps a backend so its streams honour the calling thread's deadline."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(client: httpx.Client) -> bool:
    """Put :class:`DeadlineBackend` under each of ``client``'s pools (idempotent).

    ``True`` when the client's main pool has it (proxy pools from the environment
    get it too when present).
    """
    transports = [client._transport, *client._mounts.values()]
    installed = []
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if pool is None or backend is None:
            installed.append(False)
            continue
        if not isinstance(backend, DeadlineBackend):
            pool._network_backend = DeadlineBackend(backend)
        installed.append(True)
    return bool(installed) and installed[0]
