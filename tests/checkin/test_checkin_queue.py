"""The box's outbox on disk, and `deliver` against a real feed server (a scripted source)."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import trio
from checkin_helpers import NOW, checkin

from keys import SigningKey
from p2pdist.checkin import CheckinQueue, deliver, verify_checkin
from p2pdist.feeds import FeedClient, serve_feed

KEY = SigningKey.generate()


def test_queue_survives_a_restart_and_numbers_keep_growing(tmp_path: Path) -> None:
    q = CheckinQueue(tmp_path)
    s1 = q.next_seq(0)
    s2 = q.next_seq(0)
    assert (s1, s2) == (1, 2)
    q.enqueue(checkin(KEY, s1))
    q.enqueue(checkin(KEY, s2))
    q.ack(s1)
    again = CheckinQueue(tmp_path)  # the box restarted
    assert [s for s, _b in again.pending()] == [2]
    assert again.next_seq(0) == 3
    assert verify_checkin(again.pending()[0][1]).checkin.seq == 2


def test_sequence_numbers_move_past_the_clock_after_a_restored_backup(tmp_path: Path) -> None:
    q = CheckinQueue(tmp_path)
    assert q.next_seq(NOW) == NOW
    (q.dir / "last-seq").write_text("5")  # an old backup of the state directory
    assert q.next_seq(NOW + 60) == NOW + 60


def test_unreadable_counter_falls_back_to_queued_and_clock(tmp_path: Path) -> None:
    q = CheckinQueue(tmp_path)
    q.enqueue(checkin(KEY, 41))
    (q.dir / "last-seq").write_text("garbage")
    assert q.next_seq(0) == 42


def test_enqueue_is_idempotent_but_refuses_other_content_under_one_seq(tmp_path: Path) -> None:
    q = CheckinQueue(tmp_path)
    q.enqueue(checkin(KEY, 1))
    q.enqueue(checkin(KEY, 1))
    with pytest.raises(ValueError):
        q.enqueue(checkin(KEY, 1, free_disk=7))
    assert len(q.pending()) == 1


def test_leftover_temporary_files_are_not_check_ins(tmp_path: Path) -> None:
    q = CheckinQueue(tmp_path)
    q.enqueue(checkin(KEY, 1))
    (q.dir / ".p2pdist-tmp-0123456789abcdef").write_bytes(b"half a file")
    assert [s for s, _b in q.pending()] == [1]


def test_a_full_outbox_drops_the_oldest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import p2pdist.checkin._queue as queue_module

    monkeypatch.setattr(queue_module, "MAX_PENDING", 3)
    q = CheckinQueue(tmp_path)
    for seq in range(1, 6):
        q.enqueue(checkin(KEY, seq))
    assert [s for s, _b in q.pending()] == [3, 4, 5]


class ScriptedSource:
    """A feed source whose check-in answers are scripted; it records what it was sent."""

    def __init__(self, answers: list[tuple[int, Mapping[str, Any]]]) -> None:
        self.answers = answers
        self.received: list[int] = []

    def info(self) -> Mapping[str, Any]:
        return {"api": 1, "node_id": "scripted", "role": "seeder", "channels": {},
                "swarm_port": 0, "root_version": 1}

    def root(self, version: int) -> bytes | None:
        return None

    def manifest(self, channel: str) -> bytes | None:
        return None

    async def changed(self, timeout_s: float) -> None:
        await trio.sleep(timeout_s)  # never changes: a held request waits its whole time

    def checkin(self, body: bytes, peer: str) -> tuple[int, Mapping[str, Any]] | None:
        seq = verify_checkin(body).checkin.seq
        self.received.append(seq)
        status, answer = self.answers.pop(0) if self.answers else (200, {"status": "accepted"})
        return status, {**answer, "seq": seq}


async def _serve(nursery: trio.Nursery, source: ScriptedSource) -> str:
    port = await nursery.start(serve_feed, source, "127.0.0.1:0")
    return f"http://127.0.0.1:{port}"


def _queue(tmp_path: Path, seqs: range) -> CheckinQueue:
    q = CheckinQueue(tmp_path)
    for seq in seqs:
        q.enqueue(checkin(KEY, seq))
    return q


async def test_deliver_sends_in_order_and_acks(tmp_path: Path, nursery: trio.Nursery) -> None:
    source = ScriptedSource([(200, {"status": "accepted"}), (200, {"status": "duplicate"})])
    q = _queue(tmp_path, range(1, 4))
    async with FeedClient(await _serve(nursery, source), retries=0) as client:
        report = await deliver(q, client)
    assert source.received == [1, 2, 3]
    assert (report.sent, report.dropped, report.pending, report.error) == (3, 0, 0, None)
    assert q.pending() == []


async def test_a_down_seeder_keeps_everything(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    q = _queue(tmp_path, range(1, 3))
    async with FeedClient(url, timeout_s=2, retries=0) as client:
        report = await deliver(q, client)
    assert report.sent == 0 and report.pending == 2 and report.error
    assert [s for s, _b in q.pending()] == [1, 2]


async def test_stops_at_the_first_failure_and_keeps_the_rest(tmp_path: Path,
                                                             nursery: trio.Nursery) -> None:
    source = ScriptedSource([(200, {"status": "accepted"}), (503, {"status": "busy"})])
    q = _queue(tmp_path, range(1, 4))
    async with FeedClient(await _serve(nursery, source), retries=0) as client:
        report = await deliver(q, client)
    assert source.received == [1, 2]
    assert (report.sent, report.pending) == (1, 2)
    assert [s for s, _b in q.pending()] == [2, 3]


async def test_final_refusals_are_dropped_an_unknown_box_is_kept(tmp_path: Path,
                                                                 nursery: trio.Nursery) -> None:
    source = ScriptedSource([(409, {"status": "rejected"}), (400, {"status": "rejected"}),
                             (403, {"status": "rejected"})])
    q = _queue(tmp_path, range(1, 5))
    async with FeedClient(await _serve(nursery, source), retries=0) as client:
        report = await deliver(q, client)
    assert (report.sent, report.dropped, report.pending) == (0, 2, 2)
    assert [s for s, _b in q.pending()] == [3, 4]


async def test_an_answer_that_is_no_acknowledgement_keeps_the_checkin(
        tmp_path: Path, nursery: trio.Nursery) -> None:
    source = ScriptedSource([(200, {"status": "thinking"})])
    q = _queue(tmp_path, range(1, 2))
    async with FeedClient(await _serve(nursery, source), retries=0) as client:
        report = await deliver(q, client)
    assert report.error and [s for s, _b in q.pending()] == [1]
