"""A userspace delay/jitter/loss relay for the testbed's WAN (this kernel has no netem).

Runs inside the router namespace, attached to a persistent TUN device. Policy routing sends
every packet that arrives on a WAN port of the router (origin, province, each site's uplink)
into the TUN device (`ip rule iif PORT lookup 77`, table 77: default dev TUN); this process
reads it, holds it for its path's delay, maybe drops it, and writes it back; the kernel then
receives it from the TUN device (no rule matches that) and forwards it by the main table. The
tbf shapers on the veth ends are untouched, so rates stay as they were.

The delay of a packet is the one-way delay of its source zone plus that of its destination zone
(a star around the province: province↔site RTT 2·site, origin↔province 2·origin), plus a
uniform jitter in ±jitter, drawn per packet. Packets of one (source, destination) pair keep
their order (a later packet never leaves before an earlier one), as netem does with a rate
limit: jitter without reordering, which TCP would otherwise take for loss. Loss drops each
packet with the given probability. LAN traffic never reaches the router and is not touched.

    python -m scripts.testbed._relay --dev dly0 --spec '{"zones": [["10.77.200.0/24", 60]],
        "jitter_ms": 10, "loss": 0.005, "seed": 1}'

prints one JSON line {"event": "ready"} when attached, and on SIGTERM/SIGINT a JSON line with
its counts (relayed, dropped, not IPv4).
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import ipaddress
import json
import os
import random
import select
import signal
import struct
import sys
import time
from collections.abc import Sequence
from types import FrameType

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
TABLE = 77
MAX_BATCH = 256


def open_tun(dev: str) -> int:
    """Attach to the (persistent) TUN device `dev`; returns a non-blocking fd."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


class Delays:
    """One-way delay (seconds) of a packet from its IPv4 source and destination."""

    def __init__(self, zones: Sequence[tuple[str, float]]) -> None:
        self.zones = [(ipaddress.ip_network(net), ms / 1000) for net, ms in zones]
        self._cache: dict[bytes, float] = {}

    def zone(self, addr: bytes) -> float:
        d = self._cache.get(addr)
        if d is None:
            ip = ipaddress.IPv4Address(addr)
            d = next((ms for net, ms in self.zones if ip in net), 0.0)
            self._cache[addr] = d
        return d


def run(dev: str, spec: dict[str, object]) -> dict[str, int]:
    zones = [(str(n), float(ms)) for n, ms in spec.get("zones", [])]  # type: ignore[attr-defined]
    jitter = float(spec.get("jitter_ms", 0)) / 1000  # type: ignore[arg-type]
    loss = float(spec.get("loss", 0))  # type: ignore[arg-type]
    rng = random.Random(int(spec.get("seed", 1)))  # type: ignore[call-overload]
    delays = Delays(zones)
    fd = open_tun(dev)
    heap: list[tuple[float, int, bytes]] = []
    last: dict[bytes, float] = {}  # src+dst -> release time of its latest packet
    counts = {"relayed": 0, "dropped": 0, "not_ipv4": 0}
    seq = 0
    stopping = False

    def stop(_sig: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"event": "ready", "dev": dev}), flush=True)
    while not stopping:
        now = time.monotonic()
        timeout = min(0.5, max(0.0, heap[0][0] - now)) if heap else 0.5
        try:
            readable, _w, _x = select.select([fd], [], [], timeout)
        except InterruptedError:
            continue
        if readable:
            for _ in range(MAX_BATCH):
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                now = time.monotonic()
                if len(pkt) < 20 or pkt[0] >> 4 != 4:
                    counts["not_ipv4"] += 1
                    with_delay = now
                    key = b""
                else:
                    if loss and rng.random() < loss:
                        counts["dropped"] += 1
                        continue
                    key = pkt[12:20]
                    d = delays.zone(pkt[12:16]) + delays.zone(pkt[16:20])
                    if jitter:
                        d = max(0.0, d + rng.uniform(-jitter, jitter))
                    with_delay = max(now + d, last.get(key, 0.0))
                last[key] = with_delay
                seq += 1
                heapq.heappush(heap, (with_delay, seq, pkt))
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _t, _s, pkt = heapq.heappop(heap)
            try:
                os.write(fd, pkt)
                counts["relayed"] += 1
            except OSError:
                counts["dropped"] += 1
    os.close(fd)
    return counts


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", required=True)
    ap.add_argument("--spec", required=True, help="JSON: zones [[subnet, one-way ms]], "
                    "jitter_ms, loss, seed")
    args = ap.parse_args(argv)
    try:
        spec = json.loads(args.spec)
        if not isinstance(spec, dict):
            raise ValueError("the spec must be a JSON object")
    except ValueError as e:
        sys.exit(f"--spec: {e}")
    counts = run(args.dev, spec)
    print(json.dumps({"event": "stopped", **counts}), flush=True)


if __name__ == "__main__":
    main()
