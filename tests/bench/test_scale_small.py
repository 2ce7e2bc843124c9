"""The scale benchmark in miniature: `bench/scale.py --size 100MB` through the real daemons.

Keeps the harness from rotting: it must run end to end (seeder and boxes as processes, kills
at 40 % / 95 % / in the final check, seeding to a second box, export/import, an update, verify)
and write every top-level figure the full run reports. No figure is held to its target here
(this machine is shared; speed belongs to `make bench`), only to being a sane number.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KEYS = ("bundle_bytes", "box_peak_rss_mb", "rss_growth_mb_1_to_10GB", "seeder_peak_rss_mb",
        "write_amplification", "seed_read_amplification", "update_hash_over_changed",
        "first_byte_s", "verify_over_sha256", "build_over_sha256",
        "resume_refetch_fraction_max", "samples")


@pytest.mark.slow
def test_scale_benchmark_runs_and_reports_every_figure(tmp_path: Path) -> None:
    data = Path("/var/tmp") if Path("/var/tmp").is_dir() else tmp_path
    r = subprocess.run([sys.executable, str(REPO / "bench" / "scale.py"), "--size", "100MB",
                        "--dir", str(data), "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600, cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "scale.json").read_text())
    assert (tmp_path / "scale.png").stat().st_size > 0
    for key in KEYS:
        assert key in res, key
    assert res["bundle_bytes"] >= 100_000_000
    assert 10 < res["box_peak_rss_mb"] < 2000 and 10 < res["seeder_peak_rss_mb"] < 2000
    assert 0 < res["write_amplification"] < 10
    assert 0 <= res["seed_read_amplification"] < 10
    assert res["first_byte_s"] is not None and res["first_byte_s"] > 0
    assert 0 <= res["resume_refetch_fraction_max"] <= 1
    assert res["verify_over_sha256"] > 0 and res["build_over_sha256"] > 0
    assert res["update_hash_over_changed"] > 0
    assert res["samples"]["0.1GB"], "no raw samples"
    assert set(res["targets"]) >= set(KEYS) - {"bundle_bytes", "samples"}
