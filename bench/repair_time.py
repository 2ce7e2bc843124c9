"""Repair time of a deleted 100 MB film: real daemons on loopback (an upstream box + a box).

Builds a small sample release with one 100 MB film, lets a box fetch it, stops the box,
deletes the film, restarts the box and times the repair that `status` reports. Run from the
repo root: `.venv/bin/python bench/repair_time.py` (~1 min).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = ["tests/agent", "tests", "."]

import agentworld  # noqa: E402
from agentworld import CHANNEL, Fleet  # noqa: E402

from p2pdist.sample import write_sample  # noqa: E402
from p2pdist.store import Store  # noqa: E402
from tests.world import build_signed, make_trust_root  # noqa: E402


def build(d: Path) -> tuple[agentworld.World, str]:
    make_trust_root(d)
    c = d / "c1"
    write_sample(c, 20_000_000, seed=11)
    film = max(c.rglob("*.mp4"), key=lambda p: p.stat().st_size)
    with open(film, "wb") as f:
        f.write(os.urandom(100_000_000))
    build_signed(c, CHANNEL, 1, d / "m1", d / "release")
    world = agentworld.World(d, d / "root.v1", {1: c}, {1: d / "m1"}, d / "m1", d / "usb")
    return world, film.relative_to(c).as_posix()


def main() -> None:
    d = Path(tempfile.mkdtemp(prefix="repair-time-"))
    fleet = Fleet(d / "fleet")
    try:
        w, film = build(d)
        ip = "127.0.0.54"
        up = fleet.box("upstream")
        up.init(w, "--no-mdns", "--site-mode", "own-link", listen=f"{ip}:0", feed=f"{ip}:0")
        w.publish(1, up.data)
        up.start()
        box = fleet.box("box")
        box.init(w, "--no-mdns", "--site-mode", "own-link", "--seeder",
                 f"http://{ip}:{up.ready['feed_port']}")
        box.start()
        box.wait_active(1, 300)
        box.stop()
        (Store(box.data).active_dir(CHANNEL) / film).unlink()
        t0 = time.monotonic()
        box.start()
        st = box.wait(lambda st: st.get("repair", {}).get(CHANNEL, {}).get("state")
                      == "repaired", 300, "the repair", every=0.1)
        total = time.monotonic() - t0
        assert box.active_digest() == w.digest(1)
        print(f"deleted 100 MB film repaired: {total:.1f} s from daemon start, "
              f"{st['repair'][CHANNEL]['seconds']} s from quarantine to verified")
    finally:
        fleet.close()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
