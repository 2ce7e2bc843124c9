"""Flow-level model of an update: the testbed's three modes and a whole province.

The testbed (scripts/testbed) measures 24 boxes; a province has ~2,000. This model predicts the
makespan of each mode from link rates alone, is checked against the testbed's measured JSON
(`--compare`), and then projects a province and the real ~40 GB bundle (`--province`).

Assumptions (each one says why it is safe or where it breaks):

- **Fluid flows, max-min fair sharing.** Concurrent TCP downloads through shared FIFO bottlenecks
  with equal RTTs converge to a max-min fair share (the testbed has no delay; real sites have
  similar RTTs to one seeder). `maxmin_completion` does progressive filling and re-shares each
  time a flow ends.
- **Goodput factor ETA = 1448/1514.** Shapers count Ethernet frames; a full TCP segment carries
  1448 payload bytes in 1514 (timestamps on). NOTES-testbed measured 7.65 of 8 Mbit = 0.956.
- **Central and mirror:** every box downloads the whole bundle over HTTP from one server at the
  same time; the path of box b is {server uplink, its site's downlink}.
- **Swarm:** pieces flow origin -> provincial seeder -> one copy per site -> LAN neighbours.
  The origin serves only the seeder tier (one copy leaves it). Site k receives new pieces at
  r_k = ETA * min(D_k, u_origin, (u_seeder + sum U_j) / (K * dup)): its downlink, the rate new
  pieces leave the origin, and its fair share of the upload capacity that can feed sites (the
  seeder plus every site's uplink, site-to-site trades), each site needing dup * F (dup >= 1:
  pieces fetched twice over one site's WAN). The LAN (100 Mbit ports) is never the bottleneck for
  sites of ~10 boxes at 8 Mbit. The makespan is start-up + dup * F / min_k r_k + a tail
  of one LAN hop.
- **Start-up** (process start, manifest verification, first connections) is a constant: a few
  seconds on the testbed's 2 cores, noise against hours for the real bundle.
- **Province:** sites are identical (n boxes behind D/U), one provincial seeder, one national
  origin that this province has to itself (the real origin serves ~31 provinces: its load is
  reported per province, so multiply).

Usage:
  .venv/bin/python bench/model.py --compare bench/results/update_time.json
  .venv/bin/python bench/model.py --province [--bundle-gb 40]
Writes bench/results/model.json; the last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ETA = 1448 / 1514
"""Payload bytes per wire byte of a full-size TCP segment (Ethernet + IPv4 + TCP w/ timestamps)."""
MBIT = 1e6
STARTUP_S = 5.0
"""Seconds from launch until the elected box of a site is pulling: the seeder's and the box's
process start, manifest verification, add_torrent, first connection (measured on the testbed's 2
cores, 2-3 s each while other processes start)."""
DUP = 1.05
"""Payload crossing a site's WAN per byte of the bundle: the elected box alone pulls from WAN, but
end-game requests and other sites' boxes duplicate a few pieces (testbed: 1.10-1.12 F of wire
bytes = ~1.05 F of payload)."""
RESULTS = Path(__file__).with_name("results")


def lower_bound_s(f_bytes: float, u_origin_bps: float, u_seeders_bps: float,
                  site_down_bps: Sequence[float], site_up_bps: Sequence[float]) -> float:
    """The shortest possible makespan for delivering F bytes to every site, in seconds.

    Derivation (rates in bit/s, F in bytes, K sites; boxes on one LAN trade for free):

    1. Every byte starts at the origin, which must send at least one copy:
       T >= 8F / u_origin.
    2. Site k's boxes can only receive from outside through its downlink D_k, and need F:
       T >= 8F / D_k for every k.
    3. Summed over sites, at least K*F must cross site downlinks. Each of those bytes is uploaded
       by a seeder (u_seeders: origin plus provincial seeders) or by another site's uplink U_j:
       T >= 8 K F / (u_seeders + sum_j U_j).

    Each is a necessary condition, so T >= their maximum. It ignores protocol overhead (a real
    flow gets ~96% of a link as payload, see ETA) and start-up time, so a perfect system lands
    at ~1.05x this bound.

    Args:
        f_bytes: the bundle size F.
        u_origin_bps: the origin's uplink.
        u_seeders_bps: every seeder's uplink together, the origin included.
        site_down_bps, site_up_bps: each site's downlink D_k and uplink U_k.
    """
    bits = 8 * f_bytes
    k = len(site_down_bps)
    return max(bits / u_origin_bps,
               max(bits / d for d in site_down_bps),
               k * bits / (u_seeders_bps + sum(site_up_bps)))


def maxmin_completion(sizes: Sequence[float], paths: Sequence[Sequence[str]],
                      capacity: dict[str, float]) -> list[float]:
    """Completion time of each flow under max-min fair sharing (progressive filling).

    Args:
        sizes: bytes each flow carries.
        paths: the links each flow crosses.
        capacity: bytes/s of each link.

    Returns:
        Seconds until each flow finishes, all starting at 0.
    """
    left = list(map(float, sizes))
    done = [0.0] * len(sizes)
    active = {i for i, s in enumerate(left) if s > 0}
    now = 0.0
    while active:
        rate: dict[int, float] = {}
        cap = dict(capacity)
        unfrozen = set(active)
        while unfrozen:
            # The link whose remaining capacity per unfrozen flow is smallest freezes its flows.
            share, link = min(
                (cap[ln] / n, ln) for ln in {ln for i in unfrozen for ln in paths[i]}
                if (n := sum(1 for i in unfrozen if ln in paths[i])) > 0)
            for i in [i for i in unfrozen if link in paths[i]]:
                rate[i] = share
                unfrozen.discard(i)
                for ln in paths[i]:
                    cap[ln] -= share
        dt = min(left[i] / rate[i] for i in active)
        now += dt
        for i in list(active):
            left[i] -= rate[i] * dt
            if left[i] <= 1e-6 * max(sizes):
                done[i] = now
                active.discard(i)
    return done


@dataclass(frozen=True)
class Net:
    """A province or testbed: identical sites behind one seeder tier (rates in Mbit/s)."""

    sites: int
    boxes_per_site: int
    origin_mbit: float
    seeder_mbit: float
    site_down_mbit: float
    site_up_mbit: float
    lan_mbit: float = 100.0

    @property
    def boxes(self) -> int:
        return self.sites * self.boxes_per_site


def http_mode(net: Net, f_bytes: float, server: str) -> dict[str, float]:
    """Every box fetches F over HTTP from `server` ("origin" or "seeder") at once."""
    up = net.origin_mbit if server == "origin" else net.seeder_mbit
    cap = {"server": ETA * up * MBIT / 8}
    cap |= {f"site{k}": ETA * net.site_down_mbit * MBIT / 8 for k in range(net.sites)}
    paths = [("server", f"site{k}") for k in range(net.sites) for _ in range(net.boxes_per_site)]
    if net.boxes > 400:  # identical flows finish together: solve one site, same answer
        t_one = f_bytes / min(cap["server"] / net.boxes, cap["site0"] / net.boxes_per_site)
        times = [t_one] * net.boxes
    else:
        times = maxmin_completion([f_bytes] * len(paths), paths, cap)
    times.sort()
    return {"makespan_s": times[-1], "p50_s": times[len(times) // 2],
            "server_egress_over_F": float(net.boxes),
            "site_ingress_over_F": float(net.boxes_per_site)}


def swarm_mode(net: Net, f_bytes: float, *, startup_s: float = STARTUP_S, dup: float = DUP,
               piece_bytes: float = 64 * 1024) -> dict[str, float]:
    """The pipelined swarm (see the module docstring): one copy per site, LAN for the rest."""
    supply = (net.seeder_mbit + net.sites * net.site_up_mbit) / (net.sites * dup)
    per_site = ETA * min(net.site_down_mbit, net.origin_mbit, supply) * MBIT / 8
    tail = 8 * piece_bytes / (ETA * net.lan_mbit * MBIT)
    t = startup_s + dup * f_bytes / per_site + tail
    return {"makespan_s": t, "p50_s": t, "site_rate_mbit": per_site * 8 / MBIT,
            "origin_egress_over_F": 1.0, "site_ingress_over_F": dup}


def predict(net: Net, f_bytes: float, **swarm_kw: float) -> dict[str, dict[str, float]]:
    """All three modes for one network and bundle."""
    bound = lower_bound_s(f_bytes, net.origin_mbit * MBIT,
                          (net.origin_mbit + net.seeder_mbit) * MBIT,
                          [net.site_down_mbit * MBIT] * net.sites,
                          [net.site_up_mbit * MBIT] * net.sites)
    return {"central": http_mode(net, f_bytes, "origin"),
            "mirror": http_mode(net, f_bytes, "seeder"),
            "swarm": swarm_mode(net, f_bytes, **swarm_kw),
            "bound": {"makespan_s": bound}}


def compare(measured: dict[str, Any]) -> dict[str, Any]:
    """Model vs a measured update_time.json: per mode, model makespan / measured makespan."""
    t = measured["topology"]
    net = Net(t["sites"], t["boxes_per_site"], t["origin_mbit"], t["seeder_mbit"],
              t["site_down_mbit"], t["site_up_mbit"], t["lan_mbit"])
    pred = predict(net, measured["bundle_bytes"])
    out: dict[str, Any] = {}
    for mode in ("central", "mirror", "swarm"):
        got = measured["modes"][mode]["makespan_s"]
        want = pred[mode]["makespan_s"]
        out[mode] = {"model_s": round(want, 1), "measured_s": got,
                     "model_over_measured": round(want / got, 3)}
    out["within_20pct"] = all(abs(v["model_over_measured"] - 1) <= 0.2
                              for v in out.values() if isinstance(v, dict))
    return out


PROVINCE = Net(sites=200, boxes_per_site=10, origin_mbit=1000, seeder_mbit=1000,
               site_down_mbit=8, site_up_mbit=2)
"""2,000 boxes in 200 township sites on 8/2 Mbit lines; origin and seeder on 1 Gbit."""


def province(bundle_gb: float) -> dict[str, Any]:
    """Projected update times and loads for a province, for a 100 Mbit and a 1 Gbit seeder."""
    f = bundle_gb * 1e9
    out: dict[str, Any] = {"bundle_gb": bundle_gb, "net": asdict(PROVINCE), "cases": {}}
    for seeder in (100.0, 1000.0):
        net = Net(**{**asdict(PROVINCE), "seeder_mbit": seeder})
        p = predict(net, f, startup_s=60.0)
        out["cases"][f"seeder_{int(seeder)}mbit"] = {
            mode: {"makespan_h": round(v["makespan_s"] / 3600, 1)} for mode, v in p.items()}
        sw = out["cases"][f"seeder_{int(seeder)}mbit"]
        sw["origin_egress_tb"] = {"central": round(net.boxes * f / 1e12, 1),
                                  "mirror": round(f / 1e12, 3), "swarm": round(f / 1e12, 3)}
        sw["seeder_egress_tb"] = {"mirror": round(net.boxes * f / 1e12, 1),
                                  "swarm_at_most": round(net.sites * f / 1e12, 1)}
        sw["swarm_site_rate_mbit"] = round(p["swarm"]["site_rate_mbit"], 2)
    one_box = 8 * f / (ETA * PROVINCE.site_down_mbit * MBIT) / 3600
    out["one_box_alone_on_8mbit_h"] = round(one_box, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", type=Path, help="a measured update_time.json")
    ap.add_argument("--province", action="store_true")
    ap.add_argument("--bundle-gb", type=float, default=40.0)
    args = ap.parse_args()
    result: dict[str, Any] = {"bench": "model"}
    if args.compare:
        result["testbed"] = compare(json.loads(args.compare.read_text()))
    if args.province or not args.compare:
        result["province"] = province(args.bundle_gb)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "model.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
