"""Small network helpers shared by the test worlds (one copy)."""

from __future__ import annotations

import socket


def free_port(ip: str) -> int:
    """A TCP port free on `ip` now (for a daemon that must come back on the same address)."""
    with socket.socket() as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])
