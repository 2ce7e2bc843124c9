"""Benchmark: update time of a province-like network, old ways vs the p2pdist swarm.

On the network-namespace testbed (scripts/testbed: K sites of boxes behind shaped 8/2 Mbit
uplinks, a 20 Mbit origin, a 40 Mbit provincial seeder, 100 Mbit LANs) one signed release of F
bytes is delivered three ways, one after the other on the same testbed:

- central: every box downloads every file over HTTP from the origin (nginx, Range-capable);
- mirror: every box downloads over HTTP from the provincial seeder's host;
- swarm: the origin seeds (`p2pdist seed`); the provincial seeder is a `box fetch --seed` from the
  origin; every box is a `box fetch --seed` (see `launch_box`). With the default
  `--peering elected-capped` the first box of each site dials the seeder (the agent's
  shared-uplink site election) and the others cap their WAN class to 1 KB/s (PEX would hand them
  the seeder anyway); every box dials its site's neighbours as LAN peers; the origin answers only
  the seeder tier (`Testbed.origin_serves_only`).

Per mode: makespan, p50/p99 completion, origin and seeder egress, each site's WAN ingress (router
interface counters, wire bytes), the LAN share of what boxes received; every box's files are
hashed against the manifest. The lower bound is `model.lower_bound_s`.

Scale: the issue's scenario is 64 MiB over 20/40/8/2/100 Mbit links, ~21 minutes for the three
modes here. The default divides F by 4 (16 MiB) and every link rate by 2 (`--rate-scale 0.5`):
every transfer time is half the issue's (the run takes ~10 minutes) and the 2 cores stay out of
saturation during the swarm (94% busy at full rates and 32 MiB, 75% at half rates). Ratios to the
bound do not depend on the scale, start-up time aside.

Usage: .venv/bin/python bench/update_time.py [--size 32MiB] [--sweep] [--tiny] [--out DIR]
Writes DIR/update_time.json + .png (or sweep.json + .png); the last line printed is one JSON
object. Needs root, or an own user namespace (see bench/README.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import model  # noqa: E402
import psutil  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from manifest import Manifest, decode_envelope  # noqa: E402
from p2pdist.cli import cli  # noqa: E402
from p2pdist.sample import parse_size, write_sample  # noqa: E402
from p2pdist.store import Store  # noqa: E402
from scripts.testbed import (  # noqa: E402
    SWARM_PORT,
    Host,
    NsProc,
    NsProcError,
    Testbed,
    Topology,
    ensure_nginx,
    start_http,
    stop_all,
)

RESULTS = REPO / "bench" / "results"
CHANNEL = "national/update-bench"
MODES = ("central", "mirror", "swarm")
TARGETS = {"swarm_over_bound": 1.2, "mirror_over_swarm": 4.0, "central_over_swarm": 8.0,
           "origin_egress_over_F": 1.1, "site_ingress_over_F_max": 1.2}
RATE_SCALE = 0.5
"""Default factor on every link rate of the issue's scenario (see the module docstring)."""
TINY = Topology(sites=2, boxes_per_site=2, origin_mbit=100, seeder_mbit=200,
                site_down_mbit=50, site_up_mbit=20, lan_mbit=200)


@dataclass(frozen=True)
class World:
    """The signed release and where it lives (host paths; every namespace sees the same fs)."""

    work: Path
    root: Path
    manifest: Path
    content: Path
    origin_data: Path
    files: dict[str, tuple[int, str]]  # path -> (size, sha256 hex)
    size: int

    @property
    def relpaths(self) -> list[str]:
        return sorted(self.files)


def _cli(*args: str | Path) -> None:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    if r.exit_code != 0:
        raise SystemExit(f"p2pdist {' '.join(map(str, args))} failed:\n{r.output}")


def make_world(work: Path, size: int) -> World:
    """Keys, root, a sample bundle of `size` bytes, signed and published to the origin's store."""
    for k in ("root", "release"):
        _cli("keys", "generate", work / k)
    _cli("keys", "root", "init", "--root-key", work / "root.pub", "--threshold", "1",
         "--release-key", work / "release.pub", "--release-threshold", "1",
         "--channel", "national/", "--out", work / "root.v1")
    _cli("keys", "root", "sign", work / "root.v1", "--key", work / "root")
    content = work / "content"
    write_sample(content, size, seed=11)
    m = work / "release.manifest"
    _cli("release", "build", content, "--channel", CHANNEL, "--version", "1", "--catalog",
         content / "catalog.toml", "--out", m)
    _cli("release", "sign", m, "--key", work / "release")
    _cli("release", "publish", m, "--content", content, "--to", work / "origin",
         "--root", work / "root.v1")
    body = Manifest.decode_body(decode_envelope(m.read_bytes()).signed)
    files = {f.path: (f.size, bytes(f.sha256).hex()) for f in body.files}
    return World(work, work / "root.v1", m, content, work / "origin", files,
                 sum(s for s, _ in files.values()))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_tree(world: World, top: Path) -> bool:
    """True when `top` holds every file of the release, byte-identical (by SHA-256)."""
    try:
        return all((top / p).is_file() and (top / p).stat().st_size == s
                   and _sha256(top / p) == h for p, (s, h) in world.files.items())
    except OSError:
        return False


def verify_all(world: World, tops: Sequence[Path]) -> list[bool]:
    with ThreadPoolExecutor(2) as ex:
        return list(ex.map(lambda t: verify_tree(world, t), tops))


# Counters and summaries.

def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


def summarize(tb: Testbed, world: World, done_s: Sequence[float | None], c: dict[str, int],
              verified: Sequence[bool]) -> dict[str, Any]:
    """The per-mode figures from completion times and counter deltas `c`."""
    f = world.size
    ok = [t for t in done_s if t is not None]
    ok.sort()
    sites = tb.topo.sites
    ingress = [c[f"site{k}_in"] for k in range(sites)]
    box_rx = sum(c[f"box{b.site}-{b.index}_rx"] for b in tb.boxes)
    lan = max(0, box_rx - sum(ingress))

    def pct(q: float) -> float | None:
        return round(ok[min(len(ok) - 1, int(q * len(ok)))], 2) if ok else None

    return {
        "completed": len(ok),
        "boxes": len(done_s),
        "all_verified": all(verified) and len(verified) == len(done_s),
        "makespan_s": round(ok[-1], 2) if len(ok) == len(done_s) and ok else None,
        "p50_s": pct(0.5),
        "p99_s": pct(0.99),
        "completion_s": [None if t is None else round(t, 2) for t in done_s],
        "origin_egress_bytes": c["origin_tx"],
        "seeder_egress_bytes": c["seeder_tx"],
        "site_ingress_bytes": ingress,
        "site_egress_bytes": [c[f"site{k}_out"] for k in range(sites)],
        "box_received_bytes": box_rx,
        "lan_bytes": lan,
        "lan_share": round(lan / box_rx, 4) if box_rx else 0.0,
        "origin_egress_over_F": round(c["origin_tx"] / f, 3),
        "seeder_egress_over_F": round(c["seeder_tx"] / f, 3),
        "site_ingress_over_F": [round(b / f, 3) for b in ingress],
    }


# Mode (a) and (b): HTTP.

def run_http(tb: Testbed, world: World, server: Host, base_root: Path, deadline_s: float,
             mode: str) -> dict[str, Any]:
    """Every box fetches every file with one curl (keep-alive, files in order) from `server`."""
    out_root = world.work / f"http-{mode}"
    quoted = [urllib.parse.quote(p) for p in world.relpaths]
    before = tb.counters()
    t0 = time.monotonic()
    procs = []
    for b in tb.boxes:
        top = out_root / b.name
        argv: list[str] = ["curl", "--noproxy", "*", "-sS", "--fail", "--create-dirs",
                           "--max-time", str(int(deadline_s))]
        for rel, q in zip(world.relpaths, quoted, strict=True):
            argv += ["-o", str(top / rel), f"http://{server.ip}/{q}"]
        procs.append(tb.spawn(b, argv, name=f"{mode}-{b.name}"))
    _wait_exits(procs, t0 + deadline_s)
    time.sleep(0.3)
    c = _delta(tb.counters(), before)
    done = [None if p.poll() != 0 or p.exited_at is None else p.exited_at - t0 for p in procs]
    stop_all(procs)
    tb.procs = [p for p in tb.procs if p not in procs]
    verified = verify_all(world, [out_root / b.name for b in tb.boxes])
    shutil.rmtree(out_root, ignore_errors=True)
    res = summarize(tb, world, done, c, verified)
    res["server"] = server.role
    res["failures"] = [p.stderr_tail for p in procs if p.poll() not in (0, None)][:3]
    return res


def _wait_exits(procs: Sequence[NsProc], deadline: float) -> None:
    """Poll until every process exited or `deadline` (monotonic) passed; stamps exit times."""
    while time.monotonic() < deadline:
        if all(p.poll() is not None for p in procs):
            return
        time.sleep(0.1)


# Mode (c): the swarm.

def _p2pdist(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "p2pdist", *[str(a) for a in args]]


def launch_box(tb: Testbed, box: Host, world: World, data: Path, *, seeders: Sequence[str],
               lan_peers: Sequence[str], wan_cap: bool = False) -> NsProc:
    """Start one box on the swarm; the single place to swap in the site-aware agent later.

    Today it is `p2pdist box fetch --seed`: verify the manifest, fetch from the given seeder and
    LAN peers, verify, activate, keep seeding; it prints `listening`, `progress`, `done` events.
    """
    argv = _p2pdist("box", "fetch", world.manifest, "--data", data, "--root", world.root,
                    "--listen", f"{box.ip}:{SWARM_PORT}", "--lan", box.subnet,
                    "--reserve", "1MiB", "--seed", "--json")
    for s in seeders:
        argv += ["--peer", s]
    for p in lan_peers:
        argv += ["--lan-peer", p]
    if wan_cap:
        argv += ["--wan-limit", "1KB"]
    return tb.spawn(box, argv, name=box.name)


def run_swarm(tb: Testbed, world: World, deadline_s: float, peering: str,
              origin_open: bool) -> dict[str, Any]:
    """Origin seeds; seeder and boxes start together at t0; wait for every box's `done`."""
    top = world.work / "swarm"
    origin_ep = f"{tb.origin.ip}:{SWARM_PORT}"
    seeder_ep = f"{tb.seeder.ip}:{SWARM_PORT}"
    if not origin_open:
        tb.origin_serves_only([tb.seeder.subnet])
    origin = tb.spawn(tb.origin, _p2pdist("seed", "--data", world.origin_data, "--listen",
                                          f"{origin_ep}", "--json"), name="origin-seed")
    procs: list[NsProc] = [origin]
    try:
        origin.wait_event("listening", 60)
        before = tb.counters()
        t0 = time.monotonic()
        seeder = tb.spawn(tb.seeder, _p2pdist(
            "box", "fetch", world.manifest, "--data", top / "seeder", "--root", world.root,
            "--listen", seeder_ep, "--peer", origin_ep, "--reserve", "1MiB", "--seed",
            "--json"), name="seeder")
        procs.append(seeder)
        # Boxes dial only peers that already hold the torrent: a dial that lands between a
        # peer's `listening` and its add_torrent is refused, and libtorrent drops a peer after
        # three failures, so a LAN pair that both dialled too early would never meet.
        seeder.wait_event("progress", 60)
        by_slot: dict[tuple[int, int], NsProc] = {}
        for i in range(tb.topo.boxes_per_site):
            wave = []
            for b in (b for b in tb.boxes if b.index == i):
                mates = [f"{o.ip}:{SWARM_PORT}" for o in tb.boxes
                         if o.site == b.site and (o.index or 0) < i]
                elected = i == 0
                wan = [seeder_ep] if peering == "all" or elected else []
                cap = peering == "elected-capped" and not elected
                p = launch_box(tb, b, world, top / b.name, seeders=wan, lan_peers=mates,
                               wan_cap=cap)
                by_slot[(b.site or 0, i)] = p
                wave.append(p)
            for p in wave:
                p.wait_event("progress", 60)
        boxes = [by_slot[(b.site or 0, b.index or 0)] for b in tb.boxes]
        procs += boxes
        done: list[float | None] = []
        events: list[dict[str, Any]] = []
        listen_s: list[float | None] = []
        end = t0 + deadline_s
        for p in boxes:
            try:
                ev = p.wait_event("done", max(0.1, end - time.monotonic()))
                done.append(ev["_t"] - t0)
                events.append(ev)
            except NsProcError as e:
                print(f"swarm: {e}", file=sys.stderr)
                done.append(None)
                events.append({})
            lis = [e for e in p.events if e.get("event") == "listening"]
            listen_s.append(round(lis[0]["_t"] - t0, 2) if lis else None)
        time.sleep(0.5)  # frames in flight reach the counters
        c = _delta(tb.counters(), before)
    finally:
        stop_all(procs)
        tb.procs = [p for p in tb.procs if p not in procs]
        if not origin_open:
            tb.origin_serves_only(None)
    tops = [Store(top / b.name).release_dir(CHANNEL, 1) for b in tb.boxes]
    verified = verify_all(world, tops)
    shutil.rmtree(top, ignore_errors=True)
    res = summarize(tb, world, done, c, verified)
    payload: dict[str, int] = {}
    for ev in events:
        for src, n in ev.get("received", {}).items():
            payload[src] = payload.get(src, 0) + n
    res["payload_received_by_source"] = payload
    res["startup_listening_s"] = {"max": max((s for s in listen_s if s is not None),
                                             default=None),
                                  "median": sorted(s for s in listen_s if s is not None)[
                                      len(listen_s) // 2] if all(listen_s) else None}
    res["peering"] = peering
    res["origin_serves"] = "everyone" if origin_open else "seeder tier only"
    return res


# One scenario.

def run_scenario(topo: Topology, size: int, work: Path, *, peering: str, origin_open: bool,
                 modes: Sequence[str], install_nginx: bool) -> dict[str, Any]:
    """Build the release and the testbed, run each mode, return the result dict."""
    t_start = time.monotonic()
    world = make_world(work, size)
    nginx = ensure_nginx(install_nginx)
    net = model.Net(topo.sites, topo.boxes_per_site, topo.origin_mbit, topo.seeder_mbit,
                    topo.site_down_mbit, topo.site_up_mbit, topo.lan_mbit)
    pred = model.predict(net, world.size)
    bound = pred["bound"]["makespan_s"]
    mirror_root = work / "mirror"
    shutil.copytree(world.content, mirror_root)  # the mirror was synced before the update
    results: dict[str, Any] = {}
    with Testbed(topo) as tb:
        http_procs = []
        if {"central", "mirror"} & set(modes):
            http_procs = [start_http(tb, tb.origin, world.content, work, nginx),
                          start_http(tb, tb.seeder, mirror_root, work, nginx)]
        for mode in modes:
            deadline = 2.5 * pred[mode]["makespan_s"] + 60
            t = time.monotonic()
            psutil.cpu_percent(None)  # starts the interval the next call measures
            if mode == "swarm":
                stop_all(http_procs)  # the seeder host's CPU goes to seeding
                results[mode] = run_swarm(tb, world, deadline, peering, origin_open)
            else:
                server = tb.origin if mode == "central" else tb.seeder
                results[mode] = run_http(tb, world, server,
                                         world.content if mode == "central" else mirror_root,
                                         deadline, mode)
            results[mode]["model_makespan_s"] = round(pred[mode]["makespan_s"], 1)
            results[mode]["wall_s"] = round(time.monotonic() - t, 1)
            results[mode]["cpu_percent_mean"] = psutil.cpu_percent(None)  # of all cores
            print(f"{mode}: makespan {results[mode]['makespan_s']} s "
                  f"(model {results[mode]['model_makespan_s']} s)", file=sys.stderr, flush=True)
        prefix = tb.prefix
    sw, mi, ce = (results.get(m, {}) for m in ("swarm", "mirror", "central"))

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    ratios = {
        "swarm_over_bound": ratio(sw.get("makespan_s"), bound),
        "mirror_over_swarm": ratio(mi.get("makespan_s"), sw.get("makespan_s")),
        "central_over_swarm": ratio(ce.get("makespan_s"), sw.get("makespan_s")),
        "origin_egress_over_F": sw.get("origin_egress_over_F"),
        "site_ingress_over_F_max": max(sw["site_ingress_over_F"]) if sw else None,
    }
    met = {}
    for k, target in TARGETS.items():
        v = ratios[k]
        met[k] = None if v is None else (v <= target if k in (
            "swarm_over_bound", "origin_egress_over_F", "site_ingress_over_F_max")
            else v >= target)
    return {
        "bench": "update_time",
        **ratios,
        "targets": TARGETS,
        "targets_met": met,
        "bundle_bytes": world.size,
        "files": len(world.files),
        "topology": topo.as_dict(),
        "bound_s": round(bound, 2),
        "http_server": "nginx " + _nginx_version(nginx) if nginx else
                       "python Range server (scripts/testbed/_rangeserver.py)",
        "wire_bytes_note": "byte counts are Ethernet frames at router/switch ports; a full "
                           "TCP segment carries 1448 payload bytes in 1514 (x1.046)",
        "testbed_prefix": prefix,
        "elapsed_s": round(time.monotonic() - t_start, 1),
        "modes": results,
    }


def _nginx_version(path: str) -> str:
    import subprocess

    r = subprocess.run([path, "-v"], capture_output=True, text=True)
    return (r.stderr or r.stdout).strip().rpartition("/")[2]


# Plots.

def plot_result(res: dict[str, Any], path: Path) -> None:
    """Completion-time CDF per mode, and bytes by source (in units of F) per mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for mode in MODES:
        m = res["modes"].get(mode)
        if not m:
            continue
        ts = sorted(t for t in m["completion_s"] if t is not None)
        a1.step(ts, [(i + 1) / len(m["completion_s"]) for i in range(len(ts))], where="post",
                label=f"{mode} (makespan {m['makespan_s']} s)")
    a1.axvline(res["bound_s"], color="k", ls="--", lw=1, label=f"bound {res['bound_s']} s")
    a1.set_xscale("log")
    a1.set_xlabel("seconds since start (log)")
    a1.set_ylabel("fraction of boxes done")
    a1.set_title(f"{res['topology']['boxes']} boxes, F = {res['bundle_bytes'] / 2**20:.0f} MiB")
    a1.legend(fontsize=8)
    f = res["bundle_bytes"]
    names = [m for m in MODES if m in res["modes"]]
    parts = {"origin egress": [], "seeder egress": [], "site uplinks (to other sites; ACKs)": [],
             "LAN (box to box)": []}
    for m in names:
        d = res["modes"][m]
        parts["origin egress"].append(d["origin_egress_bytes"] / f)
        parts["seeder egress"].append(d["seeder_egress_bytes"] / f)
        parts["site uplinks (to other sites; ACKs)"].append(sum(d["site_egress_bytes"]) / f)
        parts["LAN (box to box)"].append(d["lan_bytes"] / f)
    bottom = [0.0] * len(names)
    for label, vals in parts.items():
        a2.bar(names, vals, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    a2.set_ylabel("bytes sent / F (wire)")
    a2.set_title("bytes by source")
    a2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_sweep(sweep: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ns = [p["topology"]["boxes"] for p in sweep["points"]]
    for mode in MODES:
        ax.plot(ns, [p["modes"][mode]["makespan_s"] for p in sweep["points"]], "o-", label=mode)
    ax.plot(ns, [p["bound_s"] for p in sweep["points"]], "k--", label="lower bound")
    ax.set_xlabel("boxes N (6 per site)")
    ax.set_ylabel("makespan, s")
    ax.set_yscale("log")
    ax.set_title(f"update makespan vs N, F = {sweep['bundle_bytes'] / 2**20:.0f} MiB")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# Entry point.

def scaled(t: Topology, factor: float) -> Topology:
    """Every link rate times `factor` (with F times `factor` too, every time stays the same and
    the CPU load drops: NOTES-testbed, 2 cores carry ~30 boxes at 8 Mbit)."""
    return dataclasses.replace(
        t, origin_mbit=t.origin_mbit * factor, seeder_mbit=t.seeder_mbit * factor,
        site_down_mbit=t.site_down_mbit * factor, site_up_mbit=t.site_up_mbit * factor,
        lan_mbit=t.lan_mbit * factor)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default=None, help="bundle size F (default 16MiB; tiny 4MiB; "
                    "sweep 8MiB)")
    ap.add_argument("--sites", type=int, default=4)
    ap.add_argument("--boxes-per-site", type=int, default=6)
    ap.add_argument("--rate-scale", type=float, default=RATE_SCALE,
                    help="multiply every link rate (scale F by the same factor to keep times)")
    ap.add_argument("--sweep", action="store_true", help="N = 6, 12, 24 (6 boxes per site)")
    ap.add_argument("--sweep-n", default="6,12,24")
    ap.add_argument("--tiny", action="store_true", help="2 sites x 2 boxes, 4 MiB, fast links")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--peering", choices=("elected", "elected-capped", "all"),
                    default="elected-capped", help="which boxes dial the seeder: the first of each "
                    "site (elected), that and the others' WAN capped to 1 KB/s, or all")
    ap.add_argument("--origin-open", action="store_true",
                    help="let boxes reach the origin's swarm port too")
    ap.add_argument("--no-install", action="store_true", help="never apt-get install nginx")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    args = ap.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    if any(m not in MODES for m in modes):
        ap.error(f"--modes: choose from {MODES}")
    if os.geteuid() != 0:
        print("note: not root; this works only inside `unshare -Urnm` (bench/README.md)",
              file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    kw = {"peering": args.peering, "origin_open": args.origin_open, "modes": modes,
          "install_nginx": not args.no_install and not args.tiny}

    def scenario(topo: Topology, size: int) -> dict[str, Any]:
        work = Path(tempfile.mkdtemp(prefix="p2pdist-update-", dir=args.dir))
        try:
            return run_scenario(topo, size, work, **kw)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    if args.sweep:
        size = parse_size(args.size or "8MiB")
        points = []
        for n in (int(x) for x in args.sweep_n.split(",")):
            per = min(6, n)
            points.append(scenario(scaled(Topology(sites=max(1, n // per), boxes_per_site=per),
                                          args.rate_scale), size))
        out = {"bench": "update_time_sweep", "bundle_bytes": size, "points": points,
               "makespan_s": {m: [p["modes"].get(m, {}).get("makespan_s") for p in points]
                              for m in modes},
               "boxes": [p["topology"]["boxes"] for p in points],
               "bound_s": [p["bound_s"] for p in points]}
        (args.out / "sweep.json").write_text(json.dumps(out, indent=2) + "\n")
        plot_sweep(out, args.out / "sweep.png")
        print(json.dumps({k: v for k, v in out.items() if k != "points"}))
        return
    topo = TINY if args.tiny else scaled(
        Topology(sites=args.sites, boxes_per_site=args.boxes_per_site), args.rate_scale)
    size = parse_size(args.size or ("4MiB" if args.tiny else "16MiB"))
    res = scenario(topo, size)
    (args.out / "update_time.json").write_text(json.dumps(res, indent=2) + "\n")
    plot_result(res, args.out / "update_time.png")
    print(json.dumps({k: v for k, v in res.items() if k != "modes"} | {
        "makespan_s": {m: v["makespan_s"] for m, v in res["modes"].items()}}))


if __name__ == "__main__":
    main()
