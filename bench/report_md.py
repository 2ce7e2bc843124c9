"""Markdown tables of one update-time result (for bench/README.md), printed to stdout.

    .venv/bin/python bench/report_md.py [bench/results/update_time.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from plots import ALL_MODES, LABEL

RESULTS = Path(__file__).with_name("results")


def _f(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3g}{unit}" if abs(v) < 10 else f"{v:.1f}{unit}"
    return f"{v}{unit}"


def modes_table(r: dict[str, Any]) -> list[str]:
    rows = ["| mode | makespan | p50 | bound | origin egress | seeder egress | site WAN ingress "
            "(max) | LAN share | verified |", "| --- | --- | --- | --- | --- | --- | --- | --- |"
            " --- |"]
    rows[1] = "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    for mode in ALL_MODES:
        m = r["modes"].get(mode)
        if not m:
            continue
        bound = r["bound_update_s"] if mode == "swarm_update" else r["bound_s"]
        unit = " ΔF" if mode == "swarm_update" else " F"
        rows.append(
            f"| {LABEL[mode]} | {_f(m['makespan_s'], ' s')} | {_f(m['p50_s'], ' s')} | "
            f"{bound} s | {_f(m['origin_egress_over_F'], unit)} | "
            f"{_f(m['seeder_egress_over_F'], unit)} | "
            f"{_f(max(m['site_ingress_over_F']), unit)} | {_f(m['lan_share'])} | "
            f"{m['completed']}/{m['boxes']}{'' if m['all_verified'] else ' NOT verified'} |")
    return rows


def targets_table(r: dict[str, Any]) -> list[str]:
    rows = ["| figure | measured | target | met |", "| --- | --- | --- | --- |"]
    for k, t in r["targets"].items():
        met = r["targets_met"].get(k)
        rows.append(f"| `{k}` | {_f(r.get(k))} | {'≥' if k.endswith('_over_swarm') else '≤'} "
                    f"{t} | {'–' if met is None else 'yes' if met else 'no'} |")
    return rows


def timeline_table(r: dict[str, Any]) -> list[str]:
    marks = ("process_up_s", "discovered_s", "elected_s", "first_manifest_s", "first_byte_s",
             "done_s")
    rows = ["| mode (median / max s) | " + " | ".join(m[:-2].replace("_", " ") for m in marks)
            + " |", "| --- |" + " --- |" * len(marks)]
    for mode in ALL_MODES:
        s = r["modes"].get(mode, {}).get("timeline_summary")
        if s:
            cells = [f"{_f(s.get(m, {}).get('median'))} / {_f(s.get(m, {}).get('max'))}"
                     for m in marks]
            rows.append(f"| {LABEL[mode]} | " + " | ".join(cells) + " |")
    return rows


def faults_table(r: dict[str, Any]) -> list[str]:
    rows = ["| scenario | finished | tracebacks | re-fetched | makespan / bound |",
            "| --- | --- | --- | --- | --- |"]
    for f in r.get("faults", []):
        rows.append(f"| {f['scenario']} | {f['finished']}/{f['boxes']} | {f['tracebacks']} | "
                    f"{f['refetched_bytes'] / r['bundle_bytes']:.2f} F | "
                    f"{_f(f['makespan_over_bound'])} |")
    return rows


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "update_time.json"
    r = json.loads(path.read_text())
    for table in (modes_table, targets_table, timeline_table, faults_table):
        print("\n".join(table(r)) + "\n")


if __name__ == "__main__":
    main()
