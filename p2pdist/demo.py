"""The demo swarm: an origin, a provincial seeder and boxes in sites, as real processes on
loopback, with link speeds emulated by libtorrent's peer classes.

Each box has its own loopback address; a site is a /24 (127.N.1x.0/24, N the first free /16 or
`--base-address`) that the box treats as its
LAN (unlimited), so everything else is WAN and obeys the box's WAN caps, which stand for the
site's shared uplink. Boxes find their site neighbours through configured feed URLs (multicast on
loopback would advertise one address for all), elect one box per site to talk to the WAN, and
take the rest from each other. The origin and the seeder are box daemons too (same feed API).
A real seeder, the national center's, collects the boxes' check-ins and serves the operator's
dashboard; every box serves its library web on its address, port 8480.

This module owns the scenario and the arithmetic; `cli/demo_cmd.py` presents it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keys import P2PDistError

from .childproc import Child, stop_all
from .control import request

CHANNEL = "national/winter-2027"
BOX_SWARM_PORT = 6881
BOX_FEED_PORT = 8471
POLL_S = 2.0


@dataclass(frozen=True)
class Links:
    """Emulated link speeds in bytes per second (the demo's defaults are the benchmark's
    scenario scaled up 4x, so 200 MB takes about a minute)."""

    origin_up: int = 10_000_000
    seeder_up: int = 20_000_000
    site_down: int = 4_000_000
    site_up: int = 1_000_000

    def bound_s(self, size: int, sites: int) -> float:
        """Lower bound on the update time of every box (see bench/README.md):
        the seeder must get the bundle from the origin, each site must get it through its
        downlink, and all sites together through the seeders' and sites' uplinks."""
        return max(size / self.origin_up, size / self.site_down,
                   sites * size / (self.seeder_up + sites * self.site_up))

    def one_download_per_box_s(self, size: int, boxes: int, sites: int) -> float:
        """The old way at best: every box pulls its own copy from the provincial mirror; each
        site's downlink carries one copy per box, the mirror's uplink one per box in all."""
        per_site = -(-boxes // sites)
        return max(per_site * size / self.site_down, boxes * size / self.seeder_up)


@dataclass
class Node:
    name: str
    site: str
    ip: str
    data: Path
    child: Child | None = None
    ready: dict[str, Any] = field(default_factory=dict)
    done_at: float | None = None
    last: dict[str, Any] = field(default_factory=dict)

    @property
    def feed_url(self) -> str:
        return f"http://{self.ip}:{self.ready.get('feed_port', BOX_FEED_PORT)}"


BOX_WEB_PORT = 8480
DEFAULT_PREFIX = "127.0"


def box_ip(site: int, index: int, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}.{10 + site}.{index + 1}"


def parse_base_address(text: str) -> str:
    """The /16 of loopback a demo uses, from `--base-address 127.N.0.0`: "127.N".

    Raises:
        ConfigError: not an IPv4 loopback address.
    """
    import ipaddress

    from .errors import ConfigError
    from .i18n import _

    try:
        ip = ipaddress.IPv4Address(text)
    except ValueError:
        ip = None
    if ip is None or not ip.is_loopback:
        raise ConfigError(_("--base-address {value!r} is not an IPv4 loopback address like "
                            "127.5.0.0 (the demo runs on 127.N.x.y)").format(value=text))
    return ".".join(str(ip).split(".")[:2])


def _ports_free(ip: str, ports: tuple[int, ...]) -> bool:
    import socket

    for port in ports:
        with socket.socket() as s:
            try:
                s.bind((ip, port))
            except OSError:
                return False
    return True


def free_prefix(boxes: int, sites: int) -> str:
    """The first 127.N (N = 0, 1, ...) where every box's fixed ports are free, so a second
    demo on the host (or anything else on 127.0.10.1:8471) does not collide with this one."""
    from .errors import ConfigError
    from .i18n import _

    for n in range(256):
        prefix = f"127.{n}"
        ips = [box_ip(i % sites, i // sites, prefix) for i in range(boxes)]
        if all(_ports_free(ip, (BOX_SWARM_PORT, BOX_FEED_PORT, BOX_WEB_PORT)) for ip in ips):
            return prefix
    raise ConfigError(_("no free loopback /16 for the demo's boxes; give --base-address"))


def disk_usage(folder: Path) -> int:
    """Bytes the folder takes on disk (hard links counted once)."""
    import os

    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


class DemoSwarm:
    """Starts, watches and stops the demo's processes. Use as a context manager."""

    def __init__(self, work: Path, root: Path, boxes: int, sites: int, links: Links,
                 run_cli: Callable[..., object], prefix: str = DEFAULT_PREFIX) -> None:
        self.work, self.root, self.links = work, root, links
        self.run_cli = run_cli
        self.prefix = prefix
        self.origin = Node("origin", "-", f"{prefix}.0.1", work / "origin")
        self.seeder = Node("seeder", "-", f"{prefix}.0.2", work / "seeder")
        self.center = Node("center", "-", f"{prefix}.0.3", work / "center")
        self.boxes = [Node(f"box{i + 1}", f"site{i % sites + 1}",
                           box_ip(i % sites, i // sites, prefix), work / f"box{i + 1}")
                      for i in range(boxes)]
        self.t0 = 0.0

    def __enter__(self) -> DemoSwarm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def nodes(self) -> list[Node]:
        return [self.origin, self.seeder, *self.boxes]

    def _init(self, node: Node, *args: str) -> None:
        self.run_cli("box", "init", "--data", node.data, "--root", self.root, "--channel",
                     CHANNEL, "--no-mdns", "--poll", str(POLL_S), *args)

    def _run(self, node: Node) -> None:
        node.child = Child(["box", "run", "--data", node.data, "--json"], name=node.name)
        node.ready = node.child.wait_event("ready", 60)

    def _start_center(self) -> None:
        """The national center's check-in collector and dashboard: a seeder that knows the
        release's catalog from its signed manifest but seeds nothing (the demo's links stay
        as emulated)."""
        from manifest import Manifest, decode_envelope

        from .store import Store

        envelope = Store(self.origin.data).manifest_envelope(CHANNEL, 1)
        Store(self.center.data).record_manifest(
            envelope, Manifest.decode_body(decode_envelope(envelope).signed))
        config = self.work / "center.toml"
        self.run_cli("seeder", "init", "--out", config, "--data", self.center.data, "--root",
                     self.root, "--channel", CHANNEL, "--origin", "--listen",
                     f"{self.center.ip}:0", "--feed", f"{self.center.ip}:0", "--metrics", "",
                     "--web", f"{self.center.ip}:0", "--poll", "5")
        self.center.child = Child(["seeder", "run", "--config", config, "--json"],
                                  name=self.center.name)
        self.center.ready = self.center.child.wait_event("ready", 60)

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.center.ip}:{self.center.ready.get('web_port', 0)}"

    def library_urls(self) -> list[str]:
        return [f"http://{b.ip}:{b.ready['web_port']}" for b in self.boxes
                if b.ready.get("web_port")]

    def start(self) -> None:
        """Origin (holding the published release), then the seeder, then every box."""
        links = self.links
        self._start_center()
        self._init(self.origin, "--listen", f"{self.origin.ip}:0", "--feed",
                   f"{self.origin.ip}:0", "--site-mode", "own-link",
                   "--wan-limit", f"up={links.origin_up}B")
        self._run(self.origin)
        self._init(self.seeder, "--listen", f"{self.seeder.ip}:0", "--feed",
                   f"{self.seeder.ip}:0", "--site-mode", "own-link", "--seeder",
                   self.origin.feed_url, "--wan-limit", f"up={links.seeder_up}B")
        self._run(self.seeder)
        self.t0 = time.monotonic()
        for b in self.boxes:
            site_net = b.ip.rsplit(".", 1)[0] + ".0/24"
            mates = [f"http://{o.ip}:{BOX_FEED_PORT}" for o in self.boxes
                     if o.site == b.site and o is not b]
            args = ["--listen", f"{b.ip}:{BOX_SWARM_PORT}", "--feed", f"{b.ip}:{BOX_FEED_PORT}",
                    "--site", b.site, "--lan", site_net, "--seeder", self.seeder.feed_url,
                    "--seeder", self.center.feed_url,
                    "--wan-limit", f"up={links.site_up}B,down={links.site_down}B"]
            for m in mates:
                args += ["--neighbour", m]
            self._init(b, *args)
            b.child = Child(["box", "run", "--data", b.data, "--json"], name=b.name)
        for b in self.boxes:
            assert b.child is not None
            b.ready = b.child.wait_event("ready", 60)

    def poll(self) -> None:
        """Ask every daemon for its status (control socket) and note completions."""
        now = time.monotonic() - self.t0
        for n in self.nodes:
            try:
                st = request(n.data, "status", timeout=5)
            except P2PDistError:
                continue
            n.last = st
            ch = st["channels"].get(CHANNEL, {})
            if n.done_at is None and ch.get("active_version") == 1 and n in self.boxes:
                n.done_at = now

    def all_done(self) -> bool:
        return all(b.done_at is not None for b in self.boxes)

    def crashed(self) -> list[str]:
        return [f"{n.name}: {n.child.stderr_tail}" for n in (*self.nodes, self.center)
                if n.child is not None and n.child.proc.poll() is not None]

    def stop(self) -> None:
        stop_all([n.child for n in (*self.nodes, self.center) if n.child is not None])

    def summary(self, size: int) -> dict[str, Any]:
        boxes = []
        for b in self.boxes:
            t = b.last.get("channels", {}).get(CHANNEL, {}).get("torrent", {}) or {}
            rec = t.get("received", {})
            boxes.append({
                "id": b.name, "node_id": b.last.get("node_id", ""), "site": b.site,
                "active_version": b.last.get("channels", {}).get(CHANNEL, {})
                .get("active_version"),
                "seconds": round(b.done_at, 1) if b.done_at is not None else None,
                "elected": b.last.get("elected") == b.last.get("node_id"),
                "bytes_from_lan": rec.get("lan", 0),
                "bytes_from_seeders": rec.get("seeder", 0),
                # WAN peers other than the box's seeder: here only the origin (the seeder's
                # peer exchange tells the origin about the elected boxes, and it serves them).
                "bytes_from_origin": rec.get("wan", 0),
            })
        done = [b["seconds"] for b in boxes if b["seconds"] is not None]
        sites = len({b.site for b in self.boxes})
        o = self.origin.last.get("channels", {}).get(CHANNEL, {}).get("torrent", {}) or {}
        s = self.seeder.last.get("channels", {}).get(CHANNEL, {}).get("torrent", {}) or {}
        makespan = max(done) if len(done) == len(boxes) else None
        bound = self.links.bound_s(size, sites)
        old = self.links.one_download_per_box_s(size, len(boxes), sites)
        return {
            "size": size,
            "sites": sites,
            "makespan_s": makespan,
            "bound_s": round(bound, 1),
            "makespan_over_bound": round(makespan / bound, 2) if makespan else None,
            "one_download_per_box_s": round(old, 1),
            "speedup_vs_one_download_per_box": round(old / makespan, 2) if makespan else None,
            "origin_egress_bytes": o.get("total_payload_upload", 0),
            "seeder_egress_bytes": s.get("total_payload_upload", 0),
            "links": self.links.__dict__,
            "boxes": boxes,
        }


def fresh_dir(path: Path, marker: str) -> None:
    """(Re)create a working folder the demo owns; never delete a folder it did not make."""
    if path.exists():
        if not (path / marker).exists():
            from .errors import ConfigError
            from .i18n import _

            raise ConfigError(_("{dir} exists and was not made by `p2pdist demo`; choose "
                                "another --out").format(dir=path))
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / marker).write_text("made by p2pdist demo; deleted by the next run\n")
