"""Fixtures of the operators' tests: a network namespace of one's own (its loopback only)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace with only `lo` up: the README's fixed ports and addresses
    (127.0.0.1:8470, 127.0.1.1:6881, ...) collide with nothing else on the machine, and no
    packet can leave it. Removed afterwards (its processes must be gone by then)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for a network namespace")
    name = f"p2pdist-ops-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
