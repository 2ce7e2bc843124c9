"""Check-ins at real in-process seeders on 127.0.0.1: hostile ones are refused with the reason
logged and counted; a box's outbox is delivered exactly once across seeder restarts; accepted
check-ins are forwarded to the parent once, even when the parent was down."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import httpx
import pytest
import trio
from seeder_helpers import CHANNEL, Trust, feed_url, start, write_config

from keys import Envelope, SigningKey, decode_strict, encode
from p2pdist.checkin import ChannelReport, CheckinQueue, deliver, make_checkin
from p2pdist.feeds import FeedClient
from seeder._db import CheckinDB, db_path

NOW = 1_800_000_000
GOOD = SigningKey.generate()
STRANGER = SigningKey.generate()
CHECKINS = "/p2pdist/v1/checkins"


def checkin(key: SigningKey, seq: int, free_disk: int = 10**9, site: str = "城关站") -> bytes:
    return make_checkin(key, seq=seq, sent=NOW, site=site,
                        channels={CHANNEL: ChannelReport(1, "seeding", 1.0)},
                        free_disk=free_disk, plays={"过年好": seq}, window=(NOW - 60, NOW))


def forged(seq: int) -> bytes:
    """GOOD's body claiming STRANGER's id, signed by GOOD."""
    body = decode_strict(Envelope.decode(checkin(GOOD, seq), "t", 1 << 20, 1 << 20).signed, "t")
    body["box_id"] = STRANGER.keyid
    return Envelope(encode(body)).sign(GOOD).encode()


def bad_signature(seq: int) -> bytes:
    env = Envelope.decode(checkin(GOOD, seq), "t", 1 << 20, 1 << 20)
    s = env.signatures[0]
    return Envelope(env.signed, (type(s)(s.keyid, bytes(64)),)).encode()


async def test_hostile_checkins_are_refused_with_the_reason_logged(
        tmp_path: Path, trust: Trust, nursery: trio.Nursery,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="seeder")
    config = write_config(tmp_path / "s.toml", data="data", root=trust.root, origin=True,
                          allow_boxes=[GOOD.keyid], metrics="127.0.0.1:0")
    service = await start(nursery, config)
    cases = [
        (checkin(GOOD, 5), 200, "accepted"),
        (checkin(GOOD, 5), 200, "duplicate"),
        (checkin(GOOD, 5, free_disk=1), 409, "replay"),  # same seq, other content
        (checkin(GOOD, 4), 409, "replay"),  # older than the newest
        (bad_signature(6), 400, "bad_signature"),
        (forged(6), 400, "forged_identity"),
        (checkin(STRANGER, 1), 403, "unknown_box"),
        (b"\x93\x01\x02" + bytes(20_000), 413, "oversized"),
        (b"\x81\xa1x\x01", 400, "malformed"),
    ]
    async with httpx.AsyncClient(base_url=feed_url(service), timeout=10) as http:
        for body, status, outcome in cases:
            r = await http.post(CHECKINS, content=body)
            assert r.status_code == status, (outcome, r.text)
            answer = r.json()
            assert outcome in (answer["status"], answer.get("reason")), answer
        metrics = (await http.get(f"http://127.0.0.1:{service.metrics_port}/metrics")).text
    logged = caplog.text
    for reason in ("replay", "bad_signature", "forged_identity", "unknown_box", "oversized",
                   "malformed"):
        assert f"checkin_rejected reason={reason}" in logged
        assert f'p2pdist_seeder_checkins_rejected_total{{reason="{reason}"}}' in metrics
    assert 'p2pdist_seeder_checkins_rejected_total{reason="replay"} 2.0' in metrics
    assert 'p2pdist_seeder_checkins_total{result="duplicate"} 1.0' in metrics
    assert "p2pdist_seeder_boxes_seen 1.0" in metrics
    db = CheckinDB.open_existing(db_path(service.config.data))
    assert db.checkin_count() == 1 and [b.box_id for b in db.boxes()] == [GOOD.keyid]
    db.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _deliver(queue: CheckinQueue, url: str) -> tuple[int, int]:
    async with FeedClient(url, timeout_s=3, retries=0) as client:
        r = await deliver(queue, client)
    return r.sent, r.pending


async def test_outbox_is_delivered_exactly_once_across_seeder_restarts(
        tmp_path: Path, trust: Trust) -> None:
    port = _free_port()
    config = write_config(tmp_path / "s.toml", data="data", root=trust.root, origin=True,
                          feed=f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}"
    box_state = tmp_path / "box-state"
    queue = CheckinQueue(box_state)

    def make(n: int) -> None:
        for _ in range(n):
            queue.enqueue(checkin(GOOD, queue.next_seq(0)))

    make(2)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            service = await start(nursery, config)
            assert await _deliver(queue, url) == (2, 0)
            delivered = (1, checkin(GOOD, 1))
            await service.aclose()
        make(3)  # the seeder is down meanwhile; the box restarts too
        queue = CheckinQueue(box_state)
        assert await _deliver(queue, url) == (0, 3)
        assert [s for s, _b in queue.pending()] == [3, 4, 5]
        # An answer lost on the way back: the box still holds check-in 1 and sends it again.
        (queue.dir / f"{delivered[0]:020d}.checkin").write_bytes(delivered[1])
        async with trio.open_nursery() as nursery:
            service = await start(nursery, config)  # same data dir: same SQLite
            assert await _deliver(queue, url) == (4, 0)
            await service.aclose()
    db = CheckinDB.open_existing(db_path(service.config.data))
    assert db.checkin_count() == 5
    assert [(b.box_id, b.last_seq) for b in db.boxes()] == [(GOOD.keyid, 5)]
    db.close()


async def test_accepted_checkins_reach_the_parent_once_after_it_comes_up(
        tmp_path: Path, trust: Trust, nursery: trio.Nursery) -> None:
    parent_port = _free_port()
    parent_cfg = write_config(tmp_path / "national.toml", data="national", root=trust.root,
                              origin=True, feed=f"127.0.0.1:{parent_port}")
    child_cfg = write_config(tmp_path / "province.toml", data="province", root=trust.root,
                             origin=True, forward_to=f"http://127.0.0.1:{parent_port}")
    child = await start(nursery, child_cfg)
    async with httpx.AsyncClient(base_url=feed_url(child), timeout=10) as http:
        for key, seq in ((GOOD, 1), (GOOD, 2), (STRANGER, 7)):
            r = await http.post(CHECKINS, content=checkin(key, seq, site="河口站"))
            assert r.json()["status"] == "accepted"
        assert (await http.post(CHECKINS, content=checkin(GOOD, 2, site="河口站"))
                ).json()["status"] == "duplicate"
    parent = await start(nursery, parent_cfg)
    parent_db = CheckinDB.open_existing(db_path(parent.config.data))
    with trio.fail_after(20):
        while parent_db.checkin_count() < 3:
            await trio.sleep(0.1)
    await trio.sleep(0.5)  # nothing more arrives: the duplicate was not forwarded again
    assert parent_db.checkin_count() == 3
    assert {(b.box_id, b.last_seq, b.site) for b in parent_db.boxes()} == {
        (GOOD.keyid, 2, "河口站"), (STRANGER.keyid, 7, "河口站")}
    parent_db.close()
    registry = child.metrics.registry
    assert registry.get_sample_value("p2pdist_seeder_forward_pending") == 0
