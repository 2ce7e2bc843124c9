"""A box repairs damage to its active release from the swarm (issue 16 item 1).

`p2pdist verify` counts a missing file as damage (exit 3, named); a restarted daemon fetches
exactly the damaged files again (a deleted one, one with a flipped byte) without deactivating
the rest, and `status` shows the repair. Real daemons on loopback.
"""

from __future__ import annotations

import json

import pytest
from agentworld import CHANNEL, Fleet, World
from click.testing import CliRunner

from p2pdist.cli import cli
from p2pdist.store import Store
from tests.world import run_cli


@pytest.mark.slow
def test_deleted_and_flipped_files_are_repaired_from_the_swarm(agent_world: World,
                                                               fleet: Fleet) -> None:
    w = agent_world
    _up, up_feed = fleet.upstream(w, "127.0.0.53")
    s = fleet.box("s")
    s.init(w, "--no-mdns", "--site-mode", "own-link", "--seeder",
           up_feed)
    s.start()
    s.wait_active(1, 60)
    s.stop()

    active = Store(s.data).active_dir(CHANNEL)
    gone, flipped = sorted(w.digest(1))[:2]
    (active / gone).unlink()
    with open(active / flipped, "r+b") as f:
        f.seek(5)
        b = f.read(1)
        f.seek(5)
        f.write(bytes([b[0] ^ 0xFF]))
    r = CliRunner().invoke(cli, ["verify", "--data", str(s.data), "--json"])
    assert r.exit_code == 3, r.output
    report = json.loads(r.output.splitlines()[0])
    assert report["ok"] is False
    assert sorted(report["channels"][CHANNEL]["bad"]) == sorted([gone, flipped])

    s.start()
    st = s.wait(lambda st: st.get("repair", {}).get(CHANNEL, {}).get("state") == "repaired",
                60, "the repair")
    assert sorted(st["repair"][CHANNEL]["files"]) == sorted([gone, flipped])
    assert s.channel(st)["active_version"] == 1
    assert s.active_digest() == w.digest(1)
    run_cli("verify", "--data", s.data)
