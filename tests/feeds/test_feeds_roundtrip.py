"""A real FeedClient against a real serve_feed over HTTP on 127.0.0.1, data from memory."""

from __future__ import annotations

import pytest
import trio
from feedsim import CHANNEL, MemorySource

from keys import MAX_ROOT_CHAIN
from p2pdist.errors import ConfigError, PeerError
from p2pdist.feeds import MAX_CHECKIN_BYTES, BadResponseError, FeedClient, FeedInfo, serve_feed


def fast(url: str) -> FeedClient:
    return FeedClient(url, timeout_s=2, retries=2, backoff_s=0.01, max_backoff_s=0.02)


async def test_info(feed_url: str) -> None:
    with trio.fail_after(5):
        async with fast(feed_url) as client:
            info = await client.info()
    assert info == FeedInfo("box-湖南-01", "box", {CHANNEL: 7}, 6881, 3)


async def test_roots_walk_in_order(feed_url: str) -> None:
    with trio.fail_after(5):
        async with fast(feed_url) as client:
            assert await client.root(2) == b"root-v2"
            assert await client.root(9) is None
            assert await client.roots_after(1) == [b"root-v2", b"root-v3"]
            assert await client.roots_after(3) == []


async def test_roots_walk_is_capped(
    source: MemorySource, feed_url: str
) -> None:
    source.roots = {v: b"r%d" % v for v in range(1, 200)}
    with trio.fail_after(10):
        async with fast(feed_url) as client:
            newer = await client.roots_after(1)
    assert newer == [b"r%d" % v for v in range(2, 2 + MAX_ROOT_CHAIN)]


async def test_manifest_found_and_missing(feed_url: str) -> None:
    with trio.fail_after(5):
        async with fast(feed_url) as client:
            assert await client.manifest(CHANNEL) == b"\x00signed manifest\xff"
            assert await client.manifest("national/summer-2028") is None


async def test_checkin_posted(source: MemorySource, feed_url: str) -> None:
    body = b"\x01" * MAX_CHECKIN_BYTES
    with trio.fail_after(5):
        async with fast(feed_url) as client:
            assert await client.post_checkin(body) == {"ok": True}
    assert source.checkins == [(body, "127.0.0.1")]


async def test_checkin_not_accepted_is_404(source: MemorySource, feed_url: str) -> None:
    source.checkin_answer = None
    with trio.fail_after(5):
        async with fast(feed_url) as client:
            with pytest.raises(BadResponseError) as err:
                await client.post_checkin(b"hello")
    assert err.value.status == 404


async def test_checkin_refused_is_not_retried(source: MemorySource, feed_url: str) -> None:
    source.checkin_answer = (403, {"error": "unknown box"})
    with trio.fail_after(5):
        async with fast(feed_url) as client:
            with pytest.raises(BadResponseError) as err:
                await client.post_checkin(b"hello")
    assert err.value.status == 403
    assert len(source.checkins) == 1


async def test_source_failure_is_500_and_retried(source: MemorySource, feed_url: str) -> None:
    source.fail_info = 1
    with trio.fail_after(5):
        async with fast(feed_url) as client:
            assert (await client.info()).node_id == "box-湖南-01"
            source.fail_info = 100
            with pytest.raises(BadResponseError) as err:
                await client.info()
            assert err.value.status == 500
            assert source.fail_info == 100 - 3  # retries=2: three attempts, then give up
            source.fail_info = 0
            assert await client.root(1) == b"root-v1"


async def test_invalid_info_from_source_is_500(source: MemorySource, feed_url: str) -> None:
    source.manifests = {"Not A Channel": b"x"}
    with trio.fail_after(5):
        async with FeedClient(feed_url, retries=0) as client:
            with pytest.raises(PeerError):
                await client.info()


async def test_client_checks_its_arguments(feed_url: str) -> None:
    with pytest.raises(ConfigError):
        FeedClient("ftp://127.0.0.1:1")
    with pytest.raises(ConfigError):
        FeedClient("http://user:pw@127.0.0.1:1")
    with pytest.raises(ConfigError):
        FeedClient("not a url at all")
    with pytest.raises(ValueError):
        FeedClient(feed_url, timeout_s=0)
    with trio.fail_after(5):
        async with fast(feed_url) as client:
            with pytest.raises(ConfigError):
                await client.manifest("../../etc/passwd")
            with pytest.raises(ValueError):
                await client.root(0)
            with pytest.raises(ValueError):
                await client.post_checkin(b"x" * (MAX_CHECKIN_BYTES + 1))


async def test_base_url_path_prefix_is_kept(feed_url: str) -> None:
    with trio.fail_after(5):
        async with fast(feed_url + "/mirror/") as client:
            with pytest.raises(BadResponseError, match="not a p2pdist feed"):
                await client.info()


async def test_serve_feed_bad_binds(source: MemorySource, nursery: trio.Nursery) -> None:
    with trio.fail_after(5):
        for bind in ("localhost:0", "127.0.0.1", "127.0.0.1:99999", "[::1]:x"):
            with pytest.raises(ConfigError):
                await nursery.start(serve_feed, source, bind)
        port = await nursery.start(serve_feed, source, "127.0.0.1:0")
        with pytest.raises(ConfigError, match="cannot listen"):
            await nursery.start(serve_feed, source, f"127.0.0.1:{port}")


async def test_serve_feed_stops_on_shutdown_trigger(source: MemorySource) -> None:
    stop = trio.Event()
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            port = await nursery.start(
                lambda task_status: serve_feed(
                    source, "127.0.0.1:0", shutdown_trigger=stop.wait, task_status=task_status
                )
            )
            async with fast(f"http://127.0.0.1:{port}") as client:
                assert await client.root(3) == b"root-v3"
            stop.set()
