"""Loopback port checks shared by the login tests."""

from __future__ import annotations

import socket


def released(port: int) -> bool:
    """True when nothing accepts connections on 127.0.0.1 or ::1 at ``port``."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            try:
                sock.connect((host, port))
            except OSError:
                continue
            return False
    return True
