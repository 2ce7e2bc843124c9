"""Field conditions on the testbed's WAN: delay, jitter and loss through the TUN relay
(`_relay`), and a site uplink that goes down and comes back.

`WanConditions` defaults to the field scenario of issue 15: RTT 60 ms province↔site, 120 ms
origin↔province, ±10 ms jitter, 0.5% loss. `with_conditions(tb, cond)` starts the relay in the
router namespace and routes every WAN port through it; `clear_conditions` undoes it (the
namespace's teardown does too).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from ._net import Testbed, _run
from ._proc import NsProc

DEV = "dly0"
TABLE = 77
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class WanConditions:
    """Round-trip times (ms), jitter (± ms, per packet) and loss (probability per packet)."""

    site_rtt_ms: float = 60.0
    origin_rtt_ms: float = 120.0
    jitter_ms: float = 10.0
    loss: float = 0.005
    seed: int = 1

    def __post_init__(self) -> None:
        if min(self.site_rtt_ms, self.origin_rtt_ms, self.jitter_ms) < 0:
            raise ValueError("delays and jitter must not be negative")
        if not 0 <= self.loss < 1:
            raise ValueError("loss must be a probability in [0, 1)")

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    def spec(self, tb: Testbed) -> dict[str, object]:
        """The relay's spec: one-way delay per zone around the province (the star's centre)."""
        zones: list[tuple[str, float]] = [(tb.origin.subnet, self.origin_rtt_ms / 2),
                                          (tb.seeder.subnet, 0.0)]
        zones += [(f"10.77.{k + 1}.0/24", self.site_rtt_ms / 2) for k in range(tb.topo.sites)]
        return {"zones": zones, "jitter_ms": self.jitter_ms, "loss": self.loss,
                "seed": self.seed}


def _wan_ports(tb: Testbed) -> list[str]:
    return ["org", "prv", *[f"s{k}" for k in range(tb.topo.sites)]]


def with_conditions(tb: Testbed, cond: WanConditions) -> NsProc:
    """Start the relay and send every packet entering the router from a WAN port through it."""
    rt = tb.router
    _run(["ip", "-n", rt, "tuntap", "add", "dev", DEV, "mode", "tun"])
    _run(["ip", "-n", rt, "link", "set", "dev", DEV, "up"])
    for key in ("all", "default", DEV):
        _run(["ip", "netns", "exec", rt, "sysctl", "-qw", f"net.ipv4.conf.{key}.rp_filter=0"])
    relay = tb.spawn(rt, [sys.executable, "-m", "scripts.testbed._relay", "--dev", DEV,
                          "--spec", json.dumps(cond.spec(tb))], name="wan-relay", cwd=REPO)
    relay.wait_event("ready", 20)
    _run(["ip", "-n", rt, "route", "replace", "default", "dev", DEV, "table", str(TABLE)])
    for port in _wan_ports(tb):
        _run(["ip", "-n", rt, "rule", "add", "iif", port, "lookup", str(TABLE), "pref", "100"])
    return relay


def clear_conditions(tb: Testbed, relay: NsProc | None) -> dict[str, object]:
    """Undo `with_conditions`; returns the relay's counts (relayed, dropped)."""
    rt = tb.router
    for port in _wan_ports(tb):
        _run(["ip", "-n", rt, "rule", "del", "iif", port, "lookup", str(TABLE)], check=False)
    _run(["ip", "-n", rt, "route", "flush", "table", str(TABLE)], check=False)
    counts: dict[str, object] = {}
    if relay is not None:
        relay.stop(5)
        ev = next((e for e in reversed(relay.events) if e.get("event") == "stopped"), None)
        try:
            ev = ev or relay.wait_event("stopped", 2)
        except Exception:
            ev = None
        counts = {k: v for k, v in (ev or {}).items() if k not in ("event", "_t")}
        tb.procs = [p for p in tb.procs if p is not relay]
    _run(["ip", "-n", rt, "link", "del", DEV], check=False)
    return counts


def uplink(tb: Testbed, site: int, up: bool) -> None:
    """Take site `site`'s WAN cable out (or put it back): its switch's uplink port goes down,
    so the router sees no carrier; addresses and routes stay, as with a real cut line."""
    _run(["ip", "-n", tb.switches[site], "link", "set", "dev", "wan", "up" if up else "down"])
