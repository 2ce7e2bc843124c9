"""Super-seeding is a policy of the seeder service: with `super_seed` on, a release is
super-seeded only while at least `super_seed_min_peers` peers are connected to it. One peer
alone (a province fetching from the origin, a lone box) is seeded plainly, so it gets its first
byte at once instead of after libtorrent's super-seeding timeout."""

from __future__ import annotations

from pathlib import Path

import trio
from seeder_helpers import CHANNEL, Trust, publish_sample, start, write_config

from p2pdist._libtorrent import lt
from p2pdist.store import Store
from p2pdist.swarm import PeerSource, Swarm, SwarmConfig, WanSchedule

BUNDLE = 4_000_000


async def _peer(nursery: trio.Nursery, tmp: Path, ip: str, torrent: bytes, key: str,
                seeder_port: int, down: str | None = None) -> Swarm:
    schedule = WanSchedule.parse([down]) if down else WanSchedule()
    swarm = Swarm(SwarmConfig(listen_interfaces=f"{ip}:0", resume_dir=tmp / f"resume-{ip}",
                              wan_schedule=schedule))
    await nursery.start(swarm.run)
    await swarm.add_torrent(key, torrent, tmp / f"dl-{ip}")
    swarm.connect_peer(key, ("127.0.0.1", seeder_port), PeerSource.SEEDER)
    return swarm


async def test_super_seeding_needs_enough_peers(tmp_path: Path, trust: Trust) -> None:
    # The CLI runs its own trio loop: call it from a worker thread, not inside this one.
    origin = await trio.to_thread.run_sync(publish_sample, trust, tmp_path, BUNDLE, 5)
    m = Store(origin).load_manifest(CHANNEL, 1)
    key = m.torrent_name
    config = write_config(tmp_path / "origin.toml", data=origin, root=trust.root, origin=True,
                          super_seed=True, super_seed_min_peers=2)
    async with trio.open_nursery() as nursery:
        service = await start(nursery, config)
        handle = service.swarm._get(key).handle
        port = service.swarm.listen_port

        # One peer: plain seeding, the whole release arrives (no super-seeding at any sample).
        lone = await _peer(nursery, tmp_path, "127.0.0.21", m.torrent, key, port)
        with trio.fail_after(30):
            while lone.snapshot(key).bytes_done != BUNDLE:
                assert key not in service.super_seeding
                assert not handle.flags() & lt.torrent_flags.super_seeding
                await trio.sleep(0.05)
        await lone.aclose()

        # Two slow downloaders at once: the release is super-seeded while they are connected...
        pair = [await _peer(nursery, tmp_path, f"127.0.0.{ip}", m.torrent, key, port,
                            down="down=20KB") for ip in (22, 23)]
        with trio.fail_after(20):
            while key not in service.super_seeding:
                await trio.sleep(0.05)
        assert handle.flags() & lt.torrent_flags.super_seeding
        # ...and seeded plainly again once they are gone.
        for p in pair:
            await p.aclose()
        with trio.fail_after(20):
            while key in service.super_seeding:
                await trio.sleep(0.05)
        assert not handle.flags() & lt.torrent_flags.super_seeding
        nursery.cancel_scope.cancel()
