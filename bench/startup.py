"""Benchmark: the system's fixed start-up costs and idle CPU, with the real daemons on loopback.

No shaping: at loopback speed a 16 MiB release moves in well under a second, so every second
beyond that is a fixed cost (a poll, a grace period, a reconnect timer, super-seeding pacing).

Two scenarios, each with an origin `p2pdist seeder run` and N `box init` + `box run` boxes on one
site (mDNS on 127.0.0.1, each box on its own 127.0.0.x address; `--no-mdns` for lone boxes):

- **held**: the origin already seeds the release; the boxes start empty. Per box: seconds from
  `box run` start to the first payload byte from a seeder, to the first byte from anyone, and to
  the release active, plus each step from the daemon's own INFO log (stamped as it is read).
- **publish**: an origin, a provincial seeder following it and the boxes (following the
  province) all run idle; the idle CPU of each daemon is measured over `--idle` seconds (no
  status reads meanwhile); the release is published at t0; seconds from t0 to the province's
  fetch start/done and to each box's first byte and active release; then the idle CPU of
  everyone while seeding.

Poll intervals are the daemons' defaults unless `--poll` is given (it applies to every daemon).

Usage: .venv/bin/python bench/startup.py [--boxes 3] [--size 16MiB] [--no-mdns] [--out DIR]
Writes DIR/startup.json; the last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from scale import _wait_feed, build, cli  # noqa: E402
from scale_procs import CHANNEL  # noqa: E402

from p2pdist.control import request  # noqa: E402
from p2pdist.sample import parse_size, write_sample  # noqa: E402
from tests.world import free_port, make_trust_root  # noqa: E402

RESULTS = REPO / "bench" / "results"
SAMPLE_S = 0.25
TICK = os.sysconf("SC_CLK_TCK")
TARGETS = {"first_seeder_byte_s": 3.0, "idle_cpu_core_fraction": 0.005}
# What each step is called in the daemons' INFO logs (English: the daemons run with LANG=C).
BOX_STEPS = {
    "listening": "listening on",
    "found": "found at",
    "download_started": "download started",
    "checked": "every wanted file matched",
    "activated": "activated after",
}
SEEDER_STEPS = {"ready": "seeder_ready", "seeding": "seeding channel", "fetch_started":
                "fetch_started", "fetch_done": "fetch_done"}


def log(msg: str) -> None:
    print(f"[startup {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process so far (its threads included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Proc:
    """A daemon whose output lines are stamped (monotonic seconds) as they arrive."""

    name: str
    args: list[str]
    logdir: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    lines: list[tuple[float, str]] = field(default_factory=list)

    def start(self) -> None:
        env = {**os.environ, "LC_ALL": "C.UTF-8", "P2PDIST_LANG": "C"}
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "p2pdist", *self.args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        with open(self.logdir / f"{self.name}.log", "w") as out:
            for raw in self.proc.stdout:
                t = time.monotonic()
                line = raw.decode(errors="replace").rstrip("\n")
                self.lines.append((t, line))
                out.write(f"{t - self.started:8.3f} {line}\n")
                out.flush()

    def step(self, needle: str, after: float = 0.0) -> float | None:
        """When the first log line containing `needle` (at or after `after`) arrived."""
        for t, line in list(self.lines):
            if t >= after and needle in line:
                return t
        return None

    def cpu(self) -> float | None:
        return cpu_seconds(self.proc.pid) if self.proc is not None else None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def tracebacks(self) -> int:
        return sum("Traceback" in line for _t, line in self.lines)


@dataclass
class Box:
    """A box daemon and what its status said over time."""

    proc: Proc
    data: Path
    first_seeder: float | None = None
    first_any: float | None = None
    active: float | None = None
    peak: dict[str, int] = field(default_factory=dict)

    def observe(self, now: float) -> None:
        try:
            st = request(self.data, "status", timeout=2)
        except Exception:  # starting, or busy: the next sample will do
            return
        ch = st.get("channels", {}).get(CHANNEL, {})
        t = ch.get("torrent") or {}
        rec = t.get("received") or {}
        if self.first_seeder is None and rec.get("seeder", 0) > 0:
            self.first_seeder = now
        if self.first_any is None and sum(rec.values()) > 0:
            self.first_any = now
        for k, v in rec.items():
            self.peak[k] = max(self.peak.get(k, 0), v)
        if self.active is None and ch.get("active_version") == 1 and ch.get("phase") == "seeding":
            self.active = now


def sample_until_active(boxes: list[Box], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for b in boxes:
            if b.active is None:
                b.observe(time.monotonic())
        if all(b.active is not None for b in boxes):
            return
        time.sleep(SAMPLE_S)
    raise SystemExit(f"not every box activated within {timeout:.0f} s; logs in "
                     f"{boxes[0].proc.logdir}")


def idle_cpu(procs: list[Proc], seconds: float) -> dict[str, float]:
    """Each process's CPU over `seconds` as a fraction of one core (nothing asked meanwhile)."""
    c0 = {p.name: p.cpu() for p in procs}
    t0 = time.monotonic()
    time.sleep(seconds)
    dt = time.monotonic() - t0
    out = {}
    for p in procs:
        a, b = c0[p.name], p.cpu()
        if a is not None and b is not None:
            out[p.name] = round((b - a) / dt, 4)
    return out


def rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 2)


def steps(p: Proc, names: dict[str, str], t0: float) -> dict[str, float | None]:
    return {k: rel(p.step(needle, t0), t0) for k, needle in names.items()}


class World:
    """Keys, a signed release, and helpers to make daemons; all under one temporary folder."""

    def __init__(self, work: Path, size: int, args: argparse.Namespace) -> None:
        self.work = work
        self.args = args
        self.logs = work / "logs"
        self.logs.mkdir()
        self.root = make_trust_root(work, cli)
        content = work / "c1"
        write_sample(content, size, seed=7)
        self.content = content
        self.manifest, _s = build(work, content, 1)
        self.procs: list[Proc] = []
        self.next_ip = 2

    def poll(self) -> list[str]:
        return ["--poll", str(self.args.poll)] if self.args.poll else []

    def seeder(self, name: str, *, origin: bool, upstream: str | None = None
               ) -> tuple[Proc, str, Path]:
        # Seeders on 127.0.0.2, .3, ...: mDNS on loopback advertises every box as 127.0.0.1,
        # so the boxes live there (distinct ports) and count 127.0.0.1 as their LAN.
        ip = f"127.0.0.{self.next_ip}"
        self.next_ip += 1
        feed_port = free_port(ip)
        role = ["--origin"] if origin else ["--upstream", upstream or ""]
        cfg = self.work / f"{name}.toml"
        cli("seeder", "init", "--out", cfg, "--data", self.work / name, "--root", self.root,
            "--channel", CHANNEL, *role, "--listen", f"{ip}:{free_port(ip)}",
            "--feed", f"{ip}:{feed_port}", "--metrics", "",
            *([] if not self.args.poll else ["--poll", str(max(1, int(self.args.poll)))]))
        if self.args.super_seed is not None:
            text = cfg.read_text()
            want = "true" if self.args.super_seed else "false"
            cfg.write_text("\n".join(f"super_seed = {want}" if line.startswith("super_seed")
                                     else line for line in text.splitlines()) + "\n")
        p = Proc(name, ["seeder", "run", "--config", str(cfg)], self.logs)
        self.procs.append(p)
        return p, f"http://{ip}:{feed_port}", self.work / name

    def publish(self, origin_data: Path) -> None:
        cli("release", "publish", self.manifest, "--content", self.content, "--to", origin_data,
            "--root", self.root)

    def box(self, name: str, seeder: str) -> Box:
        ip = "127.0.0.1"
        mdns = ["--mdns", "--mdns-interface", "127.0.0.1"] if self.args.mdns else ["--no-mdns"]
        cli("box", "init", "--data", self.work / name, "--root", self.root, "--channel", CHANNEL,
            "--seeder", seeder, "--listen", f"{ip}:{free_port(ip)}", "--feed",
            f"{ip}:{free_port(ip)}", "--web", "", "--site", "bench", "--lan", "127.0.0.1/32",
            *mdns, *self.poll())
        p = Proc(name, ["box", "run", "--data", str(self.work / name)], self.logs)
        self.procs.append(p)
        return Box(p, self.work / name)

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            p.stop()
        self.procs.clear()


def box_rows(boxes: list[Box], t0_of: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for b in boxes:
        t0 = t0_of[b.proc.name]
        rows.append({
            "box": b.proc.name,
            "first_seeder_byte_s": rel(b.first_seeder, t0),
            "first_byte_s": rel(b.first_any, t0),
            "active_s": rel(b.active, t0),
            "received_by_source": b.peak,
            "log_steps_s": steps(b.proc, BOX_STEPS, t0),
        })
    return rows


def held(world: World, n: int) -> dict[str, Any]:
    """The origin holds the release; the boxes start empty, all at once."""
    origin, feed, data = world.seeder("origin_h", origin=True)
    world.publish(data)
    origin.start()
    _wait_feed(feed)
    boxes = [world.box(f"held_box{i}", feed) for i in range(n)]
    for b in boxes:
        b.proc.start()
    sample_until_active(boxes, 300)
    rows = box_rows(boxes, {b.proc.name: b.proc.started for b in boxes})
    seeding_cpu = idle_cpu([origin, *(b.proc for b in boxes)], world.args.idle)
    tracebacks = sum(p.tracebacks() for p in world.procs)
    world.stop_all()
    return {"boxes": rows, "idle_cpu_seeding": seeding_cpu, "tracebacks": tracebacks}


def publish(world: World, n: int) -> dict[str, Any]:
    """Everyone runs idle; the release is published at t0 at the origin."""
    origin, o_feed, o_data = world.seeder("origin_p", origin=True)
    province, p_feed, _p = world.seeder("province", origin=False, upstream=o_feed)
    origin.start()
    _wait_feed(o_feed)
    province.start()
    _wait_feed(p_feed)
    boxes = [world.box(f"pub_box{i}", p_feed) for i in range(n)]
    for b in boxes:
        b.proc.start()
    deadline = time.monotonic() + 60
    while not all(b.proc.step("listening on") for b in boxes):
        if time.monotonic() > deadline:
            raise SystemExit("boxes did not start")
        time.sleep(0.2)
    time.sleep(world.args.settle)  # past every start-up grace
    daemons = [origin, province, *(b.proc for b in boxes)]
    before = idle_cpu(daemons, world.args.idle)
    t0 = time.monotonic()
    world.publish(o_data)
    published = time.monotonic()
    sample_until_active(boxes, 600)
    rows = box_rows(boxes, {b.proc.name: t0 for b in boxes})
    after = idle_cpu(daemons, world.args.idle)
    out = {
        "publish_command_s": round(published - t0, 2),
        "origin_steps_s": steps(origin, SEEDER_STEPS, t0),
        "province_steps_s": steps(province, SEEDER_STEPS, t0),
        "boxes": rows,
        "idle_cpu_before": before,
        "idle_cpu_seeding": after,
        "tracebacks": sum(p.tracebacks() for p in world.procs),
    }
    world.stop_all()
    return out


def summary(res: dict[str, Any]) -> dict[str, Any]:
    h, p = res["held"], res["publish"]

    def worst(rows: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in rows if r[key] is not None]
        return max(vals) if vals and len(vals) == len(rows) else None

    cpu = [*h["idle_cpu_seeding"].values(), *p["idle_cpu_before"].values(),
           *p["idle_cpu_seeding"].values()]
    # Only the elected box of a shared-uplink site takes bytes from a seeder.
    from_seeder = [r["first_seeder_byte_s"] for r in h["boxes"]
                   if r["first_seeder_byte_s"] is not None]
    return {
        "first_seeder_byte_s": min(from_seeder) if from_seeder else None,
        "first_byte_s": worst(h["boxes"], "first_byte_s"),
        "held_done_s": worst(h["boxes"], "active_s"),
        "publish_first_byte_s": worst(p["boxes"], "first_byte_s"),
        "publish_done_s": worst(p["boxes"], "active_s"),
        "province_fetch_done_s": p["province_steps_s"]["fetch_done"],
        "idle_cpu_core_fraction": max(cpu) if cpu else None,
        "idle_cpu_before_max": max(p["idle_cpu_before"].values(), default=None),
        "idle_cpu_seeding_max": max([*h["idle_cpu_seeding"].values(),
                                     *p["idle_cpu_seeding"].values()], default=None),
        "tracebacks": h["tracebacks"] + p["tracebacks"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boxes", type=int, default=3)
    ap.add_argument("--size", default="16MiB")
    ap.add_argument("--mdns", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--poll", type=float, default=None,
                    help="poll interval of every daemon (default: each daemon's default)")
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of each idle-CPU window")
    ap.add_argument("--settle", type=float, default=15.0,
                    help="seconds after the boxes start before the idle window (publish)")
    ap.add_argument("--super-seed", action=argparse.BooleanOptionalAction, default=None,
                    help="force the seeders' super_seed setting (default: theirs)")
    ap.add_argument("--only", choices=("held", "publish"))
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    size = parse_size(args.size)
    work = Path(tempfile.mkdtemp(prefix="p2pdist-startup-", dir="/dev/shm"))
    world = World(work, size, args)
    res: dict[str, Any] = {"bench": "startup", "bundle_bytes": size, "boxes": args.boxes,
                           "mdns": args.mdns, "poll": args.poll,
                           "super_seed": args.super_seed}
    try:
        if args.only in (None, "held"):
            log("held: the origin seeds, boxes start empty")
            res["held"] = held(world, args.boxes)
        if args.only in (None, "publish"):
            log("publish: everyone idle, then published at t0")
            res["publish"] = publish(world, args.boxes)
    finally:
        world.stop_all()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if "held" in res and "publish" in res:
        res["summary"] = summary(res)
        res["targets"] = {k: {"target": f"<= {v:g}", "value": res["summary"].get(k),
                              "met": (res["summary"].get(k) or 1e9) <= v}
                          for k, v in TARGETS.items()}
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "startup.json").write_text(json.dumps(res, indent=1) + "\n")
        print(json.dumps(res["summary"]))
    else:
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
