"""A ban holds for the address, however many ports its peer uses (issue 16 item 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from swarm_helpers import config, make_release, start_swarm, tree

from p2pdist._libtorrent import lt
from p2pdist.swarm import PeerSource
from p2pdist.swarm._bans import BanTable
from p2pdist.swarm._session import session_settings

MB = 1_000_000
LIAR_IP = "127.0.0.81"


def test_ban_table_holds_then_lifts() -> None:
    t = BanTable(ban_s=60)
    assert t.ban("10.0.0.5", now=100.0)
    assert not t.ban("10.0.0.5", now=110.0)  # renewed, not new: filter unchanged
    assert t.addresses() == ["10.0.0.5"] and "10.0.0.5" in t
    assert t.expire(now=169.0) == []
    assert t.expire(now=170.0) == ["10.0.0.5"]
    assert t.addresses() == []
    with pytest.raises(ValueError):
        BanTable(ban_s=0)


def _liar(tmp_path: Path, torrent: bytes, port: int) -> tuple[Any, Any]:
    """A session at LIAR_IP:port seeding corrupted copies without checking its own hashes."""
    settings = session_settings(config(tmp_path, LIAR_IP), upload_limit=0, download_limit=0)
    settings["listen_interfaces"] = f"{LIAR_IP}:{port}"
    settings["disable_hash_checks"] = True
    settings["alert_mask"] = 0
    ses = lt.session(settings)
    atp = lt.load_torrent_buffer(torrent)
    atp.save_path = str(tmp_path / "liar")
    atp.flags |= lt.torrent_flags.seed_mode
    return ses, ses.add_torrent(atp)


@pytest.mark.slow
async def test_liar_reconnecting_from_new_ports_stays_banned(tmp_path: Path) -> None:
    files = {"a.bin": 3 * MB, "b.bin": 1 * MB}
    torrent = make_release(tmp_path / "src", "rel", files)
    make_release(tmp_path / "liar", "rel", files)
    for rel in files:
        path = tmp_path / "liar" / "rel" / rel
        data = bytearray(path.read_bytes())
        for i in range(0, len(data), 4096):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    piece = lt.torrent_info(torrent).piece_length()
    liars = [_liar(tmp_path, torrent, 0)]
    async with trio.open_nursery() as nursery:
        good = await start_swarm(nursery, config(tmp_path, "127.0.0.80"))
        await good.add_torrent("rel", torrent, tmp_path / "src", seed_mode=True)
        box = await start_swarm(nursery, config(tmp_path, "127.0.0.82"))
        await box.add_torrent("rel", torrent, tmp_path / "box")
        box.connect_peer("rel", (LIAR_IP, liars[0][0].listen_port()), PeerSource.WAN)
        with trio.fail_after(15):
            while (snap := box.snapshot("rel")).peer_bans == 0 or snap.hash_failures == 0:
                await trio.sleep(0.05)
        after_ban = snap.total_failed_bytes
        # The same address comes back on five new ports, dialled and dialling in, many times.
        liars += [_liar(tmp_path, torrent, 0) for _ in range(5)]
        for _round in range(10):
            for ses, handle in liars[1:]:
                box.connect_peer("rel", (LIAR_IP, ses.listen_port()), PeerSource.WAN)
                handle.connect_peer(("127.0.0.82", box.listen_port))
            await trio.sleep(0.3)
        snap = box.snapshot("rel")
        assert snap.total_failed_bytes - after_ban <= 2 * piece
        assert snap.peers[PeerSource.WAN] == 0
        box.connect_peer("rel", ("127.0.0.80", good.listen_port), PeerSource.SEEDER)
        with trio.fail_after(30):
            await box.wait_complete("rel")
        assert tree(tmp_path / "box" / "rel") == tree(tmp_path / "src" / "rel")
        nursery.cancel_scope.cancel()
    for ses, _h in liars:
        await trio.to_thread.run_sync(ses.pause)
