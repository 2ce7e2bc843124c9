"""The swarm modes of the update-time benchmark with the real daemons (see `daemons`).

Three start modes, on one testbed:

- **seeders hold** (`swarm`): origin and province already hold v1 and seed it; the boxes start
  empty at t0 (their start-up is part of the makespan);
- **update** (`swarm_update`): right after, with every box seeding v1, v2 is published at the
  origin at t0; the bound is that of the changed bytes;
- **publish** (`swarm_publish`): a fresh fleet, every daemon up and idle, v1 published at the
  origin at t0: the province fetches it from the origin while the boxes fetch from the province.

Optionally the seeders-hold mode again with WAN delay, jitter and loss (`swarm_lossy`), and the
fault scenarios of `faults`. Idle CPU of the daemons is measured before t0 of the publish mode
and while seeding after the seeders-hold mode.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from daemons import Fleet, precompile
from figures import delta, summarize
from timeline import Poller, summary, timelines
from world import World, verify_all

from p2pdist.store import Store
from scripts.testbed import Testbed, WanConditions, clear_conditions, with_conditions

Tick = Callable[[Poller], None]
HYBRID_ERROR = "v1 and v2 hashes do not describe the same data"
CAPTURE = Path(__file__).with_name("results") / "captured"
"""Where a run's evidence of an anomaly (the hybrid-torrent error) is kept."""


@dataclass(frozen=True)
class Plan:
    """What one swarm suite runs, and its time limits."""

    poll_s: int | None
    deadline_s: float
    idle_s: float = 20.0
    lossy: WanConditions | None = None
    faults: tuple[str, ...] = ()
    only_hold: bool = False
    """Only the seeders-hold mode (the sweep's points, the tiny run), no idle windows."""
    keep_logs: Path | None = None
    """Copy each run's daemon logs here."""
    checkpoint: Path | None = None
    """After each run, what has been measured so far is written here (a long run that is cut
    short still leaves its numbers)."""

    def save(self, results: dict[str, Any]) -> None:
        if self.checkpoint is not None:
            slim = {k: {kk: vv for kk, vv in v.items() if kk != "timeline"}
                    if isinstance(v, dict) else v for k, v in results.items()}
            self.checkpoint.write_text(json.dumps(slim, indent=1) + "\n")


def new_fleet(tb: Testbed, world: World, work: Path, poll_s: int | None, *,
              seeders_hold: int | None) -> Fleet:
    """Configure origin, province and every box; the seeders hold `seeders_hold` if given."""
    precompile()
    fleet = Fleet(tb, world, work, poll_s)
    fleet.seeder_config("origin", tb.origin, origin=True)
    fleet.seeder_config("province", tb.seeder, origin=False)
    if seeders_hold is not None:
        world.publish(seeders_hold, fleet.data["origin"])
        world.publish(seeders_hold, fleet.data["province"])
    for b in tb.boxes:
        fleet.init_box(b)
    return fleet


def start_seeders(fleet: Fleet) -> None:
    fleet.start_seeder("origin")
    fleet.start_seeder("province")
    fleet.wait_ready(["origin", "province"])


def start_boxes(fleet: Fleet) -> None:
    for n in fleet.box_names:
        fleet.start_box(n)


def _life_total(values: Sequence[int]) -> int:
    """Bytes received over every life of a daemon (its counters restart with the process or a
    new torrent: each drop starts a new segment)."""
    total = peak = 0
    for v in values:
        if v < peak:
            total += peak
        peak = v
    return total + peak


def measure(fleet: Fleet, t0: float, target: int, deadline_s: float, before: dict[str, int],
            need_bytes: int, *, on_tick: Tick | None = None) -> dict[str, Any]:
    """Poll until every box has `target` active (or the deadline), then the figures."""
    tb = fleet.tb
    cpu0 = _cpu_snapshot(fleet)
    poller = Poller(fleet, t0, target).start()
    try:
        while time.monotonic() < t0 + deadline_s and not poller.all_done():
            if on_tick is not None:
                on_tick(poller)
            time.sleep(0.5)
    finally:
        poller.stop()
    time.sleep(0.5)  # frames in flight reach the counters
    c = delta(tb.counters(), before)
    cpu = _cpu_used(fleet, cpu0)
    tl = timelines(poller)
    names = fleet.box_names
    done = [tl["boxes"][n]["done_s"] for n in names]
    files = fleet.world.releases[poller.target].files
    tops = [Store(fleet.data[n]).release_dir(fleet.world.channel, poller.target) for n in names]
    res = summarize(tb, need_bytes, done, c, verify_all(files, tops))
    payload: dict[str, int] = {}
    received = 0
    for b in tl["boxes"].values():
        for src, vals in b["received"].items():
            payload[src] = payload.get(src, 0) + (vals[-1] if vals else 0)
        per_src = list(zip(*b["received"].values(), strict=True))
        received += _life_total([sum(x) for x in per_src])
    res["payload_received_by_source"] = payload
    res["payload_received_bytes"] = received
    res["refetched_bytes"] = max(0, received - need_bytes * len(names))
    res["need_bytes"] = need_bytes
    res["tracebacks"] = fleet.tracebacks()
    res["timeline_summary"] = summary(tl)
    res["hybrid_torrent_errors"] = fleet.capture(HYBRID_ERROR, CAPTURE)
    res["cpu"] = cpu
    res["timeline"] = tl
    res["runner"] = "box run"
    return res


def _cpu_snapshot(fleet: Fleet) -> dict[str, Any]:
    per = {}
    for n, p in fleet.procs.items():
        with contextlib.suppress(psutil.Error):
            per[n] = sum(psutil.Process(p.pid).cpu_times()[:2])
    me = psutil.Process().cpu_times()
    return {"t": time.monotonic(), "per": per, "machine": psutil.cpu_times(),
            "bench": me.user + me.system}


def _cpu_used(fleet: Fleet, s0: dict[str, Any]) -> dict[str, Any]:
    """Where the CPU went since `s0`: core-seconds of the box daemons, the seeders, this
    benchmark process (polling, counters), and the machine's kernel time (softirq: the shaped
    veths and bridges) out of the cores' total."""
    el = time.monotonic() - s0["t"]
    per = {}
    for n, p in fleet.procs.items():
        with contextlib.suppress(psutil.Error):
            per[n] = sum(psutil.Process(p.pid).cpu_times()[:2]) - s0["per"].get(n, 0.0)
    m0, m1 = s0["machine"], psutil.cpu_times()
    busy = {k: round(getattr(m1, k) - getattr(m0, k), 1)
            for k in ("user", "system", "softirq", "irq", "iowait", "steal")
            if hasattr(m1, k)}
    me = psutil.Process().cpu_times()
    boxes = sum(v for n, v in per.items() if n.startswith("b"))
    return {"wall_s": round(el, 1), "cores": psutil.cpu_count(),
            "machine_core_s": busy, "idle_core_s": round(m1.idle - m0.idle, 1),
            "box_daemons_core_s": round(boxes, 1),
            "box_daemon_mean_core_fraction": round(boxes / max(1, len(
                [n for n in per if n.startswith("b")])) / max(el, 1e-9), 4),
            "seeders_core_s": {n: round(per.get(n, 0.0), 1) for n in ("origin", "province")},
            "bench_process_core_s": round(me.user + me.system - s0["bench"], 1)}


def idle_cpu(fleet: Fleet, names: Sequence[str], window_s: float) -> dict[str, Any]:
    """CPU of each daemon over `window_s` seconds, as a fraction of one core."""
    procs = {}
    for n in names:
        try:
            procs[n] = psutil.Process(fleet.procs[n].pid)
        except (psutil.Error, KeyError):
            continue
    t_start = {n: sum(p.cpu_times()[:2]) for n, p in procs.items()}
    t = time.monotonic()
    time.sleep(window_s)
    el = time.monotonic() - t
    frac = {}
    for n, p in procs.items():
        try:
            frac[n] = round((sum(p.cpu_times()[:2]) - t_start[n]) / el, 4)
        except psutil.Error:
            continue
    boxes = [v for n, v in frac.items() if n.startswith("b")]
    return {"window_s": round(el, 1), "per_daemon": frac,
            "box_mean": round(sum(boxes) / len(boxes), 4) if boxes else None,
            "box_max": max(boxes, default=None),
            "seeders": {n: frac.get(n) for n in ("origin", "province")}}


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def seeders_hold_then_update(tb: Testbed, world: World, work: Path, plan: Plan,
                             results: dict[str, Any]) -> None:
    """Mode seeders-hold, idle CPU while seeding, then the v1 -> v2 update on the same boxes."""
    fleet = new_fleet(tb, world, work / "hold", plan.poll_s, seeders_hold=1)
    try:
        start_seeders(fleet)
        before = tb.counters()
        t0 = time.monotonic()
        start_boxes(fleet)
        results["swarm"] = measure(fleet, t0, 1, plan.deadline_s, before, world.size)
        _say(f"swarm (seeders hold): makespan {results['swarm']['makespan_s']} s")
        if results["swarm"]["makespan_s"] is None:
            return
        if plan.only_hold or 2 not in world.releases:
            return
        time.sleep(3)
        results["idle_seeding"] = idle_cpu(fleet, list(fleet.procs), plan.idle_s)
        before = tb.counters()
        t0 = time.monotonic()
        world.publish(2, fleet.data["origin"])
        results["swarm_update"] = measure(fleet, t0, 2, plan.deadline_s, before,
                                          world.changed_bytes(1, 2))
        _say(f"swarm (v1 -> v2): makespan {results['swarm_update']['makespan_s']} s")
    finally:
        fleet.stop()
        fleet.keep_logs(plan.keep_logs)
        shutil.rmtree(fleet.work, ignore_errors=True)


def publish_at_t0(tb: Testbed, world: World, work: Path, plan: Plan,
                  results: dict[str, Any]) -> None:
    """Every daemon up and idle (idle CPU measured), then v1 published at the origin at t0."""
    fleet = new_fleet(tb, world, work / "publish", plan.poll_s, seeders_hold=None)
    try:
        start_seeders(fleet)
        start_boxes(fleet)
        fleet.wait_ready(fleet.box_names)
        time.sleep(5)  # discovery and the first polls settle
        results["idle_before"] = idle_cpu(fleet, list(fleet.procs), plan.idle_s)
        before = tb.counters()
        t0 = time.monotonic()
        world.publish(1, fleet.data["origin"])
        results["swarm_publish"] = measure(fleet, t0, 1, plan.deadline_s, before, world.size)
        _say(f"swarm (published at t0): makespan {results['swarm_publish']['makespan_s']} s")
    finally:
        fleet.stop()
        fleet.keep_logs(plan.keep_logs)
        shutil.rmtree(fleet.work, ignore_errors=True)


def seeders_hold_run(tb: Testbed, world: World, work: Path, plan: Plan, name: str,
                     on_tick: Tick | None = None,
                     prepare: Callable[[Fleet], None] | None = None) -> dict[str, Any]:
    """One more seeders-hold run on a fresh fleet (the lossy run and the fault scenarios)."""
    fleet = new_fleet(tb, world, work / name, plan.poll_s, seeders_hold=1)
    try:
        start_seeders(fleet)
        if prepare is not None:
            prepare(fleet)
        before = tb.counters()
        t0 = time.monotonic()
        start_boxes(fleet)
        return measure(fleet, t0, 1, plan.deadline_s, before, world.size,
                       on_tick=None if on_tick is None else on_tick)
    finally:
        fleet.stop()
        fleet.keep_logs(plan.keep_logs)
        shutil.rmtree(fleet.work, ignore_errors=True)


def lossy(tb: Testbed, world: World, work: Path, plan: Plan, results: dict[str, Any]) -> None:
    assert plan.lossy is not None
    relay = with_conditions(tb, plan.lossy)
    try:
        # Loss and delay may slow it down a lot; give it twice the time rather than no number.
        res = seeders_hold_run(tb, world, work,
                               dataclasses.replace(plan, deadline_s=2 * plan.deadline_s), "lossy")
    finally:
        res_relay = clear_conditions(tb, relay)
    res["wan_conditions"] = plan.lossy.as_dict()
    res["relay"] = res_relay
    results["swarm_lossy"] = res
    _say(f"swarm (RTT, jitter, loss): makespan {res['makespan_s']} s")


def run_suite(tb: Testbed, world: World, work: Path, plan: Plan) -> dict[str, Any]:
    """Every swarm mode of `plan`; results keyed by mode (plus idle CPU and faults)."""
    from faults import run_faults

    tb.origin_serves_only([tb.seeder.subnet])
    results: dict[str, Any] = {}
    try:
        seeders_hold_then_update(tb, world, work, plan, results)
        plan.save(results)
        if not plan.only_hold:
            publish_at_t0(tb, world, work, plan, results)
            plan.save(results)
        if plan.lossy is not None:
            lossy(tb, world, work, plan, results)
            plan.save(results)
        if plan.faults:
            results["faults"] = run_faults(tb, world, work, plan,
                                           lambda f: plan.save({**results, "faults": f}))
    finally:
        tb.origin_serves_only(None)
    return results
