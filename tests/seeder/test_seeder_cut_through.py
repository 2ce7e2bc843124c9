"""A provincial seeder offers a release while it is still fetching it, so boxes below start at
once and take each piece as the province gets it (issue 15: published at t0, nothing was
pipelined: the boxes learned of a release only after the province's whole fetch)."""

from __future__ import annotations

from pathlib import Path

import trio
from seeder_helpers import CHANNEL, Trust, feed_url, publish_sample, start, write_config

from p2pdist.feeds import FeedClient
from p2pdist.store import Store
from p2pdist.swarm import PeerSource, Swarm, SwarmConfig

BUNDLE = 4_000_000


async def test_a_province_offers_what_it_is_still_fetching(tmp_path: Path,
                                                            trust: Trust) -> None:
    # The CLI runs its own trio loop: call it from a worker thread, not inside this one.
    origin_data = await trio.to_thread.run_sync(publish_sample, trust, tmp_path, BUNDLE, 9)
    m = Store(origin_data).load_manifest(CHANNEL, 1)
    async with trio.open_nursery() as nursery:
        origin = await start(nursery, write_config(
            tmp_path / "origin.toml", data=origin_data, root=trust.root, origin=True,
            wan_limit=["up=400KB"]))  # ~10 s for the province's whole fetch
        province = await start(nursery, write_config(
            tmp_path / "province.toml", data=tmp_path / "province", root=trust.root,
            upstream=feed_url(origin), poll_interval_s=0.2))
        assert province.follower is not None
        with trio.fail_after(20):
            while CHANNEL not in province.follower.offering:
                await trio.sleep(0.05)
        # The province holds only part of v1, and already offers it on its feed.
        assert province.store.active_version(CHANNEL) is None
        async with FeedClient(feed_url(province), timeout_s=3, retries=0) as client:
            assert (await client.info()).channels == {CHANNEL: 1}
            assert await client.manifest(CHANNEL) == Store(origin_data).manifest_envelope(
                CHANNEL, 1)

        # A box below takes pieces from the province before the province has them all.
        box = Swarm(SwarmConfig(listen_interfaces="127.0.0.31:0",
                                resume_dir=tmp_path / "box-resume"))
        await nursery.start(box.run)
        await box.add_torrent(m.torrent_name, m.torrent, tmp_path / "box")
        early = 0
        with trio.fail_after(30):
            while box.snapshot(m.torrent_name).bytes_done < BUNDLE:
                box.connect_peer(m.torrent_name, ("127.0.0.1", province.swarm.listen_port),
                                 PeerSource.SEEDER)
                if province.store.active_version(CHANNEL) is None:
                    early = box.snapshot(m.torrent_name).bytes_done
                await trio.sleep(0.2)
        assert early > 0, "the box got nothing before the province was done"
        assert box.snapshot(m.torrent_name).received[PeerSource.SEEDER] >= BUNDLE
        # Once the province is done it offers the same, now active, release.
        with trio.fail_after(20):
            while province.store.active_version(CHANNEL) != 1:
                await trio.sleep(0.05)
        assert CHANNEL not in province.follower.offering
        await box.aclose()
        nursery.cancel_scope.cancel()
