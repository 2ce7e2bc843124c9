"""The per-mode figures of the update-time benchmark, from completion times and byte counters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import model

from scripts.testbed import Testbed, Topology


def net_of(topo: Topology) -> model.Net:
    return model.Net(topo.sites, topo.boxes_per_site, topo.origin_mbit, topo.seeder_mbit,
                     topo.site_down_mbit, topo.site_up_mbit, topo.lan_mbit)


def bound_s(topo: Topology, f_bytes: float) -> float:
    """`model.lower_bound_s` for moving `f_bytes` to every site of `topo`."""
    return float(model.predict(net_of(topo), f_bytes)["bound"]["makespan_s"])


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


def summarize(tb: Testbed, f: int, done_s: Sequence[float | None], c: dict[str, int],
              verified: Sequence[bool]) -> dict[str, Any]:
    """Makespan, percentiles, egress and ingress (wire bytes; ratios to `f`, the bytes that had
    to move) from completion times and counter deltas `c`."""
    ok = sorted(t for t in done_s if t is not None)
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
