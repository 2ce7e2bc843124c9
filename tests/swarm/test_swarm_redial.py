"""A source that refused many dials is still dialled when it (re)appears (issue 16.2).

libtorrent gives up on an address after `max_failcount` (3) failed dials, and a plain
`connect_peer` of a known address does not lower that count: a seeder down for more than a few
seconds was never dialled again, however often the box "redialled" it. Each test makes the box
fail to reach a fixed address well past that count (counted by the swarm's `dial_failures`),
then brings a seeder up on it, and needs the download to complete through the caller's redials.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import trio
from swarm_helpers import config, make_release, start_swarm, tree

from p2pdist.swarm import PeerSource, Swarm, SwarmConfig, WanSchedule
from tests.world import free_port

MB = 1_000_000
FILES = {"a.bin": 3 * MB, "b.bin": 2 * MB}
FAILURES = 6  # twice libtorrent's max_failcount
REDIAL_EVERY_S = 0.3  # the test's own redial cadence (the agent's is 2 → 15 s)


def seeder_config(tmp_path: Path, ip: str, port: int) -> SwarmConfig:
    """A capped seeder on a fixed port, so it can come back on the same address."""
    cfg = config(tmp_path, ip, wan_schedule=WanSchedule.parse("up=2MB"))
    return dataclasses.replace(cfg, listen_interfaces=f"{ip}:{port}")


async def redial_forever(box: Swarm, at: tuple[str, int]) -> None:
    """What the agent's `Redial` does, faster: dial the known source again and again."""
    while True:
        box.connect_peer("rel", at, PeerSource.SEEDER)
        await trio.sleep(REDIAL_EVERY_S)


async def until_refused(box: Swarm, times: int) -> None:
    """Wait until the box failed `times` dials (libtorrent alone stops at 3)."""
    with trio.move_on_after(60):
        while box.snapshot("rel").dial_failures < times:
            await trio.sleep(0.05)
    failures = box.snapshot("rel").dial_failures
    if failures < times:
        pytest.fail(f"only {failures} failed dials in 60 s: the box stopped dialling the source")


async def seed(nursery: trio.Nursery, tmp_path: Path, torrent: bytes, ip: str,
               port: int) -> Swarm:
    seeder = await start_swarm(nursery, seeder_config(tmp_path, ip, port))
    await seeder.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
    return seeder


async def test_a_seeder_that_starts_after_the_download_is_used(tmp_path: Path) -> None:
    torrent = make_release(tmp_path / "src", "rel", FILES)
    ip = "127.0.0.90"
    at = (ip, free_port(ip))
    async with trio.open_nursery() as nursery:
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.91"))
        await box.add_torrent("rel", torrent, tmp_path / "box")
        nursery.start_soon(redial_forever, box, at)
        await until_refused(box, FAILURES)
        await seed(nursery, tmp_path, torrent, *at)
        with trio.fail_after(60):
            await box.wait_complete("rel")
        assert box.snapshot("rel").received[PeerSource.SEEDER] > 0
        nursery.cancel_scope.cancel()
    assert tree(tmp_path / "box" / "rel") == tree(tmp_path / "src" / "rel")


async def test_the_only_seeder_gone_mid_download_is_used_when_it_returns(
        tmp_path: Path) -> None:
    torrent = make_release(tmp_path / "src", "rel", FILES)
    ip = "127.0.0.92"
    at = (ip, free_port(ip))
    async with trio.open_nursery() as nursery:
        seeder = await seed(nursery, tmp_path, torrent, *at)
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.93"))
        await box.add_torrent("rel", torrent, tmp_path / "box")
        nursery.start_soon(redial_forever, box, at)
        with trio.fail_after(30):
            while not 0 < box.snapshot("rel").bytes_done < sum(FILES.values()) // 2:
                await trio.sleep(0.02)
        await seeder.aclose()
        await until_refused(box, FAILURES)
        stalled = box.snapshot("rel").bytes_done
        assert stalled < sum(FILES.values())
        await seed(nursery, tmp_path, torrent, *at)
        with trio.fail_after(60):
            await box.wait_complete("rel")
        nursery.cancel_scope.cancel()
    assert tree(tmp_path / "box" / "rel") == tree(tmp_path / "src" / "rel")


async def test_a_seed_that_lost_a_file_redials_the_seed_it_met_while_complete(
        tmp_path: Path) -> None:
    """Both sides complete, they meet (libtorrent closes a seed-to-seed connection and marks
    the other side a seed); then the box loses a file and rechecks. libtorrent caches how many
    known peers it may dial, computed while the box was complete (seeds: none), and does not
    recompute it after the recheck: without a refresh the box never dials the seeder again,
    however often it is asked (the intermittent `box fetch` stall of issue 16)."""
    torrent = make_release(tmp_path / "src", "rel", FILES)
    ip = "127.0.0.94"
    at = (ip, free_port(ip))
    async with trio.open_nursery() as nursery:
        await seed(nursery, tmp_path, torrent, *at)
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.95"))
        shutil.copytree(tmp_path / "src" / "rel", tmp_path / "box" / "rel")
        await box.add_torrent("rel", torrent, tmp_path / "box", seed_mode=True)
        box.connect_peer("rel", at, PeerSource.SEEDER)
        await trio.sleep(2)  # the seed-to-seed handshake, then libtorrent closes it
        (tmp_path / "box" / "rel" / "b.bin").unlink()
        await box.recheck("rel")
        nursery.start_soon(redial_forever, box, at)
        with trio.fail_after(30):
            await box.wait_complete("rel")
        assert box.snapshot("rel").received[PeerSource.SEEDER] > 0
        nursery.cancel_scope.cancel()
    assert tree(tmp_path / "box" / "rel") == tree(tmp_path / "src" / "rel")
