"""Long-polled /info: held until the document changes, answered at once when it already did,
304 after the wait; the watcher tells each change once and never hammers a node that does not
hold. Real server, real client, real HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from feedsim import CHANNEL, MemorySource, StartRaw

from p2pdist.feeds import FeedClient, FeedInfo, watch_info
from p2pdist.feeds._hold import MAX_HELD, MAX_HOLD_S, Holder, etag_of, hold_request

HOLD_S = 20.0  # far above every bound below: an answer inside them was not the timeout's


async def test_a_held_request_is_answered_when_the_document_changes(
        source: MemorySource, feed_url: str) -> None:
    async with FeedClient(feed_url) as client:
        first, etag = await client.info_change(None, 0)
        assert first is not None and first.channels[CHANNEL] == 7 and etag
        answers: list[tuple[FeedInfo | None, str | None]] = []

        async def held() -> None:
            answers.append(await client.info_change(etag, HOLD_S))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(held)
                await trio.testing.wait_all_tasks_blocked(cushion=0.2)
                assert answers == [], "the server answered an unchanged document at once"
                source.offer(8)
        info, new_etag = answers[0]
        assert info is not None and info.channels[CHANNEL] == 8
        assert new_etag not in (None, etag)


async def test_a_request_with_an_old_etag_is_answered_at_once(
        source: MemorySource, feed_url: str) -> None:
    async with FeedClient(feed_url) as client:
        _info, etag = await client.info_change(None, 0)
        source.offer(9)
        with trio.fail_after(5):
            info, new_etag = await client.info_change(etag, HOLD_S)
    assert info is not None and info.channels[CHANNEL] == 9 and new_etag != etag


async def test_an_unchanged_document_is_answered_304_after_the_wait(feed_url: str) -> None:
    async with FeedClient(feed_url) as client:
        _info, etag = await client.info_change(None, 0)
        with trio.fail_after(10):
            info, same = await client.info_change(etag, 1)
    assert info is None and same == etag


async def test_plain_info_is_unchanged_by_holding(source: MemorySource, feed_url: str) -> None:
    async with FeedClient(feed_url) as client:
        with trio.fail_after(5):
            info = await client.info()
    assert info.channels[CHANNEL] == source.version


@pytest.mark.parametrize(("headers", "expected"), [
    ([], (None, 0.0)),
    ([(b"If-None-Match", b'"ab"'), (b"Prefer", b"wait=10")], ('"ab"', 10.0)),
    ([(b"prefer", b"respond-async, wait=5")], (None, 5.0)),
    ([(b"prefer", b"wait=99999")], (None, MAX_HOLD_S)),
    ([(b"prefer", b"wait=-3")], (None, 0.0)),
    ([(b"prefer", b"wait=1e9")], (None, 0.0)),
    ([(b"prefer", b"nowait=5")], (None, 0.0)),
    ([(b"if-none-match", b"x" * 500)], (None, 0.0)),
])
def test_hold_request_reads_only_well_formed_values(
        headers: list[tuple[bytes, bytes]], expected: tuple[str | None, float]) -> None:
    assert hold_request(headers) == expected


async def test_the_watcher_tells_the_first_document_and_each_change_once(
        source: MemorySource, feed_url: str) -> None:
    seen: list[int] = []
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: watch_info(
                feed_url, lambda i: seen.append(i.channels[CHANNEL]), fallback_s=300,
                hold_s=HOLD_S))
            while not seen:
                await trio.testing.wait_all_tasks_blocked(cushion=0.1)
            for version in (8, 9):
                await trio.testing.wait_all_tasks_blocked(cushion=0.2)  # held again
                source.offer(version)
                while seen[-1] != version:
                    await trio.testing.wait_all_tasks_blocked(cushion=0.1)
            await trio.testing.wait_all_tasks_blocked(cushion=0.5)
            nursery.cancel_scope.cancel()
    assert seen == [7, 8, 9]


async def test_the_watcher_does_not_hammer_a_node_that_does_not_hold(
        start_raw: StartRaw) -> None:
    """An older node answers at once without an ETag: one request, then the fallback wait."""
    requests: list[bytes] = []
    body = b'{"api":1,"node_id":"old","role":"seeder","channels":{},"swarm_port":0,' \
           b'"root_version":1}'

    async def old_node(stream: trio.SocketStream, head: bytes) -> None:
        requests.append(head)
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                              b"content-length: %d\r\nconnection: close\r\n\r\n%s"
                              % (len(body), body))

    url = await start_raw(old_node)
    told: list[FeedInfo] = []
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: watch_info(url, told.append, fallback_s=300))
            while not told:
                await trio.testing.wait_all_tasks_blocked(cushion=0.1)
            await trio.testing.wait_all_tasks_blocked(cushion=1.5)  # > MIN_GAP_S
            nursery.cancel_scope.cancel()
    assert len(requests) == 1 and len(told) == 1


async def test_a_full_holder_answers_at_once() -> None:
    """Past MAX_HELD waiting requests a node answers at once (its memory stays bounded); the
    client sees an unchanged document and falls back to its poll interval."""
    holder = Holder()
    body = b'{"doc": 1}'
    waited: list[float] = []

    async def changed(timeout_s: float) -> None:
        waited.append(timeout_s)
        await trio.sleep(timeout_s)

    tag = etag_of(body)
    holder.held = MAX_HELD
    with trio.fail_after(5):
        assert await holder.answer(tag, HOLD_S, lambda: body, changed) == (body, tag, False)
    assert waited == [] and holder.held == MAX_HELD
    holder.held = 0
    with trio.fail_after(5):
        assert await holder.answer(tag, 0.2, lambda: body, changed) == (body, tag, False)
    assert len(waited) == 1 and holder.held == 0
