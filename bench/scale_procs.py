"""The scale benchmark's process side: daemons as processes, their /proc figures, a sampler.

Used by bench/scale.py only.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from p2pdist.control import request

SAMPLE_S = 0.25
CHANNEL = "national/scale-bench"


# -- processes and their /proc figures -------------------------------------------------------


def proc_figures(pid: int) -> dict[str, int] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        io = Path(f"/proc/{pid}/io").read_text()
    except OSError:
        return None
    out: dict[str, int] = {}
    for line in status.splitlines():
        k, _sep, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[k] = int(v.split()[0]) * 1024
    for line in io.splitlines():
        k, _sep, v = line.partition(":")
        if k in ("rchar", "read_bytes", "write_bytes", "cancelled_write_bytes"):
            out[k] = int(v)
    return out


@dataclass
class Daemon:
    """One `p2pdist ... run` process; its last /proc reading survives a kill -9."""

    name: str
    args: list[str]
    logdir: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    last: dict[str, int] = field(default_factory=dict)
    lives: list[dict[str, int]] = field(default_factory=list)  # final reading of each process

    def start(self) -> None:
        out = open(self.logdir / f"{self.name}.{len(self.lives)}.log", "wb")  # noqa: SIM115
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "p2pdist", *self.args],
                                     stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()
        self.last = {}

    def read(self) -> dict[str, int] | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        fig = proc_figures(self.proc.pid)
        if fig:
            self.last = fig
        return fig

    def end(self, sig: int) -> None:
        if self.proc is None:
            return
        self.read()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.lives.append(dict(self.last))
        self.proc = None

    def kill9(self) -> None:
        self.end(signal.SIGKILL)

    def stop(self) -> None:
        self.end(signal.SIGTERM)

    def reset_hwm(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(OSError):
                Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def total(self, key: str) -> int:
        """`key` summed over every life so far plus the running one."""
        return sum(x.get(key, 0) for x in self.lives) + (self.last.get(key, 0) if self.proc else 0)

    def peak_anon(self, samples: list[dict[str, Any]], phase: str | None = None) -> int:
        """The largest anonymous (heap) resident set sampled, in `phase` if given: VmHWM also
        counts mapped file pages (libtorrent reads pieces through mmap), which the kernel
        drops under pressure; the heap it cannot."""
        return max((row[self.name].get("anon", 0) for row in samples if self.name in row
                    and (phase is None or row.get("phase") == phase)), default=0)

    def peak(self) -> int:
        return max([x.get("VmHWM", 0) for x in self.lives] + [self.last.get("VmHWM", 0)])


class Sampler:
    """Every SAMPLE_S: each daemon's /proc figures and box A's status; kept as raw samples."""

    def __init__(self, daemons: list[Daemon], box_data: Path) -> None:
        self.daemons = daemons
        self.box_data = box_data
        self.t0 = time.monotonic()
        self.samples: list[dict[str, Any]] = []
        self.status: dict[str, Any] | None = None
        self.status_at = 0.0
        self.phase = "setup"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            row: dict[str, Any] = {"t": round(time.monotonic() - self.t0, 2), "phase": self.phase}
            for d in self.daemons:
                fig = d.read()
                if fig:
                    row[d.name] = {"rss": fig.get("VmRSS", 0), "hwm": fig.get("VmHWM", 0),
                                   "anon": fig.get("RssAnon", 0), "file": fig.get("RssFile", 0),
                                   "read": fig.get("read_bytes", 0),
                                   "write": fig.get("write_bytes", 0)}
            row["mem"] = _meminfo()
            try:
                st = request(self.box_data, "status", timeout=2)
            except Exception:  # a daemon starting or killed does not answer
                st = None
            self.status = st
            self.status_at = time.monotonic()
            tor = _torrent(st)
            if tor is not None:
                row["box_torrent"] = {"state": tor["state"], "done": tor["bytes_done"],
                                      "wanted": tor["bytes_wanted"],
                                      "received": sum(tor["received"].values()),
                                      "sent": tor.get("total_payload_upload", 0)}
                row["box_phase"] = _channel(st).get("phase")
            self.samples.append(row)

    def wait(self, what: str, cond: Callable[[dict[str, Any] | None], bool],
             timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status
            if st is not None and cond(st):
                return st
            time.sleep(0.05)
        raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}; last status: "
                         f"{json.dumps(self.status)[:2000]}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def _meminfo() -> dict[str, int]:
    """The machine's page cache and free memory (bytes): a phase whose reads exceed what it
    sends may be re-reading pages evicted under pressure."""
    out = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _sep, rest = line.partition(":")
        if name in ("MemAvailable", "Cached", "Dirty"):
            out[name] = int(rest.split()[0]) * 1024
    return out


def _channel(st: dict[str, Any] | None) -> dict[str, Any]:
    ch: dict[str, Any] = (st or {}).get("channels", {}).get(CHANNEL, {})
    return ch


def _torrent(st: dict[str, Any] | None) -> dict[str, Any] | None:
    t = _channel(st).get("torrent")
    return t if isinstance(t, dict) else None


def done_at_least(n: int) -> Callable[[dict[str, Any] | None], bool]:
    def cond(st: dict[str, Any] | None) -> bool:
        t = _torrent(st)
        return t is not None and _channel(st).get("active_version") != 2 and \
            t["bytes_done"] >= n
    return cond


def active(v: int) -> Callable[[dict[str, Any] | None], bool]:
    return lambda st: _channel(st).get("active_version") == v and \
        _channel(st).get("phase") == "seeding"
