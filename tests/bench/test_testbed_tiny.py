"""The update-time benchmark in miniature: 2 sites x 2 boxes, 4 MiB, fast links: central, mirror
and the swarm of real daemons (`p2pdist seeder run`, `box init` + `box run`) in the seeders-hold
mode.

Runs `bench/update_time.py --tiny` as a child process (so a crash cannot leave this pytest
process inside a namespace) and checks the result file: every field the full benchmark reports
exists, every box of every mode completed with byte-identical files (the benchmark hashes them
against the signed manifest), the swarm's per-box timeline holds each mark in order, no daemon
logged a traceback, and no namespace of the run is left behind.

Root builds the testbed directly; without root it runs inside an own user+network+mount namespace
(`unshare -Urnm`), where `ip netns` works on a private /run/netns and everything vanishes when the
child exits. It is skipped when neither is possible.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench" / "update_time.py"
TIME_LIMIT_S = 120


def _userns_works() -> bool:
    if not shutil.which("unshare"):
        return False
    r = subprocess.run(["unshare", "-Urnm", "sh", "-c",
                        "mount -t tmpfs none /run/netns && ip netns add probe"],
                       capture_output=True, timeout=20)
    return r.returncode == 0


def _command(out: Path) -> list[str]:
    cmd = [sys.executable, str(BENCH), "--tiny", "--no-install", "--out", str(out)]
    if os.geteuid() == 0:
        return cmd
    return ["unshare", "-Urnm", "sh", "-c",
            'mount -t tmpfs none /run/netns && exec "$@"', "sh", *cmd]


pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(not shutil.which("ip") or not shutil.which("tc"),
                       reason="iproute2 (ip, tc) is not installed"),
    pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed"),
]


def test_tiny_update_benchmark(tmp_path: Path) -> None:
    if os.geteuid() != 0 and not _userns_works():
        pytest.skip("needs root or unprivileged user namespaces (unshare -Urnm) to build "
                    "network namespaces")
    t0 = time.monotonic()
    r = subprocess.run(_command(tmp_path), capture_output=True, text=True, timeout=TIME_LIMIT_S,
                       cwd=REPO)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    last = json.loads(r.stdout.strip().splitlines()[-1])
    res = json.loads((tmp_path / "update_time.json").read_text())
    assert (tmp_path / "update_time.png").stat().st_size > 0

    for key in ("swarm_over_bound", "mirror_over_swarm", "central_over_swarm",
                "origin_egress_over_F", "site_ingress_over_F_max"):
        assert key in last and isinstance(res[key], float), key
    assert res["bound_s"] > 0 and res["topology"]["boxes"] == 4
    assert res["swarm_runner"] == "box run"
    for key in ("swarm_over_bound_publish", "swarm_over_bound_update", "swarm_over_bound_lossy",
                "idle_cpu_core_fraction", "faults"):
        assert key in res, key
    for mode in ("central", "mirror", "swarm"):
        m = res["modes"][mode]
        assert m["completed"] == m["boxes"] == 4, (mode, m)
        assert m["all_verified"], f"{mode}: some box's files differ from the manifest"
        assert m["makespan_s"] > 0 and m["p50_s"] <= m["p99_s"] <= m["makespan_s"]
        assert len(m["site_ingress_bytes"]) == 2
        assert 0 <= m["lan_share"] <= 1
    # Every box downloaded its own copy over HTTP; the swarm moved part of it over the LAN.
    assert res["modes"]["central"]["origin_egress_over_F"] >= 4
    sw = res["modes"]["swarm"]
    assert sw["lan_share"] > 0
    assert sw["tracebacks"] == 0
    assert sw["payload_received_by_source"].get("lan", 0) > 0
    for name, box in sw["timeline"]["boxes"].items():
        assert box["first_manifest_s"] is not None and box["done_s"] is not None, name
        assert box["first_manifest_s"] <= box["done_s"], (name, box)
        assert box["received"]["seeder"][-1] + box["received"]["lan"][-1] > 0, name
    elected = [b["elected"] for b in sw["timeline"]["boxes"].values()]
    assert elected.count(True) == 2, elected  # one per site, chosen by the daemons themselves

    if os.geteuid() == 0:
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert res["testbed_prefix"] not in left
    assert took < TIME_LIMIT_S
