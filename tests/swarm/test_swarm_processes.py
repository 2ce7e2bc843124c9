"""Swarms in separate processes (tests/swarm/swarm_proc.py): a release reaching several boxes,
and a box killed with SIGKILL half way that continues from its resume data."""

from __future__ import annotations

from pathlib import Path

import trio
from swarm_helpers import (
    SMALL_RELEASE,
    SwarmProcess,
    config,
    make_release,
    start_swarm,
    tree,
)

from p2pdist.swarm import PeerSource, SwarmConfig, TorrentState, WanSchedule

MB = 1_000_000


async def test_one_seeder_and_three_boxes_get_identical_files(tmp_path: Path) -> None:
    torrent = make_release(tmp_path / "src", "rel", SMALL_RELEASE)
    (tmp_path / "rel.torrent").write_bytes(torrent)
    boxes: list[SwarmProcess] = []
    async with trio.open_nursery() as nursery:
        seeder = await start_swarm(nursery, config(tmp_path, "127.0.0.20"))
        await seeder.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        try:
            for i in (21, 22, 23):
                boxes.append(
                    await SwarmProcess.start(
                        {
                            "listen": f"127.0.0.{i}:0",
                            "resume_dir": str(tmp_path / f"resume-{i}"),
                            "torrent": str(tmp_path / "rel.torrent"),
                            "save_path": str(tmp_path / f"box-{i}"),
                            "key": "rel",
                            "peers": [["127.0.0.20", seeder.listen_port, "seeder"]],
                        }
                    )
                )
            with trio.fail_after(30):
                finals = [(await box.until("complete"))["snapshot"] for box in boxes]
            for box in boxes:
                await box.stop()
                assert box.proc.returncode == 0
        finally:
            for box in boxes:
                box.kill()
        source = tree(tmp_path / "src" / "rel")
        size = sum(SMALL_RELEASE.values())
        for i, snap in zip((21, 22, 23), finals, strict=True):
            assert tree(tmp_path / f"box-{i}" / "rel") == source
            assert snap["state"] == "seeding" and snap["bytes_done"] == size
            received = sum(snap["received"].values())
            assert abs(received - snap["total_payload_download"]) <= 0.02 * size
        nursery.cancel_scope.cancel()


async def test_sigkill_half_way_resumes_without_refetching(tmp_path: Path) -> None:
    files = {"课程/01.mp4": 3 * MB, "课程/02.mp4": 3 * MB, "影片/过年好.mkv": 2 * MB}
    size = sum(files.values())
    torrent = make_release(tmp_path / "src", "rel", files)
    (tmp_path / "rel.torrent").write_bytes(torrent)
    async with trio.open_nursery() as nursery:
        # The seeder caps WAN peers so that "half way" lasts long enough to hit. (A sender's
        # upload cap is smooth; a receiver's download cap arrives in bursts on loopback.)
        seeder = await start_swarm(
            nursery, config(tmp_path, "127.0.0.30", wan_schedule=WanSchedule.parse("up=2MB"))
        )
        await seeder.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        args = {
            "listen": "127.0.0.31:0",
            "resume_dir": str(tmp_path / "resume-box"),
            "torrent": str(tmp_path / "rel.torrent"),
            "save_path": str(tmp_path / "box"),
            "key": "rel",
            "peers": [["127.0.0.30", seeder.listen_port, PeerSource.SEEDER.value]],
            "resume_interval_s": 0.1,
            "interval_s": 0.05,
        }
        first = await SwarmProcess.start(args)
        try:
            with trio.fail_after(15):
                while (snap := (await first.until("progress"))["snapshot"])[
                    "bytes_done"
                ] < 0.5 * size:
                    pass
            first.proc.send_signal(9)
            await first.proc.wait()
        finally:
            first.kill()
        done_at_kill = snap["bytes_done"]
        assert done_at_kill < size

        seeder.register_lan_peer("127.0.0.31")  # the rest at full speed
        second = await SwarmProcess.start(args)
        try:
            with trio.fail_after(20):
                final = (await second.until("complete"))["snapshot"]
            await second.stop()
        finally:
            second.kill()
        assert tree(tmp_path / "box" / "rel") == tree(tmp_path / "src" / "rel")
        assert final["file_checks"] == 0, "valid resume data must not trigger a full recheck"
        refetched = final["total_payload_download"] - (size - done_at_kill)
        assert refetched < 0.1 * size, f"re-downloaded {refetched} of {size} bytes"

        # Complete torrents keep a small resume file (no merkle trees) and restart seeding
        # without a check.
        resume_file = tmp_path / "resume-box" / "rel.resume"
        assert resume_file.stat().st_size < 4096
        third = await start_swarm(nursery, SwarmConfig("127.0.0.31:0", resume_file.parent))
        await third.add_torrent("rel", torrent, tmp_path / "box")
        with trio.fail_after(5):
            await third.wait_complete("rel")
        snap = third.snapshot("rel")
        assert snap.state is TorrentState.SEEDING and snap.file_checks == 0
        nursery.cancel_scope.cancel()
