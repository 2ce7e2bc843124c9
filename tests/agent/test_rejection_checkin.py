"""A release the box rejects reaches the center: real `box run` and `seeder run` daemons, the
real signed check-in path (`p2pdist.checkin`) into the seeder's check-in database.

The box is configured with two seeders: a feed that offers a v99 signed by a key the root does
not know (first, so the box asks it and tries to deliver check-ins to it first), and an origin
seeder holding v1. The box rejects v99, activates v1 from the origin, says so in `status`, and
the origin's database holds the box's channel line with the rejection and its reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from agentworld import CHANNEL, FakeFeed, Fleet, World, run_cli, wait_all

from p2pdist.checkin import ChannelReport
from seeder._db import CheckinDB, db_path

pytestmark = pytest.mark.slow


def line_at(data: Path, box_id: str) -> ChannelReport | None:
    """The box's newest channel line in the seeder's check-in database."""
    path = db_path(data)
    if not path.is_file():
        return None
    for b in CheckinDB.open_existing(path).boxes():
        if b.box_id == box_id:
            return b.channels.get(CHANNEL)
    return None


def test_a_rejected_release_is_reported_in_the_check_in(agent_world: World, fleet: Fleet,
                                                        tmp_path: Path) -> None:
    w = agent_world
    config, origin_data = tmp_path / "origin.toml", tmp_path / "origin"
    run_cli("seeder", "init", "--out", config, "--data", origin_data, "--metrics", "",
            "--poll", "1", "--root", w.root, "--channel", w.channel, "--origin",
            "--listen", "127.0.0.1:0", "--feed", "127.0.0.1:0")
    w.publish(1, origin_data)
    origin = fleet.spawn("seeder", "run", "--config", config, "--json", name="origin")
    origin_url = f"http://127.0.0.1:{origin.wait_event('ready', 30)['feed_port']}"
    rogue = FakeFeed("rogue", "ab" * 32, w.rogue_manifest.read_bytes())
    try:
        box = fleet.box("box")
        box.init(w, "--no-mdns", "--site-mode", "own-link", "--seeder", rogue.url,
                 "--seeder", origin_url)
        box.start()
        st = box.wait_active(1, 60)
        rejected = box.channel(st)["rejected"]
        assert rejected is not None and "v99" in rejected and rogue.url in rejected, st
        assert "Error" in rejected, rejected  # the typed error's name, for the center to quote
        assert rogue.manifest_requests() >= 1
        box_id = box.node_id

        def reported() -> bool:
            line = line_at(origin_data, box_id)
            return line is not None and line.version == 1 and "v99" in line.problem

        # After the activation: v1 active, and the rejection of v99 still said.
        wait_all(reported, 60, "v1 and the rejection of v99 in the origin's check-ins")
        line = line_at(origin_data, box_id)
        assert line is not None and rogue.url in line.problem, line
        assert line.problem.count("v99") == 1 and "KeyNotInRoleError" in line.problem, line
    finally:
        rogue.close()
    assert box.child is not None and origin is not None
    box.stop()
    assert box.child.tracebacks == 0 and origin.tracebacks == 0
