"""A torrent added with `held_paths` still keeps the good pieces of partial files on disk.

Telling libtorrent which pieces are had (the files reused from the store) stops it from checking
the disk, so partial files left by a superseded download (moved into the new release's folder
by the agent) were fetched again whole: at 50 % of a 40 GB release that is most of 20 GB.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import trio
import trio.testing
from swarm_helpers import config, make_release, start_swarm

from p2pdist._libtorrent import lt
from p2pdist.swarm import Swarm
from p2pdist.swarm._ondisk import pieces_on_disk

MB = 1_000_000
FILES = {"held.bin": 2 * MB, "partial.bin": 3 * MB, "absent.bin": 1 * MB}


def _lay_out(src: Path, dst: Path) -> int:
    """The held file whole, the first half of the partial one with a hole after it, and
    the absent one missing; returns the bytes of the partial file written."""
    (dst / "rel").mkdir(parents=True)
    shutil.copy(src / "rel" / "held.bin", dst / "rel" / "held.bin")
    half = FILES["partial.bin"] // 2
    data = (src / "rel" / "partial.bin").read_bytes()
    with open(dst / "rel" / "partial.bin", "wb") as f:
        f.write(data[:half])
        f.truncate(FILES["partial.bin"])  # the rest a hole, as a sparse download leaves it
    return half


async def test_good_pieces_of_a_partial_file_count_as_had(tmp_path: Path) -> None:
    torrent = make_release(tmp_path / "src", "rel", FILES)
    half = _lay_out(tmp_path / "src", tmp_path / "box")
    ti = lt.torrent_info(torrent)
    plen = ti.piece_length()
    found = pieces_on_disk(ti, tmp_path / "box", {"partial.bin", "absent.bin"})
    assert found and len(found) == half // plen, (sorted(found), half, plen)
    async with trio.open_nursery() as nursery:
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.96"))
        await box.add_torrent("rel", torrent, tmp_path / "box", held_paths={"held.bin"})
        expected = FILES["held.bin"] + len(found) * plen
        with trio.move_on_after(10):  # libtorrent takes the pieces when it has checked them in
            while box.snapshot("rel").bytes_done != expected:
                await trio.sleep(0.05)
        snap = box.snapshot("rel")
        assert snap.bytes_done == expected, (snap.state, snap.bytes_done, expected)
        nursery.cancel_scope.cancel()


async def test_a_changed_partial_file_keeps_nothing(tmp_path: Path) -> None:
    torrent = make_release(tmp_path / "src", "rel", FILES)
    _lay_out(tmp_path / "src", tmp_path / "box")
    path = tmp_path / "box" / "rel" / "partial.bin"
    data = bytearray(path.read_bytes())
    for i in range(0, len(data) // 2, 4096):
        data[i] ^= 0xFF  # every piece of the written half damaged
    path.write_bytes(bytes(data))
    assert pieces_on_disk(lt.torrent_info(torrent), tmp_path / "box", {"partial.bin"}) == set()


async def test_a_stop_while_the_pieces_are_checked_leaves_with_cancelled(tmp_path: Path) -> None:
    """A stop (SIGTERM) cancels the swarm and the task adding a torrent together; the task was
    in a thread hashing a partial file and comes back after the swarm began to shut down. It
    must leave cancelled like its siblings, not with a RuntimeError that ends the daemon."""
    torrent = make_release(tmp_path / "src", "rel", {"big.bin": 96 * MB, "small.bin": 1 * MB})
    added: list[str] = []

    async def add(swarm: Swarm) -> None:
        await swarm.add_torrent("rel", torrent, tmp_path / "src", held_paths={"small.bin"})
        added.append("rel")

    async with trio.open_nursery() as nursery:
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.97"))
        nursery.start_soon(add, box)
        await trio.testing.wait_all_tasks_blocked()  # `add` is in its thread
        nursery.cancel_scope.cancel()
    assert added == []
