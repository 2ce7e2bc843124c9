"""Real libtorrent sessions on loopback, in this process: selection, removal, WAN caps, resume
fallbacks and corrupt peers."""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import trio
from swarm_helpers import SMALL_RELEASE, config, make_release, start_swarm, tree

from p2pdist._libtorrent import lt
from p2pdist.errors import NetworkError
from p2pdist.swarm import (
    PeerSource,
    Swarm,
    SwarmConfig,
    TorrentState,
    UnknownTorrentError,
    WanSchedule,
)
from p2pdist.swarm._session import session_settings

MB = 1_000_000


async def test_selective_download_creates_only_wanted_files(tmp_path: Path) -> None:
    torrent = make_release(tmp_path / "src", "rel", SMALL_RELEASE)
    wanted = {"课程/02 视频通话.mp4", "readme.txt"}
    async with trio.open_nursery() as nursery:
        seeder = await start_swarm(nursery, config(tmp_path, "127.0.0.70"))
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.71"))
        await seeder.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        with pytest.raises(ValueError, match="no-such-file"):
            await box.add_torrent("rel", torrent, tmp_path / "box", wanted_paths={"no-such-file"})
        await box.add_torrent("rel", torrent, tmp_path / "box", wanted_paths=wanted)
        box.connect_peer("rel", ("127.0.0.70", seeder.listen_port), PeerSource.SEEDER)
        with trio.fail_after(15):
            await box.wait_complete("rel")

        snap = box.snapshot("rel")
        assert snap.state is TorrentState.SEEDING
        assert snap.bytes_done == snap.bytes_wanted == sum(SMALL_RELEASE[p] for p in wanted)
        source = tree(tmp_path / "src" / "rel")
        assert tree(tmp_path / "box" / "rel") == {p: source[p] for p in wanted}

        await box.save_resume("rel")
        assert await box.save_all_resume() == []
        assert (tmp_path / "resume-127.0.0.71" / "rel.resume").exists()
        await box.remove("rel", delete_files=True)
        assert tree(tmp_path / "box") == {}
        assert not (tmp_path / "resume-127.0.0.71" / "rel.resume").exists()
        with pytest.raises(UnknownTorrentError):
            box.snapshot("rel")
        nursery.cancel_scope.cancel()


async def test_wan_peers_are_capped_while_lan_peers_are_not(tmp_path: Path) -> None:
    cap = 1 * MB
    size = 10 * MB
    torrent = make_release(
        tmp_path / "src", "big", {"film-a.bin": size // 2, "film-b.bin": size // 2}
    )
    # One schedule for every box, as deployed; what differs is who counts as LAN.
    schedule = WanSchedule.parse("1MB")
    seeder_ip, wan_ip, lan_ip = "127.0.0.50", "127.0.0.51", "127.0.0.52"
    async with trio.open_nursery() as nursery:
        seeder = await start_swarm(
            nursery, config(tmp_path, seeder_ip, wan_schedule=schedule, lan_subnets=(lan_ip,))
        )
        wan_box = await start_swarm(nursery, config(tmp_path, wan_ip, wan_schedule=schedule))
        lan_box = await start_swarm(nursery, config(tmp_path, lan_ip, wan_schedule=schedule))
        await seeder.add_torrent("big", torrent, tmp_path / "src", seed_mode=True)
        await wan_box.add_torrent("big", torrent, tmp_path / "wan")
        await lan_box.add_torrent("big", torrent, tmp_path / "lan")
        seeder_at = (seeder_ip, seeder.listen_port)
        start = time.monotonic()
        wan_box.connect_peer("big", seeder_at, PeerSource.SEEDER)
        lan_box.connect_peer("big", seeder_at, PeerSource.LAN)
        with trio.fail_after(10):
            await lan_box.wait_complete("big")
        lan_rate = size / (time.monotonic() - start)

        # Measure the WAN box over a steady window: a capped connection starts slowly (its
        # handshake waits for quota too) and the limiter overshoots at first.
        await trio.sleep(max(0.0, start + 1.5 - time.monotonic()))
        t0, b0 = time.monotonic(), wan_box.snapshot("big").total_payload_download
        await trio.sleep(3)
        t1, b1 = time.monotonic(), wan_box.snapshot("big").total_payload_download
        wan_rate = (b1 - b0) / (t1 - t0)
        print(f"LAN {lan_rate / MB:.2f} MB/s, WAN {wan_rate / MB:.2f} MB/s, cap {cap / MB} MB/s")
        assert wan_rate < 2 * cap
        assert wan_rate > 0.5 * cap
        assert lan_rate > 3 * cap
        assert wan_box.snapshot("big").state is TorrentState.DOWNLOADING
        assert lan_box.snapshot("big").received[PeerSource.SEEDER] == 0  # LAN source, not seeder
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
async def test_bad_resume_data_falls_back_to_a_recheck(tmp_path: Path, damage: str) -> None:
    files = {"a.bin": 3 * MB, "课程/b.bin": 3 * MB}
    torrent = make_release(tmp_path / "src", "rel", files)
    box_cfg = config(tmp_path, "127.0.0.41", wan_schedule=WanSchedule.parse("down=3MB"))
    resume_file = box_cfg.resume_dir / "rel.resume"
    async with trio.open_nursery() as nursery:
        seeder = await start_swarm(nursery, config(tmp_path, "127.0.0.40"))
        await seeder.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        seeder_at = ("127.0.0.40", seeder.listen_port)

        box = await start_swarm(nursery, box_cfg)
        await box.add_torrent("rel", torrent, tmp_path / "box")
        box.connect_peer("rel", seeder_at, PeerSource.SEEDER)
        with trio.fail_after(10):
            while (done := box.snapshot("rel").bytes_done) < 0.4 * sum(files.values()):
                await trio.sleep(0.05)
        await box.aclose()
        assert resume_file.exists()
        if damage == "missing":
            resume_file.unlink()
        else:
            resume_file.write_bytes(resume_file.read_bytes()[:100] + b"\x00garbage")

        again = await start_swarm(nursery, dataclasses.replace(box_cfg, wan_schedule=WanSchedule()))
        await again.add_torrent("rel", torrent, tmp_path / "box")
        with trio.fail_after(10):
            while (snap := again.snapshot("rel")).state is TorrentState.CHECKING:
                await trio.sleep(0.02)
        assert snap.file_checks == 1
        assert snap.bytes_done >= 0.8 * done, (snap.bytes_done, done)
        assert snap.total_payload_download == 0

        again.connect_peer("rel", seeder_at, PeerSource.SEEDER)
        with trio.fail_after(15):
            await again.wait_complete("rel")
        assert tree(tmp_path / "box" / "rel") == tree(tmp_path / "src" / "rel")
        nursery.cancel_scope.cancel()


async def test_corrupt_peer_is_banned_and_good_peer_completes(tmp_path: Path) -> None:
    files = {"a.bin": 2 * MB, "b.bin": 1 * MB}
    torrent = make_release(tmp_path / "src", "rel", files)
    # The liar: the same files with bytes flipped, seeded without any hash check (plain seed
    # mode would notice its own corruption). A raw session, since Swarm never disables checks.
    make_release(tmp_path / "liar", "rel", files)
    for rel in files:
        path = tmp_path / "liar" / "rel" / rel
        data = bytearray(path.read_bytes())
        for i in range(0, len(data), 4096):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    liar_settings = session_settings(
        config(tmp_path, "127.0.0.61"), upload_limit=0, download_limit=0
    )
    liar_settings["disable_hash_checks"] = True
    liar_settings["alert_mask"] = 0
    liar = lt.session(liar_settings)
    atp = lt.load_torrent_buffer(torrent)
    atp.save_path = str(tmp_path / "liar")
    atp.flags |= lt.torrent_flags.seed_mode
    liar.add_torrent(atp)

    async with trio.open_nursery() as nursery:
        good = await start_swarm(nursery, config(tmp_path, "127.0.0.60"))
        await good.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.62"))
        await box.add_torrent("rel", torrent, tmp_path / "box")

        box.connect_peer("rel", ("127.0.0.61", liar.listen_port()), PeerSource.WAN)
        with trio.fail_after(10):
            # libtorrent posts the ban before the hash failure: wait for both.
            while (snap := box.snapshot("rel")).peer_bans == 0 or snap.hash_failures == 0:
                await trio.sleep(0.05)
        assert snap.total_failed_bytes > 0

        box.connect_peer("rel", ("127.0.0.60", good.listen_port), PeerSource.SEEDER)
        with trio.fail_after(15):
            await box.wait_complete("rel")
        assert tree(tmp_path / "box" / "rel") == tree(tmp_path / "src" / "rel")
        snap = box.snapshot("rel")
        assert snap.peers[PeerSource.WAN] == 0  # the liar stays banned
        # Both sources sent payload; the split of bytes from a peer that was dropped between two
        # polls is an estimate (see PayloadLedger), so only its presence is asserted.
        assert snap.received[PeerSource.SEEDER] > 0
        assert snap.received[PeerSource.WAN] > 0
        assert sum(snap.received.values()) >= sum(files.values())
        nursery.cancel_scope.cancel()
    await trio.to_thread.run_sync(liar.pause)


async def test_listen_failure_is_a_network_error(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: binding fails, nothing is sent.
    swarm = Swarm(SwarmConfig("192.0.2.1:0", tmp_path / "resume"))
    async with trio.open_nursery() as nursery:
        with trio.fail_after(5), pytest.raises(NetworkError, match=r"192\.0\.2\.1"):
            await nursery.start(swarm.run)


async def test_wan_limits_follow_the_schedule_window(tmp_path: Path) -> None:
    start = datetime(2025, 1, 20, 7, 59, 59)
    t0 = trio.current_time()

    def clock() -> datetime:
        return start + timedelta(seconds=trio.current_time() - t0)

    schedule = WanSchedule.parse("2Mbit@08:00-18:00")
    swarm = Swarm(config(tmp_path, "127.0.0.90", wan_schedule=schedule), clock=clock)
    async with trio.open_nursery() as nursery:
        await nursery.start(swarm.run)
        assert swarm.wan_limits == (0, 0)
        with trio.fail_after(3):
            while swarm.wan_limits == (0, 0):
                await trio.sleep(0.05)
        assert swarm.wan_limits == (250_000, 250_000)
        nursery.cancel_scope.cancel()


async def test_super_seeding_and_wan_access_switch_on_and_off(tmp_path: Path) -> None:
    """A seeder super-seeds complete releases; a box that loses its site's election is cut off
    from WAN peers by the IP filter, and the download from the WAN seeder stops."""
    torrent = make_release(tmp_path / "src", "rel", {"a.bin": 4 * MB})
    async with trio.open_nursery() as nursery:
        seeder = await start_swarm(nursery, config(tmp_path, "127.0.0.80",
                                                   wan_schedule=WanSchedule.parse("up=1MB")))
        await seeder.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        handle = seeder._get("rel").handle
        seeder.set_super_seeding("rel", True)
        assert handle.flags() & lt.torrent_flags.super_seeding
        seeder.set_super_seeding("rel", False)
        assert not handle.flags() & lt.torrent_flags.super_seeding
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.81"))
        await box.add_torrent("rel", torrent, tmp_path / "box")
        box.connect_peer("rel", ("127.0.0.80", seeder.listen_port), PeerSource.SEEDER)
        with trio.fail_after(10):
            while box.snapshot("rel").bytes_done == 0:
                await trio.sleep(0.05)
        box.set_wan_allowed(False)  # the seeder is not LAN: its connection is dropped
        with trio.fail_after(10):
            while box.snapshot("rel").peers[PeerSource.SEEDER]:
                await trio.sleep(0.05)
        stalled = box.snapshot("rel").bytes_done
        await trio.sleep(1.0)
        assert box.snapshot("rel").bytes_done - stalled < 0.5 * MB
        box.set_wan_allowed(True)
        box.connect_peer("rel", ("127.0.0.80", seeder.listen_port), PeerSource.SEEDER)
        with trio.fail_after(15):
            await box.wait_complete("rel")
        nursery.cancel_scope.cancel()
