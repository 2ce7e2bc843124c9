"""Benchmark: update time of a province-like network, old ways vs the p2pdist swarm.

On the network-namespace testbed (scripts/testbed: K sites of boxes behind shaped 8/2 Mbit
uplinks, a 20 Mbit origin, a 40 Mbit provincial seeder, 100 Mbit LANs) one signed release of F
bytes is delivered three ways, one after the other on the same testbed:

- central: every box downloads every file over HTTP from the origin (nginx, Range-capable);
- mirror: every box downloads over HTTP from the provincial seeder's host;
- swarm: the real daemons (`bench/daemons.py`): origin and provincial seeder are `p2pdist seeder
  run`, every box is `p2pdist box init` + `p2pdist box run` with mDNS on its site bridge, its
  own site election and only the province's feed; completion is read from each box's `status`.
  Start modes (`bench/swarm_run.py`): seeders hold the release, v1 -> v2 update, published at
  t0; then the same with WAN delay/jitter/loss, and the fault scenarios (`bench/faults.py`).

Per mode: makespan, p50/p99 completion, origin and seeder egress, each site's WAN ingress (router
interface counters, wire bytes), the LAN share of what boxes received; every box's files are
hashed against the manifest; for the swarm modes a per-box timeline (`bench/timeline.py`). The
lower bound is `model.lower_bound_s`.

Scale: the issue's scenario is 64 MiB over 20/40/8/2/100 Mbit links. The default divides F by 4
(16 MiB) and every link rate by 2 (`--rate-scale 0.5`): every transfer time is half the issue's
and the 2 cores stay out of saturation. Ratios to the bound do not depend on the scale, start-up
time aside.

Usage: .venv/bin/python bench/update_time.py [--size 16MiB] [--sweep] [--tiny] [--no-faults]
Writes DIR/update_time.json + .png + _timelines.png (or sweep.json + .png); the last line
printed is one JSON object. Needs root, or an own user namespace (see bench/README.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import model  # noqa: E402
import psutil  # noqa: E402
from faults import SCENARIOS as FAULTS  # noqa: E402
from figures import bound_s, delta, net_of, summarize  # noqa: E402
from plots import plot_result, plot_sweep, plot_timelines  # noqa: E402
from swarm_run import Plan, run_suite  # noqa: E402
from world import World, make_world, verify_all  # noqa: E402

from p2pdist.sample import parse_size  # noqa: E402
from scripts.testbed import (  # noqa: E402
    Host,
    NsProc,
    Testbed,
    Topology,
    WanConditions,
    ensure_nginx,
    start_http,
    stop_all,
)

RESULTS = REPO / "bench" / "results"
HTTP_MODES = ("central", "mirror")
TARGETS = {"swarm_over_bound": 1.2, "swarm_over_bound_publish": 1.25,
           "swarm_over_bound_update": 1.2, "swarm_over_bound_lossy": 1.35,
           "mirror_over_swarm": 4.0, "central_over_swarm": 8.0,
           "origin_egress_over_F": 1.1, "site_ingress_over_F_max": 1.15,
           "idle_cpu_core_fraction": 0.005}
AT_LEAST = ("mirror_over_swarm", "central_over_swarm")
RATE_SCALE = 0.5
"""Default factor on every link rate of the issue's scenario (see the module docstring)."""
TINY = Topology(sites=2, boxes_per_site=2, origin_mbit=100, seeder_mbit=200,
                site_down_mbit=50, site_up_mbit=20, lan_mbit=200)


# Mode (a) and (b): HTTP.

def run_http(tb: Testbed, world: World, server: Host, deadline_s: float,
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
    c = delta(tb.counters(), before)
    done = [None if p.poll() != 0 or p.exited_at is None else p.exited_at - t0 for p in procs]
    stop_all(procs)
    tb.procs = [p for p in tb.procs if p not in procs]
    verified = verify_all(world.files, [out_root / b.name for b in tb.boxes])
    shutil.rmtree(out_root, ignore_errors=True)
    res = summarize(tb, world.size, done, c, verified)
    res["server"] = server.role
    res["failures"] = [p.stderr_tail for p in procs if p.poll() not in (0, None)][:3]
    return res


def _wait_exits(procs: Sequence[NsProc], deadline: float) -> None:
    """Poll until every process exited or `deadline` (monotonic) passed; stamps exit times."""
    while time.monotonic() < deadline:
        if all(p.poll() is not None for p in procs):
            return
        time.sleep(0.1)


# One scenario.

def run_scenario(topo: Topology, size: int, work: Path, *, plan: Plan, http: bool,
                 install_nginx: bool, out: Path | None = None) -> dict[str, Any]:
    """Build the releases and the testbed, run each mode, return the result dict."""
    t_start = time.monotonic()
    world = make_world(work, size)
    net = net_of(topo)
    pred = model.predict(net, world.size)
    bound = pred["bound"]["makespan_s"]
    changed = world.changed_bytes(1, 2)
    bound_update = bound_s(topo, changed)
    results: dict[str, Any] = {}
    suite: dict[str, Any] = {}
    nginx = ensure_nginx(install_nginx) if http else None
    with Testbed(topo) as tb:
        prefix = tb.prefix
        if http:
            mirror_root = work / "mirror"
            shutil.copytree(world.content, mirror_root)  # synced before the update
            http_procs = [start_http(tb, tb.origin, world.content, work, nginx),
                          start_http(tb, tb.seeder, mirror_root, work, nginx)]
            for mode in HTTP_MODES:
                deadline = 2.5 * pred[mode]["makespan_s"] + 60
                t = time.monotonic()
                psutil.cpu_percent(None)
                server = tb.origin if mode == "central" else tb.seeder
                results[mode] = run_http(tb, world, server, deadline, mode)
                results[mode]["model_makespan_s"] = round(pred[mode]["makespan_s"], 1)
                results[mode]["wall_s"] = round(time.monotonic() - t, 1)
                results[mode]["cpu_percent_mean"] = psutil.cpu_percent(None)
                print(f"{mode}: makespan {results[mode]['makespan_s']} s (model "
                      f"{results[mode]['model_makespan_s']} s)", file=sys.stderr, flush=True)
                plan.save(results)
            stop_all(http_procs)  # the seeder host's CPU goes to seeding
            tb.procs = [p for p in tb.procs if p not in http_procs]
        t = time.monotonic()
        psutil.cpu_percent(None)
        suite = run_suite(tb, world, work, plan)
        cpu = psutil.cpu_percent(None)
        for mode in ("swarm", "swarm_update", "swarm_publish", "swarm_lossy"):
            if mode in suite:
                results[mode] = suite[mode]
                results[mode]["model_makespan_s"] = round(
                    model.swarm_mode(net, results[mode]["need_bytes"])["makespan_s"], 1)
        if "swarm" in results:
            results["swarm"]["cpu_percent_mean_suite"] = cpu
            results["swarm"]["suite_wall_s"] = round(time.monotonic() - t, 1)
    sw, mi, ce = (results.get(m, {}) for m in ("swarm", "mirror", "central"))

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    idle = {k: suite.get(k) for k in ("idle_before", "idle_seeding")}
    idle_means = [_mean_all(v) for v in idle.values() if v]
    ratios = {
        "swarm_over_bound": ratio(sw.get("makespan_s"), bound),
        "swarm_over_bound_publish": ratio(results.get("swarm_publish", {}).get("makespan_s"),
                                          bound),
        "swarm_over_bound_update": ratio(results.get("swarm_update", {}).get("makespan_s"),
                                         bound_update),
        "swarm_over_bound_lossy": ratio(results.get("swarm_lossy", {}).get("makespan_s"), bound),
        "mirror_over_swarm": ratio(mi.get("makespan_s"), sw.get("makespan_s")),
        "central_over_swarm": ratio(ce.get("makespan_s"), sw.get("makespan_s")),
        "origin_egress_over_F": results.get("swarm_publish", sw).get("origin_egress_over_F"),
        "site_ingress_over_F_max": max(sw["site_ingress_over_F"]) if sw else None,
        "idle_cpu_core_fraction": max(idle_means) if idle_means else None,
    }
    # Not a target: the held mode measured from the moment the daemons were up. 24 daemons
    # starting at once on 2 cores take ~0.3 s each (sweep: process up grows linearly with N);
    # a field box starts on its own CPU.
    up = (sw.get("timeline_summary") or {}).get("process_up_s", {}).get("median")
    ratios_after_start = {"swarm_over_bound_after_start": ratio(
        sw["makespan_s"] - up, bound) if sw.get("makespan_s") and up else None}
    met = {k: None if ratios[k] is None else (
        ratios[k] >= t if k in AT_LEAST else ratios[k] <= t) for k, t in TARGETS.items()}
    faults = suite.get("faults", [])
    return {
        "bench": "update_time",
        **ratios,
        **ratios_after_start,
        "swarm_runner": "box run",
        "faults": faults,
        "faults_all_finished": all(f["finished"] == f["boxes"] for f in faults) if faults
        else None,
        "faults_tracebacks": sum(f["tracebacks"] for f in faults),
        "hybrid_torrent_errors": sum(m.get("hybrid_torrent_errors", 0) for m in
                                     [*results.values(), *faults]),
        "idle_cpu": idle,
        "targets": TARGETS,
        "targets_met": met,
        "bundle_bytes": world.size,
        "changed_bytes_v2": changed,
        "bound_update_s": round(bound_update, 2),
        "files": len(world.files),
        "topology": topo.as_dict(),
        "bound_s": round(bound, 2),
        "poll_s": plan.poll_s,
        "wan_conditions": plan.lossy.as_dict() if plan.lossy else None,
        "http_server": ("nginx " + _nginx_version(nginx) if nginx else
                        "python Range server (scripts/testbed/_rangeserver.py)") if http
        else None,
        "wire_bytes_note": "byte counts are Ethernet frames at router/switch ports; a full "
                           "TCP segment carries 1448 payload bytes in 1514 (x1.046)",
        "testbed_prefix": prefix,
        "elapsed_s": round(time.monotonic() - t_start, 1),
        "modes": results,
    }


def _mean_all(idle: dict[str, Any]) -> float:
    """Mean CPU (fraction of a core) over every daemon of an idle window."""
    v = list(idle["per_daemon"].values())
    return round(sum(v) / len(v), 4) if v else 0.0


def _nginx_version(path: str) -> str:
    import subprocess

    r = subprocess.run([path, "-v"], capture_output=True, text=True)
    return (r.stderr or r.stdout).strip().rpartition("/")[2]


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
    ap.add_argument("--sweep", action="store_true", help="N = 6, 12, 24, 48 (6 boxes per site)")
    ap.add_argument("--sweep-n", default="6,12,24,48")
    ap.add_argument("--tiny", action="store_true", help="2 sites x 2 boxes, 4 MiB, fast links, "
                    "no faults, no WAN delay")
    ap.add_argument("--no-http", action="store_true", help="skip the central and mirror modes")
    ap.add_argument("--faults", default=",".join(FAULTS),
                    help=f"fault scenarios to run, from {','.join(FAULTS)} ('' for none)")
    ap.add_argument("--no-faults", action="store_true")
    ap.add_argument("--no-lossy", action="store_true", help="skip the RTT/jitter/loss run")
    d = WanConditions()
    ap.add_argument("--site-rtt", type=float, default=d.site_rtt_ms,
                    help="lossy run: province<->site RTT, ms")
    ap.add_argument("--origin-rtt", type=float, default=d.origin_rtt_ms,
                    help="lossy run: origin<->province RTT, ms")
    ap.add_argument("--jitter", type=float, default=d.jitter_ms, help="lossy run: +- ms")
    ap.add_argument("--loss", type=float, default=d.loss,
                    help="lossy run: probability a packet is dropped")
    ap.add_argument("--poll", type=int, default=None,
                    help="seconds between feed polls of every daemon (seeders and boxes); "
                    "default: the daemons' own (releases are learnt through held requests)")
    ap.add_argument("--idle", type=float, default=20.0, help="seconds of each idle-CPU window")
    ap.add_argument("--keep-logs", type=Path, default=None,
                    help="copy every daemon's log of every swarm run into this folder")
    ap.add_argument("--no-install", action="store_true", help="never apt-get install nginx")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    args = ap.parse_args(argv)
    faults = () if args.no_faults or args.tiny or args.sweep else tuple(
        f for f in args.faults.split(",") if f)
    if any(f not in FAULTS for f in faults):
        ap.error(f"--faults: choose from {FAULTS}")
    if os.geteuid() != 0:
        print("note: not root; this works only inside `unshare -Urnm` (bench/README.md)",
              file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        lossy = None if args.no_lossy or args.tiny or args.sweep else WanConditions(
            args.site_rtt, args.origin_rtt, args.jitter, args.loss)
    except ValueError as e:
        ap.error(str(e))

    def scenario(topo: Topology, size: int) -> dict[str, Any]:
        work = Path(tempfile.mkdtemp(prefix="p2pdist-update-", dir=args.dir))
        pred = model.predict(net_of(topo), size)
        plan = Plan(poll_s=args.poll, deadline_s=3 * pred["swarm"]["makespan_s"] + 90,
                    idle_s=3.0 if args.tiny else args.idle, lossy=lossy, faults=faults,
                    only_hold=args.sweep or args.tiny, keep_logs=args.keep_logs,
                    checkpoint=None if args.sweep or args.tiny
                    else args.out / "update_time.partial.json")
        try:
            return run_scenario(topo, size, work, plan=plan, http=not args.no_http,
                                install_nginx=not args.no_install and not args.tiny)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    if args.sweep:
        sweep(args, scenario)
        return
    topo = TINY if args.tiny else scaled(
        Topology(sites=args.sites, boxes_per_site=args.boxes_per_site), args.rate_scale)
    size = parse_size(args.size or ("4MiB" if args.tiny else "16MiB"))
    res = scenario(topo, size)
    (args.out / "update_time.json").write_text(json.dumps(res, indent=1) + "\n")
    (args.out / "update_time.partial.json").unlink(missing_ok=True)
    plot_result(res, args.out / "update_time.png")
    plot_timelines(res, args.out / "update_time_timelines.png")
    print(json.dumps({k: v for k, v in res.items() if k not in ("modes", "faults", "idle_cpu")}
                     | {"makespan_s": {m: v["makespan_s"] for m, v in res["modes"].items()}}))


def _model_check(point: dict[str, Any]) -> dict[str, Any]:
    """Model / measured makespan for each mode the point ran (None where it did not finish)."""
    out: dict[str, Any] = {}
    for mode, m in point["modes"].items():
        if mode in ("central", "mirror", "swarm"):
            got = m.get("makespan_s")
            want = m.get("model_makespan_s")
            out[mode] = round(want / got, 3) if got and want else None
    return out


def sweep(args: argparse.Namespace, scenario: Any) -> None:
    """N = 6 .. 48 (6 boxes per site): central, mirror and the seeders-hold swarm at each N,
    the model beside each point, CPU per point (where it went when a point did not finish)."""
    size = parse_size(args.size or "8MiB")
    points = []
    for n in (int(x) for x in args.sweep_n.split(",")):
        per = min(6, n)
        p = scenario(scaled(Topology(sites=max(1, n // per), boxes_per_site=per),
                            args.rate_scale), size)
        for m in p["modes"].values():
            m.pop("timeline", None)
        points.append(p)
        out = {"bench": "update_time_sweep", "bundle_bytes": size, "points": points,
               "makespan_s": {m: [q["modes"].get(m, {}).get("makespan_s") for q in points]
                              for m in ("central", "mirror", "swarm")},
               "model_over_measured": [_model_check(q) for q in points],
               "cpu": [q["modes"].get("swarm", {}).get("cpu") for q in points],
               "boxes": [q["topology"]["boxes"] for q in points],
               "bound_s": [q["bound_s"] for q in points]}
        (args.out / "sweep.json").write_text(json.dumps(out, indent=1) + "\n")
        plot_sweep(out, args.out / "sweep.png")
    print(json.dumps({k: v for k, v in out.items() if k != "points"}))


if __name__ == "__main__":
    main()
