"""A release published at the origin reaches the province and the boxes below it through held
feed requests, not at their next poll (issue 15: 5-6 s of every testbed update, and up to a
5-minute poll interval per hop in the field, went to waiting for the next poll)."""

from __future__ import annotations

from pathlib import Path

import trio
from seeder_helpers import CHANNEL, Trust, feed_url, publish_sample, start, write_config

from p2pdist.feeds import FeedClient

POLL_S = 600.0  # every poll of the test's seeders is this far apart: only a held answer is fast
BOUND_S = 60.0  # the test fails long before any poll interval ends


async def test_a_publish_reaches_the_province_and_its_boxes_without_a_poll(
        tmp_path: Path, trust: Trust) -> None:
    (tmp_path / "origin").mkdir()
    async with trio.open_nursery() as nursery:
        origin = await start(nursery, write_config(
            tmp_path / "origin.toml", data=tmp_path / "origin", root=trust.root, origin=True,
            poll_interval_s=POLL_S))
        province = await start(nursery, write_config(
            tmp_path / "province.toml", data=tmp_path / "province", root=trust.root,
            upstream=feed_url(origin), poll_interval_s=POLL_S))
        assert province.follower is not None
        async with FeedClient(feed_url(province), timeout_s=3, retries=0) as client:
            before, etag = await client.info_change(None, 0)
            assert before is not None and CHANNEL not in before.channels
            answers: list[object] = []

            async def box_waits() -> None:  # what a box's watcher does
                answers.append(await client.info_change(etag, 25))

            with trio.fail_after(BOUND_S):
                async with trio.open_nursery() as inner:
                    inner.start_soon(box_waits)
                    # The CLI runs its own trio loop: in a worker thread, not inside this one.
                    await trio.to_thread.run_sync(publish_sample, trust, tmp_path, 200_000, 3)
                    # The province fetches (and offers) v1 long before its next poll ...
                    while province.store.active_version(CHANNEL) != 1:
                        await trio.sleep(0.05)
            # ... and the box's held request was answered with it.
            info, new_etag = answers[0]  # type: ignore[misc]
            assert info is not None and info.channels.get(CHANNEL) == 1
            assert new_etag != etag
        nursery.cancel_scope.cancel()
