"""Plots of the update-time benchmark: completion CDF per mode, bytes by source, per-box
timelines (marks and received bytes per second by source), and the sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SWARM_MODES = ("swarm", "swarm_update", "swarm_publish", "swarm_lossy")
ALL_MODES = ("central", "mirror", *SWARM_MODES)
LABEL = {"central": "central HTTP", "mirror": "mirror HTTP", "swarm": "swarm, seeders hold",
         "swarm_update": "swarm, v1 -> v2", "swarm_publish": "swarm, published at t0",
         "swarm_lossy": "swarm, RTT + loss"}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_result(res: dict[str, Any], path: Path) -> None:
    """Completion-time CDF per mode, and wire bytes by source (in units of F) per mode."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.8))
    for mode in ALL_MODES:
        m = res["modes"].get(mode)
        if not m:
            continue
        ts = sorted(t for t in m["completion_s"] if t is not None)
        a1.step(ts, [(i + 1) / len(m["completion_s"]) for i in range(len(ts))], where="post",
                label=f"{LABEL[mode]} ({m['makespan_s']} s)")
    a1.axvline(res["bound_s"], color="k", ls="--", lw=1, label=f"bound {res['bound_s']} s")
    a1.set_xscale("log")
    a1.set_xlabel("seconds since t0 (log)")
    a1.set_ylabel("fraction of boxes done")
    a1.set_title(f"{res['topology']['boxes']} boxes, F = {res['bundle_bytes'] / 2**20:.0f} MiB")
    a1.legend(fontsize=7)
    names = [m for m in ALL_MODES if m in res["modes"]]
    parts: dict[str, list[float]] = {"origin egress": [], "seeder egress": [],
                                     "site uplinks (other sites; ACKs)": [],
                                     "LAN (box to box)": []}
    for m in names:
        d = res["modes"][m]
        f = d.get("need_bytes") or res["bundle_bytes"]
        parts["origin egress"].append(d["origin_egress_bytes"] / f)
        parts["seeder egress"].append(d["seeder_egress_bytes"] / f)
        parts["site uplinks (other sites; ACKs)"].append(sum(d["site_egress_bytes"]) / f)
        parts["LAN (box to box)"].append(d["lan_bytes"] / f)
    bottom = [0.0] * len(names)
    for label, vals in parts.items():
        a2.bar([LABEL[n].replace(", ", "\n") for n in names], vals, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    a2.set_ylabel("bytes sent / bytes needed (wire)")
    a2.set_yscale("log")
    a2.set_title("bytes by source")
    a2.tick_params(axis="x", labelsize=7)
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _rate(t: list[float], v: list[int]) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for i in range(1, len(t)):
        dt = t[i] - t[i - 1]
        if dt > 0:
            xs.append(t[i])
            ys.append(max(0, v[i] - v[i - 1]) * 8 / dt / 1e6)
    return xs, ys


def plot_timelines(res: dict[str, Any], path: Path) -> None:
    """One row per swarm mode: left, each box's marks (discovered, elected, manifest, first
    byte, done) on a line per box; right, Mbit/s received by source (all boxes) and the
    province's ingress from the origin, per second."""
    plt = _plt()
    modes = [m for m in SWARM_MODES if res["modes"].get(m, {}).get("timeline")]
    if not modes:
        return
    fig, axes = plt.subplots(len(modes), 2, figsize=(14, 3.6 * len(modes)), squeeze=False)
    marks = (("discovered_s", "o", "neighbour seen"), ("elected_s", "^", "election settled"),
             ("first_manifest_s", "s", "manifest found"), ("first_byte_s", "D", "first byte"),
             ("done_s", "*", "done"))
    for row, mode in zip(axes, modes, strict=True):
        tl = res["modes"][mode]["timeline"]
        a1, a2 = row
        names = sorted(tl["boxes"])
        for y, name in enumerate(names):
            b = tl["boxes"][name]
            xs = [b[k] for k, _m, _l in marks if b.get(k) is not None]
            a1.plot([min(xs, default=0), max(xs, default=0)], [y, y], color="0.8", lw=1)
            for k, marker, label in marks:
                if b.get(k) is not None:
                    a1.plot(b[k], y, marker, ms=5 if marker != "*" else 9,
                            color={"o": "C0", "^": "C1", "s": "C2", "D": "C3", "*": "C4"}[marker],
                            label=label if y == 0 else None,
                            mfc="none" if k == "elected_s" and not b.get("elected") else None)
        a1.set_yticks(range(len(names)), [n + (" (E)" if tl["boxes"][n].get("elected") else "")
                                          for n in names], fontsize=6)
        a1.set_xlabel("seconds since t0")
        a1.set_title(f"{LABEL[mode]}: per-box marks (E = elected)")
        a1.legend(fontsize=7, loc="lower right")
        for src in ("seeder", "lan", "wan"):
            tot: dict[int, float] = {}
            for b in tl["boxes"].values():
                xs, ys = _rate(b["t"], b["received"][src])
                for xv, yv in zip(xs, ys, strict=True):
                    sec = round(xv)
                    tot[sec] = tot.get(sec, 0.0) + yv
            if tot:
                ks = sorted(tot)
                a2.plot(ks, [tot[k] for k in ks], label=f"boxes from {src} (payload)")
        net = tl.get("net") or {}
        if net.get("t"):
            for key, label in (("origin_tx", "origin egress (wire)"),
                               ("seeder_tx", "province egress (wire)")):
                xs, ys = _rate(net["t"], net[key])
                a2.plot(xs, ys, ls="--", lw=1, label=label)
        a2.set_xlabel("seconds since t0")
        a2.set_ylabel("Mbit/s")
        a2.set_title(f"{LABEL[mode]}: bytes by source per second")
        a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_sweep(sweep: dict[str, Any], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ns = [p["topology"]["boxes"] for p in sweep["points"]]
    for mode in ("central", "mirror", "swarm"):
        ys = [p["modes"].get(mode, {}).get("makespan_s") for p in sweep["points"]]
        ax.plot(ns, [y if y is not None else float("nan") for y in ys], "o-", label=LABEL[mode])
        model_ys = [p["modes"].get(mode, {}).get("model_makespan_s") for p in sweep["points"]]
        ax.plot(ns, [y if y is not None else float("nan") for y in model_ys], "x:", lw=1,
                label=f"model: {LABEL[mode]}")
    ax.plot(ns, [p["bound_s"] for p in sweep["points"]], "k--", label="lower bound")
    ax.set_xlabel("boxes N (6 per site)")
    ax.set_ylabel("makespan, s")
    ax.set_yscale("log")
    ax.set_title(f"update makespan vs N, F = {sweep['bundle_bytes'] / 2**20:.0f} MiB")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
