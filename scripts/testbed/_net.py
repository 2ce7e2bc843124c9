"""The network-namespace testbed: sites of boxes behind shaped uplinks, an origin, a seeder.

Topology (every name carries the run's prefix, e.g. ``p2pb-4242-a1b2``)::

    PREFIX-org (origin, 10.77.200.2) --u_origin-- \\
    PREFIX-prv (seeder, 10.77.201.2) --u_seeder-- PREFIX-rt (router, ip_forward=1)
    PREFIX-sw<k> (bridge br0) --D_k down / U_k up-- /     one uplink per site
      +-- PREFIX-b<k>-<i> (box, 10.77.<k+1>.<10+i>) --LAN-- port p<i> of br0

Each site's LAN is a Linux bridge in its own namespace; the router is the default gateway of every
subnet (10.77.<k+1>.1 for site k), so only connected routes exist and nothing is added to the
root namespace. Every veth end shapes its own egress with ``tbf rate R burst 4k latency 50ms``
(NOTES-testbed: accurate at 2-100 Mbit; a larger burst makes low rates bursty), so each link is
shaped in both directions. Addresses come from 10.77.0.0/16 and are used only inside these
namespaces. Teardown kills every process in the namespaces by PID (`ip netns pids`; a namespace
with a live process survives its name's deletion), then deletes the namespaces.

Byte counters are the router's view of each link (`ip -n NS -s -j link`): what the origin sent is
the rx of the router's ``org`` port, a site's WAN ingress is the tx of the router's ``s<k>``
port, what a box received is the tx of its switch port.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any

from ._proc import NsProc

PREFIX_ROOT = "p2pb"
"""All testbed namespaces start with this; the owner's PID follows, so stale runs are found."""
NET = ipaddress.ip_network("10.77.0.0/16")
SWARM_PORT = 6881
HTTP_PORT = 80
_NAME_RE = re.compile(rf"^{PREFIX_ROOT}-(\d+)-([0-9a-f]+)-")


class TestbedError(RuntimeError):
    """A testbed command failed (the command and its stderr are in the message)."""

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class Topology:
    """Link rates (Mbit/s) and sizes. The defaults are the update-time benchmark's scenario.

    Attributes:
        sites: K, the number of sites (one LAN each).
        boxes_per_site: boxes on each site's LAN (N = sites * boxes_per_site).
        origin_mbit: the origin's uplink (its downlink gets the same rate).
        seeder_mbit: the provincial seeder's uplink (and downlink).
        site_down_mbit: each site's WAN downlink D_k.
        site_up_mbit: each site's WAN uplink U_k.
        lan_mbit: each box's LAN port, both ways.
    """

    __test__ = False

    sites: int = 4
    boxes_per_site: int = 6
    origin_mbit: float = 20.0
    seeder_mbit: float = 40.0
    site_down_mbit: float = 8.0
    site_up_mbit: float = 2.0
    lan_mbit: float = 100.0

    def __post_init__(self) -> None:
        if not 1 <= self.sites <= 190 or not 1 <= self.boxes_per_site <= 200:
            raise ValueError("sites must be 1..190 and boxes_per_site 1..200")
        rates = (self.origin_mbit, self.seeder_mbit, self.site_down_mbit, self.site_up_mbit,
                 self.lan_mbit)
        if min(rates) <= 0:
            raise ValueError("every link rate must be positive")

    @property
    def boxes(self) -> int:
        return self.sites * self.boxes_per_site

    def as_dict(self) -> dict[str, Any]:
        return {"sites": self.sites, "boxes_per_site": self.boxes_per_site,
                "boxes": self.boxes, "origin_mbit": self.origin_mbit,
                "seeder_mbit": self.seeder_mbit, "site_down_mbit": self.site_down_mbit,
                "site_up_mbit": self.site_up_mbit, "lan_mbit": self.lan_mbit}


@dataclass(frozen=True)
class Host:
    """A namespace that runs processes: the origin, the seeder or a box."""

    role: str  # "origin" | "seeder" | "box"
    ns: str
    ip: str
    site: int | None = None
    index: int | None = None

    @property
    def name(self) -> str:
        return self.role if self.site is None else f"b{self.site}-{self.index}"

    @property
    def subnet(self) -> str:
        return str(ipaddress.ip_network(f"{self.ip}/24", strict=False))


def _run(argv: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise TestbedError(f"{' '.join(argv)}: {r.stderr.strip() or r.returncode}")
    return r


def list_namespaces() -> list[str]:
    """Every network namespace name (`ip netns list`)."""
    r = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_ns_pids(namespaces: Sequence[str]) -> None:
    """SIGKILL every process still inside `namespaces` (all of them ours), by PID."""
    pids: list[int] = []
    for ns in namespaces:
        r = _run(["ip", "netns", "pids", ns], check=False)
        pids += [int(p) for p in r.stdout.split() if p.isdigit()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _pid_alive(p)]
        time.sleep(0.05)


def delete_namespaces(namespaces: Sequence[str]) -> None:
    """Kill the namespaces' processes by PID, then delete them."""
    _kill_ns_pids(namespaces)
    for ns in namespaces:
        _run(["ip", "netns", "del", ns], check=False)


def teardown_prefix(prefix: str) -> list[str]:
    """Delete every namespace whose name starts with `prefix` + "-"; return their names."""
    mine = [ns for ns in list_namespaces() if ns.startswith(prefix + "-")]
    delete_namespaces(mine)
    return mine


def teardown_stale() -> list[str]:
    """Delete the namespaces of testbed runs whose owning process is gone."""
    stale = []
    for ns in list_namespaces():
        m = _NAME_RE.match(ns)
        if m and not _pid_alive(int(m.group(1))):
            stale.append(ns)
    delete_namespaces(stale)
    return stale


@dataclass
class Testbed:
    """Build with `up()` (or `with Testbed(topo) as tb:`), tear down with `down()`.

    Teardown also runs at interpreter exit and on SIGTERM/SIGHUP (turned into SystemExit so
    `finally` blocks run); Ctrl-C raises KeyboardInterrupt, which leaves the `with` block.
    """

    __test__ = False

    topo: Topology = field(default_factory=Topology)
    prefix: str = ""
    router: str = ""
    origin: Host = field(init=False)
    seeder: Host = field(init=False)
    switches: list[str] = field(default_factory=list, init=False)
    boxes: list[Host] = field(default_factory=list, init=False)
    procs: list[NsProc] = field(default_factory=list, init=False)
    _created: list[str] = field(default_factory=list, init=False)
    _is_up: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if not self.prefix:
            self.prefix = f"{PREFIX_ROOT}-{os.getpid()}-{secrets.token_hex(2)}"
        p = self.prefix
        self.router = f"{p}-rt"
        self.origin = Host("origin", f"{p}-org", "10.77.200.2")
        self.seeder = Host("seeder", f"{p}-prv", "10.77.201.2")
        self.switches = [f"{p}-sw{k}" for k in range(self.topo.sites)]
        self.boxes = [Host("box", f"{p}-b{k}-{i}", f"10.77.{k + 1}.{10 + i}", k, i)
                      for k in range(self.topo.sites) for i in range(self.topo.boxes_per_site)]

    # Building.

    def __enter__(self) -> Testbed:
        self.up()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.down()

    def _ns(self, name: str) -> None:
        _run(["ip", "netns", "add", name])
        self._created.append(name)
        _run(["ip", "-n", name, "link", "set", "dev", "lo", "up"])

    @staticmethod
    def _shape(ns: str, dev: str, mbit: float) -> None:
        _run(["tc", "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate",
              f"{int(mbit * 1000)}kbit", "burst", "4k", "latency", "50ms"])

    def _veth(self, ns_a: str, dev_a: str, ns_b: str, dev_b: str,
              rate_a: float, rate_b: float) -> None:
        """A veth pair between two namespaces; each end shapes its own egress."""
        _run(["ip", "-n", ns_a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b,
              "netns", ns_b])
        for ns, dev, rate in ((ns_a, dev_a, rate_a), (ns_b, dev_b, rate_b)):
            self._shape(ns, dev, rate)
            _run(["ip", "-n", ns, "link", "set", "dev", dev, "up"])

    def _host_addr(self, h: Host, gw: str) -> None:
        _run(["ip", "-n", h.ns, "addr", "add", f"{h.ip}/24", "dev", "eth0"])
        _run(["ip", "-n", h.ns, "route", "add", "default", "via", gw])

    def up(self) -> Testbed:
        """Create every namespace, link, shaper, address and route (≈1 s for 30 boxes)."""
        if self._is_up:
            return self
        _install_exit_hooks(self)
        self._is_up = True
        t = self.topo
        try:
            self._ns(self.router)
            _run(["ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
            for h, dev, rate, gw in ((self.origin, "org", t.origin_mbit, "10.77.200.1"),
                                     (self.seeder, "prv", t.seeder_mbit, "10.77.201.1")):
                self._ns(h.ns)
                self._veth(self.router, dev, h.ns, "eth0", rate, rate)
                _run(["ip", "-n", self.router, "addr", "add", f"{gw}/24", "dev", dev])
                self._host_addr(h, gw)
            for k, sw in enumerate(self.switches):
                self._ns(sw)
                _run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge"])
                _run(["ip", "-n", sw, "link", "set", "dev", "br0", "up"])
                # Router side shapes the site's downlink, switch side its uplink.
                self._veth(self.router, f"s{k}", sw, "wan", t.site_down_mbit, t.site_up_mbit)
                _run(["ip", "-n", sw, "link", "set", "dev", "wan", "master", "br0"])
                _run(["ip", "-n", self.router, "addr", "add", f"10.77.{k + 1}.1/24", "dev",
                      f"s{k}"])
            for b in self.boxes:
                sw = self.switches[b.site or 0]
                self._ns(b.ns)
                self._veth(sw, f"p{b.index}", b.ns, "eth0", t.lan_mbit, t.lan_mbit)
                _run(["ip", "-n", sw, "link", "set", "dev", f"p{b.index}", "master", "br0"])
                self._host_addr(b, f"10.77.{(b.site or 0) + 1}.1")
        except BaseException:
            self.down()
            raise
        return self

    def origin_serves_only(self, subnets: Sequence[str] | None) -> None:
        """Restrict which subnets the origin can answer (None: everyone).

        A national origin that feeds only the provincial seeders is a firewall rule in real
        life; here the origin simply has no route back to anyone else, so box connections to it
        never complete (PEX would otherwise hand its address to every box).
        """
        ns = self.origin.ns
        _run(["ip", "-n", ns, "route", "flush", "table", "main", "via", "10.77.200.1"],
             check=False)
        if subnets is None:
            _run(["ip", "-n", ns, "route", "add", "default", "via", "10.77.200.1"])
            return
        for s in subnets:
            _run(["ip", "-n", ns, "route", "add", s, "via", "10.77.200.1"])

    # Processes.

    def spawn(self, host: Host | str, argv: Sequence[str | os.PathLike[str]], *, name: str = "",
              **kw: Any) -> NsProc:
        """Start `argv` inside `host`'s namespace; teardown will stop it."""
        ns = host if isinstance(host, str) else host.ns
        p = NsProc(ns, argv, name=name or (host if isinstance(host, str) else host.name), **kw)
        self.procs.append(p)
        return p

    # Counters.

    def _link_stats(self, ns: str) -> dict[str, tuple[int, int]]:
        """{ifname: (rx_bytes, tx_bytes)} of one namespace."""
        r = _run(["ip", "-n", ns, "-s", "-j", "link", "show"])
        out = {}
        for link in json.loads(r.stdout):
            s = link.get("stats64", {})
            out[link["ifname"]] = (int(s["rx"]["bytes"]), int(s["tx"]["bytes"]))
        return out

    def counters(self) -> dict[str, int]:
        """Wire bytes (Ethernet frames) per link end, read from the router and switches.

        Keys: origin_tx, seeder_tx (what they sent), site<k>_in / site<k>_out (WAN ingress and
        egress of site k), box<k>-<i>_rx / _tx (what the box received / sent on its LAN port).
        """
        rt = self._link_stats(self.router)
        c = {"origin_tx": rt["org"][0], "origin_rx": rt["org"][1],
             "seeder_tx": rt["prv"][0], "seeder_rx": rt["prv"][1]}
        for k, sw in enumerate(self.switches):
            c[f"site{k}_in"] = rt[f"s{k}"][1]
            c[f"site{k}_out"] = rt[f"s{k}"][0]
            st = self._link_stats(sw)
            for b in self.boxes:
                if b.site == k:
                    rx_at_switch, tx_at_switch = st[f"p{b.index}"]
                    c[f"box{k}-{b.index}_rx"] = tx_at_switch
                    c[f"box{k}-{b.index}_tx"] = rx_at_switch
        return c

    # Teardown.

    def namespaces(self) -> list[str]:
        """Namespaces of this run that exist now."""
        return [ns for ns in list_namespaces() if ns.startswith(self.prefix + "-")]

    def down(self) -> None:
        """Stop our processes (SIGTERM, then SIGKILL by PID), delete our namespaces. Idempotent."""
        from ._proc import stop_all

        stop_all(self.procs, grace=5.0)
        self.procs.clear()
        mine = sorted(set(self._created) | set(self.namespaces()))
        delete_namespaces(mine)
        self._created.clear()
        self._is_up = False


_LIVE: list[Testbed] = []


def _install_exit_hooks(tb: Testbed) -> None:
    """Tear `tb` down at exit; SIGTERM/SIGHUP become SystemExit so `finally`/`with` run."""
    if not _LIVE:
        atexit.register(_down_all)
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
                signal.signal(sig, _raise_exit)
    _LIVE.append(tb)


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _down_all() -> None:
    for tb in _LIVE:
        with contextlib.suppress(Exception):
            tb.down()


@contextlib.contextmanager
def testbed(topo: Topology | None = None) -> Iterator[Testbed]:
    """`with testbed(Topology(...)) as tb:` builds it and always tears it down."""
    tb = Testbed(topo or Topology())
    try:
        yield tb.up()
    finally:
        tb.down()


testbed.__test__ = False  # type: ignore[attr-defined]
