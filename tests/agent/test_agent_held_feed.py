"""A box hears of a release from its seeder when the seeder offers it, not at its next poll: the
box's request to the seeder's feed is held until the offer changes (issue 15). The box polls
every 10 minutes here, so only the held answer can bring the release within the test."""

from __future__ import annotations

import json
from pathlib import Path

from agentworld import Fleet, World

from tests.world import wait_until

POLL_S = 600


def test_a_box_hears_of_a_release_published_at_its_seeder_without_polling(
        agent_world: World, fleet: Fleet, tmp_path: Path) -> None:
    w = agent_world
    origin_data = tmp_path / "origin"
    origin_data.mkdir()
    config = tmp_path / "origin.toml"
    config.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in {
        "channels": [w.channel], "data": str(origin_data), "root": str(w.root), "origin": True,
        "listen": "127.0.0.61:0", "feed": "127.0.0.61:0", "metrics": "",
        "poll_interval_s": POLL_S, "super_seed": False}.items()), encoding="utf-8")
    origin = fleet.spawn("seeder", "run", "--config", config, "--json", "--log-level", "debug",
                         name="origin")
    feed = f"http://127.0.0.61:{origin.wait_event('ready', 30)['feed_port']}"

    box = fleet.box("box").init(w, "--no-mdns", "--site-mode", "own-link", "--seeder", feed,
                               "--poll", str(POLL_S))
    box.start()
    # The box asked the origin (its first poll, or its watcher): nothing offered yet. Without
    # the watcher, that answer was its first poll's, and the next is 10 minutes away.
    wait_until(lambda: "/p2pdist/v1/info" in origin.stderr_tail, 30,
               "the box's first request to the origin")
    assert box.channel()["active_version"] is None

    w.publish(1, origin_data)  # the origin seeds it within a second and answers held requests
    box.wait_active(1, timeout=60)
    assert box.active_digest() == w.digest(1)
    assert origin.tracebacks == 0 and box.child is not None and box.child.tracebacks == 0
