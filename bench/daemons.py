"""The real daemons on the testbed: `p2pdist seeder run` for the origin and the province, and
`p2pdist box init` + `p2pdist box run` for every box.

Every box finds its site's neighbours with mDNS on its own address (its site bridge), knows only
the provincial seeder's feed, and elects its site's WAN box itself (no static election here).
The origin answers only the seeder tier (`Testbed.origin_serves_only`, its firewall). Each
daemon's stderr (its log) is kept in `<work>/logs/<name>.log`, each line stamped with the
benchmark's monotonic clock, so timelines can say when a log line came and tracebacks can be
counted over every daemon's whole life.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from world import World, run_cli

from keys import P2PDistError
from p2pdist.control import request
from scripts.testbed import SWARM_PORT, Host, NsProc, Testbed, stop_all

FEED_PORT = 8470
BOX_FEED_PORT = 8471
DAEMON_ENV = {"P2PDIST_LANG": "C"}
"""Logs in English whatever the machine's locale (timelines match a few log phrases)."""


PACKAGES = ("p2pdist", "seeder", "keys", "manifest")
REPO = Path(__file__).resolve().parent.parent


def precompile() -> None:
    """Write the bytecode of the project's packages, as an installed wheel has it.

    The repository is installed editable and this environment sets PYTHONDONTWRITEBYTECODE, so
    every daemon would compile ~100 modules at start (~0.15 s of CPU each; 24 boxes starting
    at once on 2 cores: ~2 s of every box's start). A box in the field runs from an installed
    package with its bytecode.
    """
    import compileall

    for package in PACKAGES:
        compileall.compile_dir(REPO / package, quiet=1)


def _p2pdist(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "p2pdist", *[str(a) for a in args]]


@dataclass
class Fleet:
    """The daemons of one swarm run and their data directories (names: origin, province,
    b<site>-<i>)."""

    tb: Testbed
    world: World
    work: Path
    poll_s: int | None
    """Seconds between every daemon's feed polls; None: each daemon's default (box 300 s,
    seeder 60 s): releases are learnt through held feed requests, not polls."""
    procs: dict[str, NsProc] = field(default_factory=dict)
    data: dict[str, Path] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)
    exited: list[NsProc] = field(default_factory=list)
    """Processes of earlier lives (restarted daemons), kept for their traceback counts."""

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    def feed_url(self, host: Host) -> str:
        return f"http://{host.ip}:{FEED_PORT}"

    # Seeders.

    def seeder_config(self, name: str, host: Host, *, origin: bool) -> Path:
        """Write `name`'s seeder.toml with `p2pdist seeder init` (the origin, or the province
        following the origin's feed)."""
        data = self.work / name
        conf = self.work / f"{name}.toml"
        data.mkdir(parents=True, exist_ok=True)
        args: list[str | Path] = [
            "seeder", "init", "--out", conf, "--data", data, "--root", self.world.root,
            "--channel", self.world.channel, "--listen", f"{host.ip}:{SWARM_PORT}",
            "--feed", f"{host.ip}:{FEED_PORT}", "--metrics", "", *self._poll()]
        if origin:
            args.append("--origin")
        else:
            args += ["--upstream", self.feed_url(self.tb.origin)]
        run_cli(*args)
        self.data[name] = data
        self.hosts[name] = host
        return conf

    def _poll(self) -> list[str]:
        return [] if self.poll_s is None else ["--poll", str(self.poll_s)]

    def start_seeder(self, name: str) -> NsProc:
        conf = self.work / f"{name}.toml"
        return self._spawn(name, _p2pdist("seeder", "run", "--config", conf, "--json"))

    # Boxes.

    def init_box(self, box: Host) -> Path:
        """`p2pdist box init` for one box: province feed, LAN subnet, site, mDNS on its IP."""
        data = self.work / box.name
        run_cli("box", "init", "--data", data, "--root", self.world.root,
                "--channel", self.world.channel, "--seeder", self.feed_url(self.tb.seeder),
                "--lan", box.subnet, "--site", f"site{box.site}",
                "--listen", f"{box.ip}:{SWARM_PORT}", "--feed", f"{box.ip}:{BOX_FEED_PORT}",
                "--mdns-interface", box.ip, *self._poll(), "--web", "")
        self.data[box.name] = data
        self.hosts[box.name] = box
        return data

    def start_box(self, name: str) -> NsProc:
        return self._spawn(name, _p2pdist("box", "run", "--data", self.data[name], "--json"))

    # Processes.

    def _spawn(self, name: str, argv: list[str]) -> NsProc:
        old = self.procs.get(name)
        if old is not None:
            self.exited.append(old)
        self.logs.mkdir(parents=True, exist_ok=True)
        p = self.tb.spawn(self.hosts[name], argv, name=name, env=DAEMON_ENV,
                          log_path=self.logs / f"{name}.log")
        self.procs[name] = p
        return p

    def wait_ready(self, names: list[str], timeout: float = 60) -> None:
        for n in names:
            self.procs[n].wait_event("ready", timeout)

    @property
    def box_names(self) -> list[str]:
        return [b.name for b in self.tb.boxes]

    def status(self, name: str) -> dict[str, Any] | None:
        """The box daemon's `status` answer (what `p2pdist status --json` prints), or None."""
        with contextlib.suppress(P2PDistError, OSError, ValueError):
            return request(self.data[name], "status", timeout=3)
        return None

    def tracebacks(self) -> int:
        """Tracebacks in any daemon's log, over every life of every daemon."""
        return sum(p.tracebacks for p in [*self.procs.values(), *self.exited])

    def stop(self, names: list[str] | None = None) -> None:
        procs = [self.procs[n] for n in (names or list(self.procs)) if n in self.procs]
        stop_all(procs, grace=10.0)
        self.tb.procs = [p for p in self.tb.procs if p not in procs]

    def capture(self, phrase: str, dest: Path) -> int:
        """Lines with `phrase` in any daemon's log; when there are any, that log, the release
        manifests (which carry the torrents) and a listing of the daemon's files are copied to
        `dest`/<run>/ so the failure can be explained later (issue 15: the hybrid-torrent error
        "v1 and v2 hashes do not describe the same data")."""
        hits = 0
        for log in sorted(self.logs.glob("*.log")) if self.logs.is_dir() else []:
            text = log.read_text(encoding="utf-8", errors="replace")
            n = text.count(phrase)
            if not n:
                continue
            hits += n
            out = dest / self.work.name
            out.mkdir(parents=True, exist_ok=True)
            shutil.copy2(log, out / log.name)
            for r in self.world.releases.values():
                shutil.copy2(r.manifest, out / r.manifest.name)
            data = self.data.get(log.stem)
            if data is not None:
                listing = [f"{p.stat().st_size} {p.relative_to(data)}"
                           for p in sorted(data.rglob("*")) if p.is_file()]
                (out / f"{log.stem}.files.txt").write_text("\n".join(listing) + "\n")
        return hits

    def keep_logs(self, dest: Path | None) -> None:
        """Copy every daemon's log to `dest`/<run> (evidence for a report), if asked."""
        if dest is not None and self.logs.is_dir():
            shutil.copytree(self.logs, dest / self.work.name, dirs_exist_ok=True)
