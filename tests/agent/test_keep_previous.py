"""Seeders keep the previous release seeded for `keep_previous_s` after a new one (issue 9):
a real origin `seeder run`, a real `box fetch` of v1 that cannot switch (it fetches the one
manifest it was given), and v2 published while v1 is half way.

The origin's WAN upload is capped so the 8 MB download takes seconds, not a blink; the box
fetches from its own 127.0.0.x address, so it is a WAN peer of the origin.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from agentworld import BUNDLE, Fleet, World, bt_handshake, run_cli, tree_digest, wait_all

from p2pdist.store import Store

pytestmark = pytest.mark.slow

KEEP_S = 20
BOX_IP = "127.0.0.71"
PROBE_IP = "127.0.0.72"


def origin_config(w: World, d: Path) -> Path:
    config = d / "origin.toml"
    run_cli("seeder", "init", "--out", config, "--data", d / "origin", "--metrics", "",
            "--poll", "1", "--root", w.root, "--channel", w.channel, "--origin",
            "--listen", "127.0.0.1:0", "--feed", "127.0.0.1:0")
    text = config.read_text(encoding="utf-8")
    for old, new in (("keep_previous_s = 600", f"keep_previous_s = {KEEP_S}"),
                     ("wan_limit = []", 'wan_limit = ["8Mbit"]'),
                     ("super_seed = false", "super_seed = false")):  # plain seeding, the default
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")
    return config


def seeds(port: int, info_hash: bytes) -> bool:
    """Whether the origin takes a BitTorrent connection for this torrent."""
    return len(bt_handshake(PROBE_IP, port, info_hash)) >= 48


def test_a_box_still_on_the_previous_release_finishes_then_it_is_dropped(
        agent_world: World, fleet: Fleet, tmp_path: Path) -> None:
    w = agent_world
    config = origin_config(w, tmp_path)
    w.publish(1, tmp_path / "origin")
    origin = fleet.spawn("seeder", "run", "--config", config, "--json", name="origin")
    port = int(origin.wait_event("ready", 30)["swarm_port"])
    wait_all(lambda: seeds(port, w.info_hash(1)), 30, "the origin seeding v1")

    box = tmp_path / "box"
    fetch = fleet.spawn("box", "fetch", w.manifest[1], "--data", box, "--root", w.root,
                        "--peer", f"127.0.0.1:{port}", "--listen", f"{BOX_IP}:0",
                        "--stall-timeout", "60", "--json", name="fetch")
    fetch.wait_event("progress", 60, where=lambda e: e["bytes_done"] >= BUNDLE // 10)
    w.publish(2, tmp_path / "origin")
    wait_all(lambda: seeds(port, w.info_hash(2)), 30, "the origin seeding v2")
    v2_seen = time.monotonic()

    done = fetch.wait_event("done", 120)
    assert done["version"] == 1
    assert done["_t"] > v2_seen, "v1 finished before v2 was published: nothing was tested"
    assert fetch.wait_exit(30) == 0
    assert Store(box).active_version(w.channel) == 1
    assert tree_digest(Store(box).active_dir(w.channel)) == w.digest(1)

    # Past keep_previous_s the origin drops v1 and keeps seeding v2.
    wait_all(lambda: not seeds(port, w.info_hash(1)), KEEP_S + 30, "v1 dropped by the origin")
    assert seeds(port, w.info_hash(2))
    assert fetch.tracebacks == 0 and origin.tracebacks == 0
