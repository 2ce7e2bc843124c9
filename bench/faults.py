"""Fault scenarios of the update-time benchmark, each a seeders-hold run with one fault.

- `uplink_down`: site 0's WAN uplink goes down for `OUTAGE_S` once the boxes hold ~30% on
  average, then comes back;
- `province_restart`: the provincial seeder is stopped (SIGTERM) at ~50% and started again;
- `new_release`: v2 is published at the origin at ~50%; every box must end on v2;
- `box_kill`: at ~50% two boxes (site 0's elected box and a box of another site) get SIGKILL and
  are started again `RESTART_AFTER_S` later.

Each reports ``{"scenario", "boxes", "finished", "tracebacks", "refetched_bytes",
"makespan_over_bound"}`` (plus what happened when): `refetched_bytes` is payload the boxes
received beyond one copy of what they needed (every life of every box counted); the bound is that
of the whole release, so an outage's seconds count against it.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from figures import bound_s
from swarm_run import Plan, seeders_hold_run
from timeline import Poller
from world import World

from scripts.testbed import Testbed, uplink

SCENARIOS = ("uplink_down", "province_restart", "new_release", "box_kill")
OUTAGE_S = 60.0
RESTART_AFTER_S = 5.0


@dataclass
class Fault:
    """One scenario's trigger and state, driven by `tick` from the measuring loop."""

    name: str
    tb: Testbed
    world: World
    at_fraction: float
    events: list[dict[str, Any]] = field(default_factory=list)
    _stage: int = 0
    _t: float = 0.0
    _killed: list[str] = field(default_factory=list)

    def note(self, poller: Poller, what: str, **kw: Any) -> None:
        self.events.append({"t_s": round(time.monotonic() - poller.t0, 2), "what": what,
                            "mean_fraction": round(poller.fraction(), 3), **kw})
        print(f"fault {self.name}: {what} {kw or ''}", file=sys.stderr, flush=True)

    def tick(self, poller: Poller) -> None:
        if self._stage == 0 and poller.fraction() >= self.at_fraction:
            self._stage = 1
            self._t = time.monotonic()
            self.begin(poller)
        elif self._stage == 1:
            self.follow(poller)

    def begin(self, poller: Poller) -> None:
        f = poller.fleet
        if self.name == "uplink_down":
            uplink(self.tb, 0, up=False)
            self.note(poller, "site 0 uplink down")
        elif self.name == "province_restart":
            f.stop(["province"])
            self.note(poller, "province stopped")
            f.start_seeder("province")
            f.wait_ready(["province"])
            self.note(poller, "province ready again")
            self._stage = 2
        elif self.name == "new_release":
            self.world.publish(2, f.data["origin"])
            poller.target = 2
            self.note(poller, "v2 published at the origin")
            self._stage = 2
        elif self.name == "box_kill":
            self._killed = self._victims(poller)
            for n in self._killed:
                f.procs[n].kill()
            self.note(poller, "SIGKILL", boxes=self._killed)

    def follow(self, poller: Poller) -> None:
        left = time.monotonic() - self._t
        if self.name == "uplink_down" and left >= OUTAGE_S:
            uplink(self.tb, 0, up=True)
            self.note(poller, "site 0 uplink up")
            self._stage = 2
        elif self.name == "box_kill" and left >= RESTART_AFTER_S:
            for n in self._killed:
                poller.fleet.start_box(n)
            self.note(poller, "restarted", boxes=self._killed)
            self._stage = 2

    def _victims(self, poller: Poller) -> list[str]:
        """Site 0's elected box (by its own last status) and a box of another site (or a second
        box of site 0 when there is one site)."""
        names = poller.fleet.box_names
        site0 = [n for n in names if n.startswith("b0-")]
        elected = next((n for n in site0 if (s := poller.samples.get(n)) and s[-1].elected),
                       site0[0])
        others = [n for n in names if not n.startswith("b0-")] or [n for n in site0
                                                                     if n != elected]
        return [elected, *others[-1:]]

    def cleanup(self) -> None:
        if self.name == "uplink_down" and self._stage == 1:
            uplink(self.tb, 0, up=True)


def run_faults(tb: Testbed, world: World, work: Path, plan: Plan,
               saved: Callable[[list[dict[str, Any]]], None] | None = None
               ) -> list[dict[str, Any]]:
    bound = bound_s(tb.topo, world.size)
    out = []
    for name in plan.faults:
        if name == "new_release" and 2 not in world.releases:
            continue
        fault = Fault(name, tb, world, 0.3 if name == "uplink_down" else 0.5)
        extra = 60.0 + (OUTAGE_S if name == "uplink_down" else 0.0)
        p = dataclasses.replace(plan, deadline_s=plan.deadline_s + extra, checkpoint=None)
        try:
            res = seeders_hold_run(tb, world, work, p, name, on_tick=fault.tick)
        finally:
            fault.cleanup()
        ms = res["makespan_s"]
        out.append({
            "scenario": name,
            "boxes": res["boxes"],
            "finished": res["completed"],
            "tracebacks": res["tracebacks"],
            "refetched_bytes": res["refetched_bytes"],
            "makespan_over_bound": round(ms / bound, 3) if ms else None,
            "makespan_s": ms,
            "all_verified": res["all_verified"],
            "hybrid_torrent_errors": res["hybrid_torrent_errors"],
            "fault_events": fault.events,
            "final_version": 2 if name == "new_release" else 1,
            "timeline_summary": res["timeline_summary"],
        })
        print(f"fault {name}: finished {res['completed']}/{res['boxes']}, makespan {ms} s",
              file=sys.stderr, flush=True)
        if saved is not None:
            saved(out)
    return out
