"""A server's accept loop in a daemon thread that stops the moment it is asked.

``socketserver``'s ``serve_forever`` notices ``shutdown()`` only at its next poll, so
every stop waits half a polling interval on average; a test suite that starts and
stops a server per test pays that a thousand times. :class:`ServeLoop` waits on the
listening socket and a wake-up pipe together: :meth:`ServeLoop.stop` returns as soon as
the loop has finished the request it was accepting, with no interval to wait out. The
server itself (its handler threads, its sockets) is still the caller's to close.
"""

from __future__ import annotations

import os
import selectors
import socketserver
import threading


class ServeLoop:
    """``server.handle_request()`` for each connection, in a daemon thread named
    ``name``, until :meth:`stop`. Start once; stop is safe to call more than once."""

    def __init__(self, server: socketserver.TCPServer, name: str) -> None:
        self._server = server
        self._wake_read, self._wake_write = os.pipe()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._server, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fd == self._wake_read for key, _ in ready):
                    return
                self._server.handle_request()  # readable: accepts without waiting

    def stop(self, timeout: float = 5.0) -> None:
        """Wake the loop, wait up to ``timeout`` seconds for it to end."""
        if self._stopped:
            return
        self._stopped = True
        os.write(self._wake_write, b"x")
        if self._thread.ident is not None:
            self._thread.join(timeout)
        os.close(self._wake_write)
        if not self._thread.is_alive():
            os.close(self._wake_read)
