"""The file window: a large download fetches its files a window at a time, so libtorrent holds
full merkle trees for those files only (see p2pdist/swarm/_window.py)."""

from __future__ import annotations

from pathlib import Path

import trio
from swarm_helpers import config, make_release, start_swarm, tree

from p2pdist._libtorrent import lt
from p2pdist.swarm import PeerSource, WanSchedule
from p2pdist.swarm._selection import NORMAL, SKIP
from p2pdist.swarm._window import LOW, FileWindow

MB = 1_000_000


def window(base: list[int], sizes: list[int], pads: list[bool], room: int) -> FileWindow:
    return FileWindow(base, sizes, pads, room, [])


def test_unfinished_files_beyond_the_window_go_low_and_come_back_as_files_finish() -> None:
    w = window([NORMAL] * 4, [3, 3, 3, 3], [False] * 4, 4)
    assert w.priorities([0, 0, 0, 0]) == [NORMAL, NORMAL, LOW, LOW]
    assert w.priorities([3, 0, 0, 0]) == [NORMAL, NORMAL, NORMAL, LOW]  # file 0 is done
    assert w.priorities([3, 2, 0, 0]) == [NORMAL, NORMAL, NORMAL, LOW]  # 1 + 3 bytes to go
    assert w.priorities([3, 3, 3, 0]) == [NORMAL] * 4


def test_the_first_unfinished_file_is_in_the_window_however_large() -> None:
    w = window([NORMAL, NORMAL], [10, 10], [False, False], 4)
    assert w.priorities([0, 0]) == [NORMAL, LOW]


def test_skipped_files_stay_skipped_and_pads_follow_the_file_before_them() -> None:
    w = window([NORMAL, NORMAL, NORMAL, SKIP, NORMAL], [5, 1, 5, 5, 5],
               [False, True, False, False, False], 4)
    assert w.priorities([0] * 5) == [NORMAL, NORMAL, LOW, SKIP, LOW]
    w = window([NORMAL, NORMAL, NORMAL], [5, 1, 5], [False, True, False], 4)
    assert w.priorities([5, 0, 0]) == [NORMAL, NORMAL, NORMAL]


def test_update_says_only_when_the_window_moves() -> None:
    w = window([NORMAL] * 3, [3, 3, 3], [False] * 3, 2)
    w.applied = w.priorities([0, 0, 0])
    assert w.update([1, 0, 0]) is None
    assert w.update([3, 0, 0]) == [NORMAL, NORMAL, LOW]


async def test_a_download_larger_than_the_window_takes_its_files_in_order(
        tmp_path: Path) -> None:
    files = {f"film-{i}.bin": 1 * MB for i in range(8)}
    torrent = make_release(tmp_path / "src", "rel", files)
    # Capped, so libtorrent's request queue (about 3 s of transfer) stays inside the window.
    async with trio.open_nursery() as nursery:
        seeder = await start_swarm(nursery, config(tmp_path, "127.0.0.98"))
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.99",
                                                wan_schedule=WanSchedule.parse("500KB"),
                                                file_window_bytes=3 * MB))
        await seeder.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        await box.add_torrent("rel", torrent, tmp_path / "box")
        handle = box._torrents["rel"].handle  # the per-file progress is libtorrent's own
        last = lt.torrent_info(torrent).layout().num_files() - 1
        assert handle.get_file_priorities()[last] == LOW
        box.connect_peer("rel", ("127.0.0.98", seeder.listen_port), PeerSource.SEEDER)
        sizes = [handle.torrent_file().layout().file_size(i) for i in range(last + 1)]
        with trio.fail_after(30):
            while True:
                done = handle.file_progress(lt.torrent_handle.piece_granularity)
                if any(d == s > 0 for d, s in zip(done, sizes, strict=True)):
                    break
                await trio.sleep(0.05)
        assert done[last] == 0, done  # the last film waits for its turn
        nursery.cancel_scope.cancel()
    # Every file still comes, once the cap is gone.
    async with trio.open_nursery() as nursery:
        seeder = await start_swarm(nursery, config(tmp_path, "127.0.0.98"))
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.99",
                                                file_window_bytes=3 * MB))
        await seeder.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        await box.add_torrent("rel", torrent, tmp_path / "box")
        box.connect_peer("rel", ("127.0.0.98", seeder.listen_port), PeerSource.SEEDER)
        with trio.fail_after(30):
            await box.wait_complete("rel")
        assert tree(tmp_path / "box" / "rel") == tree(tmp_path / "src" / "rel")
        nursery.cancel_scope.cancel()
