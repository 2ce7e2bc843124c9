"""Per-box timelines of a swarm run, from the daemons' own `status` answers and logs.

A poller asks every box daemon for `status` (what `p2pdist status --json` prints) once per
second and reads the testbed's byte counters at the same time. From the samples each box gets:
when it first saw a LAN neighbour, when its election settled (and whether it won), when a
manifest for the target version was first found, its first payload byte, the bytes it received
per source (LAN, seeder, other WAN peers) per second, and when it was done (target version
active and seeding, i.e. every file verified). "done" is refined to the stamp of the log line
that says the release was activated, so a makespan is not rounded up to the next poll.

This is the evidence of where the time goes: the gaps between these marks are start-up,
discovery, polling and transfer.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemons import Fleet

POLL_S = 1.0
SOURCES = ("lan", "seeder", "wan")


@dataclass
class Sample:
    t: float  # seconds since t0
    phase: str | None
    active: int | None
    target: int | None
    neighbours: int
    elected: bool | None
    bytes_done: int
    bytes_wanted: int
    received: dict[str, int]
    settled: bool | None = None  # status's election_settled, where the daemon reports it


@dataclass
class Poller:
    """Polls `fleet`'s boxes and the testbed counters every `POLL_S` seconds in a thread."""

    fleet: Fleet
    t0: float
    target: int
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    net: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Poller:
        self._thread = threading.Thread(target=self._run, daemon=True, name="timeline")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _one(self, name: str) -> Sample | None:
        st = self.fleet.status(name)
        if st is None:
            return None
        ch = st.get("channels", {}).get(self.fleet.world.channel, {})
        tor = ch.get("torrent") or {}
        return Sample(round(time.monotonic() - self.t0, 2), ch.get("phase"),
                      ch.get("active_version"), ch.get("target_version"),
                      int(st.get("neighbours", 0)),
                      None if not st.get("elected") else st["elected"] == st.get("node_id"),
                      int(tor.get("bytes_done", 0)), int(tor.get("bytes_wanted", 0)),
                      {str(k): int(v) for k, v in (tor.get("received") or {}).items()},
                      st.get("election_settled"))

    def _run(self) -> None:
        names = self.fleet.box_names
        with ThreadPoolExecutor(4) as ex:
            while not self._stop.is_set():
                t = time.monotonic()
                for name, s in zip(names, ex.map(self._one, names), strict=True):
                    if s is not None:
                        self.samples.setdefault(name, []).append(s)
                with contextlib.suppress(Exception):  # a namespace going away at teardown
                    self.net.append((round(time.monotonic() - self.t0, 2),
                                     self.fleet.tb.counters()))
                self._stop.wait(max(0.05, POLL_S - (time.monotonic() - t)))

    def done(self, name: str) -> bool:
        s = self.samples.get(name)
        return s is not None and bool(s) and s[-1].active == self.target \
            and s[-1].phase == "seeding"

    def all_done(self) -> bool:
        return all(self.done(n) for n in self.fleet.box_names)

    def fraction(self) -> float:
        """Mean fraction of the target's bytes the boxes hold (for faults 'at ~50%')."""
        fr = []
        for n in self.fleet.box_names:
            s = self.samples.get(n)
            if not s:
                fr.append(0.0)
            elif self.done(n):
                fr.append(1.0)
            else:
                fr.append(min(1.0, s[-1].bytes_done / max(1, s[-1].bytes_wanted)))
        return sum(fr) / len(fr) if fr else 0.0


_ACTIVATED = re.compile(r"^(\d+\.\d+) .*v(\d+): activated after")
_STARTING = re.compile(r"^(\d+\.\d+) .*box daemon starting in ")


def started_at(log: Path, t0: float) -> float | None:
    """Seconds since t0 of the daemon's first log line after t0: its Python start-up (imports,
    config) is over."""
    try:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            m = _STARTING.match(line)
            if m and float(m.group(1)) >= t0:
                return round(float(m.group(1)) - t0, 2)
    except OSError:
        return None
    return None


def activated_at(log: Path, version: int, t0: float) -> float | None:
    """Seconds since t0 of the log line that says `version` was activated (last life first)."""
    found = None
    try:
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            m = _ACTIVATED.match(line)
            if m and int(m.group(2)) == version and float(m.group(1)) >= t0:
                found = float(m.group(1)) - t0
    except OSError:
        return None
    return None if found is None else round(found, 2)


def box_timeline(name: str, samples: list[Sample], target: int,
                 done_log_s: float | None, started_s: float | None = None) -> dict[str, Any]:
    """The marks of one box and its cumulative bytes by source per poll."""

    def first(pred: Any) -> float | None:
        return next((s.t for s in samples if pred(s)), None)

    done_poll = first(lambda s: s.active == target and s.phase == "seeding")
    elected = [s for s in samples if s.elected is not None]
    settle = None
    if elected:
        last = elected[-1].elected
        settle = next((s.t for s in elected if s.elected == last), None)
        # The settle time is when the last answer began to hold without a change after it.
        for a, b in itertools.pairwise(elected):
            if a.elected != b.elected:
                settle = b.t
    reported = [s for s in samples if s.settled is not None]
    if reported:  # the daemon says when its election settled
        settle = next((s.t for s in reported if s.settled), None)
    return {
        "process_up_s": started_s,
        "discovered_s": first(lambda s: s.neighbours > 0),
        "elected_s": settle,
        "elected": elected[-1].elected if elected else None,
        "first_manifest_s": first(lambda s: s.target == target),
        "first_byte_s": first(lambda s: s.active == target or (
            s.target == target and s.phase == "downloading" and sum(s.received.values()) > 0)),
        "done_s": done_log_s if done_log_s is not None else done_poll,
        "done_poll_s": done_poll,
        "t": [s.t for s in samples],
        "received": {src: [s.received.get(src, 0) for s in samples] for src in SOURCES},
    }


def timelines(poller: Poller) -> dict[str, Any]:
    """Every box's timeline, and the network counters (cumulative wire bytes) per poll."""
    f = poller.fleet
    boxes = {}
    for name in f.box_names:
        done_log = activated_at(f.logs / f"{name}.log", poller.target, poller.t0)
        boxes[name] = box_timeline(name, poller.samples.get(name, []), poller.target, done_log,
                                   started_at(f.logs / f"{name}.log", poller.t0))
    if poller.net:
        base = poller.net[0][1]
        keys = ["origin_tx", "seeder_tx", *[f"site{k}_in" for k in range(f.tb.topo.sites)]]
        net = {"t": [t for t, _ in poller.net],
               **{k: [c.get(k, 0) - base.get(k, 0) for _, c in poller.net] for k in keys}}
    else:
        net = {}
    return {"poll_s": POLL_S, "boxes": boxes, "net": net}


def summary(tl: dict[str, Any]) -> dict[str, Any]:
    """Medians and maxima of each mark over the boxes: the one-line answer to 'where did the
    time go'."""
    out: dict[str, Any] = {}
    for mark in ("process_up_s", "discovered_s", "elected_s", "first_manifest_s",
                 "first_byte_s", "done_s"):
        vals = sorted(v for b in tl["boxes"].values() if (v := b.get(mark)) is not None)
        out[mark] = {"median": vals[len(vals) // 2] if vals else None,
                     "max": vals[-1] if vals else None, "n": len(vals)}
    elected = [b for b in tl["boxes"].values() if b.get("elected")]
    out["elected_boxes"] = len(elected)
    out["elected_first_byte_s_max"] = max(
        (b["first_byte_s"] for b in elected if b["first_byte_s"] is not None), default=None)
    out["elected_done_s_max"] = max(
        (b["done_s"] for b in elected if b["done_s"] is not None), default=None)
    return out
