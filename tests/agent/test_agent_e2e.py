"""End to end: real `p2pdist box run` daemons, real zeroconf, HTTP feeds and libtorrent.

Boxes that find each other by mDNS run on 127.0.0.1 (loopback mDNS advertises that address for
every service) with distinct ports; a box that must look like a WAN host gets its own 127.0.0.x
address and no mDNS. Every wait polls the control socket with a deadline.
"""

from __future__ import annotations

import json
import secrets
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agentworld import (
    BUNDLE,
    CHANNEL,
    POLL_S,
    TAG,
    Box,
    FakeNeighbours,
    Fleet,
    World,
    bt_handshake,
    free_port,
    run_cli,
    wan_after_settling,
)
from click.testing import CliRunner, Result

from p2pdist.cli import cli
from p2pdist.store import Store
from tests.world import holds_for

pytestmark = pytest.mark.slow
MakeFakes = Callable[..., FakeNeighbours]


def new_site() -> str:
    return f"site-{TAG}-{secrets.token_hex(2)}"


def start_all(*boxes: Box) -> None:
    for b in boxes:
        b.launch()
    for b in boxes:
        b.wait_ready()


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_three_boxes_update_from_the_one_that_imported_the_release(
        agent_world: World, fleet: Fleet) -> None:
    """No seeder at all: box a imported v1 from a USB export; b and c learn the manifest from
    a's feed, found by mDNS, and take the bytes from the LAN."""
    w = agent_world
    a, b, c = (fleet.box(n) for n in ("a", "b", "c"))
    site = new_site()
    for box in (a, b, c):
        box.init(w, "--site", site)
    run_cli("import", w.export, "--data", a.data)
    t0 = time.monotonic()
    start_all(a, b, c)
    for box in (b, c):
        box.wait_sees([a])
    t_seen = time.monotonic() - t0
    for box in (b, c):
        box.wait_active(1, 60)
    print(f"\n[lan-only] daemons up + neighbours seen {t_seen:.1f}s, "
          f"both updated {time.monotonic() - t0:.1f}s after launch")

    for box in (b, c):
        r = invoke("status", "--data", box.data, "--json")
        assert r.exit_code == 0, r.output
        st = json.loads(r.output)
        ch = st["channels"][CHANNEL]
        assert ch["active_version"] == 1 and ch["phase"] == "seeding", st
        received = ch["torrent"]["received"]
        assert received["lan"] > 0 and received["seeder"] == 0 and received["wan"] == 0, st
        assert st["last_errors"] == [], st
        assert box.active_digest() == w.digest(1)
    assert a.torrent()["total_payload_upload"] > 0


def test_box_with_an_unreachable_seeder_updates_from_its_lan_neighbour(
        agent_world: World, fleet: Fleet) -> None:
    w = agent_world
    dead = "http://127.0.0.9:9"  # nothing listens there: connection refused
    a, b = fleet.box("a"), fleet.box("b")
    site = new_site()
    a.init(w, "--site", site)
    w.publish(1, a.data)
    b.init(w, "--site", site, "--seeder", dead)
    start_all(a, b)
    st = b.wait_active(1, 60)
    assert b.received(st)["lan"] > 0
    assert b.active_digest() == w.digest(1)
    assert any(e["where"] == dead for e in st["last_errors"]), st

    # Issue 12.6: once done, the counts stand still (the landed code added one connection's
    # total on every poll), and what b says it received agrees with what a says it sent.
    readings: list[int] = []

    def settled(s: dict[str, Any]) -> bool:
        readings.append(sum(b.received(s).values()))
        return len(readings) >= 8

    b.wait(settled, 30, "eight status readings", every=0.5)
    assert len(set(readings)) == 1, readings
    sent = a.torrent(a.status()).get("total_payload_upload", 0)
    print(f"\n[counters] b received {readings[-1]} B (8 readings, all equal), a sent {sent} B")
    assert abs(readings[-1] - sent) <= 0.02 * sent, (readings[-1], sent)

    r = invoke("doctor", "--data", b.data, "--json")
    checks = {c["name"]: c for c in json.loads(r.output)["checks"]}
    assert checks["daemon"]["verdict"] == "pass", checks
    assert checks[f"seeder {dead}"]["verdict"] == "warn", checks
    assert "LAN" in checks[f"seeder {dead}"]["hint"]
    assert r.exit_code == 0, checks  # warnings alone do not fail the doctor


def test_daemon_killed_mid_download_resumes_after_restart(agent_world: World,
                                                          fleet: Fleet) -> None:
    """The source is a box on its own address, no mDNS, uploading to WAN peers at 2 MB/s, so
    the 8 MB download takes ~4 s and is caught half way (on loopback an uncapped transfer ends
    within a second). The downloader reaches it as a configured seeder (own-link mode)."""
    w = agent_world
    src, box = fleet.box("source"), fleet.box("box")
    src.init(w, "--no-mdns", "--site-mode", "own-link", "--wan-limit", "up=2MB",
             listen="127.0.0.60:0", feed="127.0.0.60:0")
    w.publish(1, src.data)
    src.start()
    box.init(w, "--no-mdns", "--site-mode", "own-link", "--seeder",
             f"http://127.0.0.60:{src.ready['feed_port']}", listen="127.0.0.61:0",
             feed="127.0.0.61:0")
    box.start()
    st = box.wait(lambda s: box.torrent(s).get("bytes_done", 0) >= BUNDLE // 2, 30,
                  "half of the download", every=0.05)
    box.kill()
    done_at_kill = box.torrent(st)["bytes_done"]
    assert done_at_kill < BUNDLE, "not caught mid-way"
    assert Store(box.data).active_version(CHANNEL) is None

    box.start()
    st = box.wait_active(1, 60)
    fetched = sum(box.received(st).values())
    print(f"\n[resume] killed at {done_at_kill / 1e6:.1f} of {BUNDLE / 1e6:.0f} MB; "
          f"fetched {fetched / 1e6:.1f} MB after the restart")
    # Only what arrived after the last resume save may come again (plus partial pieces).
    assert fetched < (BUNDLE - done_at_kill) + BUNDLE // 4, (fetched, done_at_kill)
    assert box.received(st)["seeder"] > 0
    assert box.active_digest() == w.digest(1)


@pytest.fixture
def fakes(agent_world: World) -> Iterator[MakeFakes]:
    made: list[FakeNeighbours] = []

    def make(site: str, modes: tuple[str, ...], silent_ids: tuple[str, ...] = ()
             ) -> FakeNeighbours:
        made.append(FakeNeighbours(site, modes, agent_world.rogue_manifest.read_bytes(),
                                   silent_ids=silent_ids))
        return made[-1]

    try:
        yield make
    finally:
        for f in made:
            f.close()


def keeps_v1(box: Box, st: dict[str, Any]) -> None:
    ch = box.channel(st)
    assert ch["active_version"] == 1, st
    assert ch["phase"] in ("seeding", "manifest found"), st
    assert ch["target_version"] in (None, 99), st


def test_hostile_neighbours_change_nothing_and_an_update_still_goes_through(
        agent_world: World, fleet: Fleet,
        fakes: MakeFakes) -> None:
    """Fake neighbours advertise v99 by mDNS; their feeds answer garbage, a manifest signed by
    an unknown key, and an endless flood. The box keeps v1, shows every problem in
    `last_errors`, leaves the liars alone, and still takes v2 from an honest neighbour."""
    w = agent_world
    site = new_site()
    liars = fakes(site, ("garbage", "rogue", "flood"))
    x = fleet.box("x")
    x.init(w, "--site", site)
    w.publish(1, x.data)
    x.start()
    urls = {f.url for f in liars.feeds.values()}
    reasons: dict[str, str] = {}

    def all_reported(st: dict[str, Any]) -> bool:
        keeps_v1(x, st)
        reasons.update((e["where"], e["reason"]) for e in st["last_errors"])
        return urls <= set(reasons)

    t0 = time.monotonic()
    x.wait(all_reported, 30, "an error from every fake neighbour")
    print(f"\n[hostile] every fake reported {time.monotonic() - t0:.1f}s after the box started")
    assert "KeyNotInRoleError" in reasons[liars.feeds["rogue"].url], reasons
    assert "Error" in reasons[liars.feeds["garbage"].url], reasons
    assert "larger than" in reasons[liars.feeds["flood"].url], reasons
    r = invoke("status", "--data", x.data, "--json")
    assert r.exit_code == 0
    st = json.loads(r.output)
    keeps_v1(x, st)
    assert {e["where"] for e in st["last_errors"]} & urls, st
    store = Store(x.data)
    assert store.active_version(CHANNEL) == 1 and store.releases(CHANNEL) == [1]
    assert x.active_digest() == w.digest(1)
    # The two that served invalid manifests are penalized: gone from the neighbours, not asked.
    liars_ids = {liars.node_ids["garbage"], liars.node_ids["rogue"]}
    assert not liars_ids & x.neighbour_ids()
    # Not their request counts: y, started below on the same site, finds and asks them too.
    liar_urls = {liars.feeds[m].url for m in ("garbage", "rogue")}
    penalized_at = time.time()

    # An honest neighbour with v2 appears: the box still updates, from it.
    y = fleet.box("y")
    y.init(w, "--site", site)
    w.publish(2, y.data)
    t1 = time.monotonic()
    y.start()
    st = x.wait_active(2, 60)
    print(f"[hostile] v2 from the honest neighbour {time.monotonic() - t1:.1f}s after it started")
    assert x.received(st)["lan"] > 0
    assert x.active_digest() == w.digest(2)
    again = [e for e in st["last_errors"] if e["where"] in liar_urls and e["at"] > penalized_at]
    assert not again, f"x asked a penalized liar again: {again}"


class BugShown(AssertionError):
    """An assertion about a guarantee that was once broken (a regression check)."""


def test_a_neighbour_that_never_finishes_its_answer_is_left_alone(
        agent_world: World, fleet: Fleet,
        fakes: MakeFakes) -> None:
    """A fake neighbour advertises v99 and its feed trickles the manifest forever: the box
    keeps v1 and reports the timeout (checked as plain assertions), and then should leave that
    neighbour alone for a while (the bug: it asks it again at the next poll)."""
    w = agent_world
    site = new_site()
    slow = fakes(site, ("trickle",)).feeds["trickle"]
    x = fleet.box("x")
    x.init(w, "--site", site)
    w.publish(1, x.data)
    x.start()

    def reported(st: dict[str, Any]) -> bool:
        keeps_v1(x, st)
        return any(e["where"] == slow.url for e in st["last_errors"])

    t0 = time.monotonic()
    st = x.wait(reported, 30, "the trickling neighbour's timeout")
    print(f"\n[hostile] trickle reported after {time.monotonic() - t0:.1f}s: "
          f"{[e['reason'] for e in st['last_errors']]}")
    assert Store(x.data).releases(CHANNEL) == [1]
    asked = slow.manifest_requests()
    t_failed = time.monotonic()

    def not_asked_again() -> bool:
        keeps_v1(x, x.status())
        if slow.manifest_requests() > asked:
            raise BugShown(f"the trickling neighbour was asked again "
                           f"{time.monotonic() - t_failed:.1f}s after its failure was reported")
        return True

    holds_for(not_asked_again, 5 * POLL_S, "the trickling neighbour left alone")  # several polls


def test_shared_uplink_only_the_elected_box_uses_the_wan_and_another_takes_over(
        agent_world: World, fleet: Fleet) -> None:
    """Upstream: a box daemon holding the release on 127.0.0.50, no mDNS, the site boxes'
    configured seeder; `--lan 127.0.0.1/32` makes the site boxes LAN to each other and the
    upstream WAN. The three site boxes power on together while the release is already there
    (the agent waits for discovery before its first poll so that they agree on the election)."""
    w = agent_world
    ip = "127.0.0.50"
    feed_port = free_port(ip)
    up = fleet.box("upstream")
    up.init(w, "--no-mdns", "--site-mode", "own-link", listen=f"{ip}:{free_port(ip)}",
            feed=f"{ip}:{feed_port}")
    w.publish(1, up.data)
    up.start()
    site = new_site()
    boxes = [fleet.box(f"s{i}") for i in range(3)]
    for b in boxes:
        b.init(w, "--site", site, "--lan", "127.0.0.1/32", "--seeder", f"http://{ip}:{feed_port}")
    t0 = time.monotonic()
    start_all(*boxes)
    elected = min(boxes, key=lambda b: b.node_id)
    for b in boxes:
        b.wait_active(1, 60)
    print(f"\n[site] v1 on all three {time.monotonic() - t0:.1f}s after they started")
    for b in boxes:
        st = b.status()
        assert st["elected"] == elected.node_id
        got = b.received(st)
        if b is elected:
            assert got["seeder"] > 0, st
            assert b.channel(st)["wan"] is True
        else:
            assert got["seeder"] == 0 and got["wan"] == 0 and got["lan"] > 0, (b.name, st)
            assert b.channel(st)["wan"] is False
        assert b.active_digest() == w.digest(1)
    # Could the upstream push to a non-elected box? Knock on each box's swarm port with a
    # BitTorrent handshake from another WAN address: only the elected box takes it.
    ih = w.info_hash(1)
    for b in boxes:
        assert bt_handshake("127.0.0.1", b.ready["swarm_port"], ih)[28:48] == ih, b.name
        from_wan = bt_handshake("127.0.0.52", b.ready["swarm_port"], ih)
        if b is elected:
            assert from_wan[28:48] == ih
        else:
            assert from_wan == b"", (b.name, from_wan)

    # The elected box goes away (goodbye by mDNS); the next smallest id takes over the WAN.
    elected.stop()
    rest = [b for b in boxes if b is not elected]
    heir = min(rest, key=lambda b: b.node_id)
    t1 = time.monotonic()
    for b in rest:
        b.wait(lambda st: st["elected"] == heir.node_id, 20, "a new election")
    print(f"[site] new election seen {time.monotonic() - t1:.1f}s after the stop")
    up.stop()
    w.publish(2, up.data)
    up.start()
    for b in rest:
        b.wait_active(2, 60)
    for b in rest:
        st = b.status()
        got = b.received(st)
        if b is heir:
            assert got["seeder"] > 0, st
        else:
            assert got["seeder"] == 0 and got["wan"] == 0 and got["lan"] > 0, (b.name, st)
        assert b.active_digest() == w.digest(2)


def test_a_fake_neighbour_cannot_win_the_site_election(agent_world: World, fleet: Fleet,
                                                       fakes: MakeFakes) -> None:
    """A forged record with the smallest node id in the site (no swarm port, no release, dead
    feed) must not decide that the only real box stays off the WAN."""
    w = agent_world
    site = new_site()
    fakes(site, (), silent_ids=("0" * 64,))
    _up, up_feed = fleet.upstream(w, "127.0.0.51")
    s = fleet.box("s")
    s.init(w, "--site", site, "--lan", "127.0.0.1/32", "--seeder",
           up_feed)
    s.start()
    # The download starts at once; the WAN waits until the site's election has settled.
    st = s.wait(lambda st: s.channel(st)["phase"] in ("downloading", "seeding")
                and st["election_settled"], 30, "the download after the election")
    st = wan_after_settling(s, st)
    if st["elected"] != s.node_id or not s.channel(st)["wan"]:
        raise BugShown(f"elected {st['elected'][:16]}..., wan {s.channel(st)['wan']}, "
                       f"bytes done {s.torrent(st).get('bytes_done')}")
    s.wait_active(1, 30)


def test_technician_commands_against_a_running_daemon(agent_world: World, fleet: Fleet,
                                                       tmp_path: Path) -> None:
    w = agent_world
    a, b = fleet.box("a"), fleet.box("b")
    site = new_site()
    for box in (a, b):
        box.init(w, "--site", site)
    w.publish(1, a.data)
    start_all(a, b)
    b.wait_active(1, 60)

    r = invoke("status", "--data", b.data)
    assert r.exit_code == 0, r.output
    # A rich table at the runner's 80 columns: the long channel name wraps, the rest stays.
    assert b.node_id[:12] in r.output and "seeding" in r.output and "v1" in r.output, r.output
    assert "LAN neighbour" in r.output
    st = json.loads(invoke("status", "--data", b.data, "--json").output)
    assert st["node_id"] == b.node_id and st["site"] == site
    assert st["channels"][CHANNEL]["active_version"] == 1

    r = invoke("peers", "--data", b.data, "--json")
    assert r.exit_code == 0, r.output
    peers = json.loads(r.output)
    assert CHANNEL in peers["torrents"]
    assert peers["torrents"][CHANNEL]["received"]["lan"] > 0
    mine = [n for n in peers["neighbours"] if n["node_id"] == a.node_id]
    assert mine and mine[0]["feed_port"] == a.ready["feed_port"] and mine[0]["site"] == site

    r = invoke("discover", "--data", b.data, "--json")
    assert r.exit_code == 0, r.output
    found = json.loads(r.output)
    assert found["source"] == "daemon"
    assert a.node_id in {n["node_id"] for n in found["neighbours"]}

    r = invoke("library", "--data", b.data, "--json")
    assert r.exit_code == 0, r.output
    lib = json.loads(r.output)[CHANNEL]
    assert lib["version"] == 1 and lib["themes"]
    paths = {t["path"] for g in lib["themes"] for t in g["titles"]}
    assert paths == set(w.digest(1))

    r = invoke("verify", "--data", b.data)
    assert r.exit_code == 0, r.output
    assert "OK" in r.output

    report = tmp_path / "support.tar.gz"
    r = invoke("doctor", "--data", b.data, "--json", "--report", report)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    verdicts = {c["name"]: c["verdict"] for c in doc["checks"]}
    assert verdicts["daemon"] == "pass" and verdicts["swarm port"] == "pass", verdicts
    assert doc["report"] == str(report)
    identity = (b.data / "state" / "identity.key").read_bytes()
    with tarfile.open(report) as tar:
        members = tar.getmembers()
        assert {"doctor.json", "status.json"} <= {m.name for m in members}
        for m in members:
            f = tar.extractfile(m)
            data = f.read() if f is not None else b""
            assert b"PRIVATE KEY" not in data, m.name
            assert identity not in data, m.name
        status = json.loads(tar.extractfile("status.json").read())  # type: ignore[union-attr]
        assert status["node_id"] == b.node_id

    # A file damaged on disk: verify names it and exits with the trust code (3).
    victim = sorted(w.digest(1))[0]
    with open(Store(b.data).active_dir(CHANNEL) / victim, "r+b") as f:
        f.seek(10)
        byte = f.read(1)
        f.seek(10)
        f.write(bytes([byte[0] ^ 0xFF]))
    r = invoke("verify", "--data", b.data, "--json")
    assert r.exit_code == 3, r.output
    assert json.loads(r.output.splitlines()[0])["channels"][CHANNEL]["bad"] == [victim]
