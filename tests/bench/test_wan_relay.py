"""The testbed's WAN relay (scripts/testbed/_wan.py, _relay.py): packets between a box and the
province go through it, a lossy relay drops some and TCP still delivers every byte intact, and
clearing the conditions removes the policy rules and the TUN device.

Root only (it builds a small testbed in this process; `with Testbed` always tears it down).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from scripts.testbed import Testbed, Topology, WanConditions, clear_conditions, with_conditions

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="builds network namespaces: needs root"),
    pytest.mark.skipif(not shutil.which("ip") or not shutil.which("tc"),
                       reason="iproute2 (ip, tc) is not installed"),
    pytest.mark.skipif(not os.path.exists("/dev/net/tun"), reason="no /dev/net/tun"),
]

PAYLOAD = 300_000
SERVER = f"""
import hashlib, socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9000))
s.listen(4)
s.settimeout(60)
data = hashlib.sha256(b"seed").digest() * ({PAYLOAD} // 32)
while True:
    c, _ = s.accept()
    c.sendall(data)
    c.close()
"""
CLIENT = """
import hashlib, socket, sys
s = socket.create_connection((sys.argv[1], 9000), timeout=30)
buf = b""
while chunk := s.recv(65536):
    buf += chunk
print(len(buf), hashlib.sha256(buf).hexdigest())
"""


def _fetch(tb: Testbed) -> tuple[int, str]:
    r = subprocess.run(["ip", "netns", "exec", tb.boxes[0].ns, sys.executable, "-c", CLIENT,
                        tb.seeder.ip], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    n, digest = r.stdout.split()
    return int(n), digest


def test_lossy_relay_drops_packets_and_tcp_still_delivers_every_byte() -> None:
    want = hashlib.sha256(hashlib.sha256(b"seed").digest() * (PAYLOAD // 32)).hexdigest()
    with Testbed(Topology(sites=1, boxes_per_site=1)) as tb:
        tb.spawn(tb.seeder, [sys.executable, "-c", SERVER], name="server")
        relay = with_conditions(tb, WanConditions(site_rtt_ms=10, jitter_ms=2, loss=0.05))
        try:
            got = _fetch(tb)
        finally:
            counts = clear_conditions(tb, relay)
        assert got == (PAYLOAD // 32 * 32, want)
        assert int(counts["relayed"]) > 100  # type: ignore[call-overload]
        assert int(counts["dropped"]) > 0  # type: ignore[call-overload]
        rules = subprocess.run(["ip", "-n", tb.router, "rule", "list"], capture_output=True,
                               text=True).stdout
        assert "lookup 77" not in rules
        links = subprocess.run(["ip", "-n", tb.router, "link", "show"], capture_output=True,
                               text=True).stdout
        assert "dly0" not in links
        assert _fetch(tb) == (PAYLOAD // 32 * 32, want)  # plain forwarding again
