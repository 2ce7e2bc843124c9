"""Pure parts of the swarm: payload ledger, LAN set, config, session settings, file selection."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from swarm_helpers import make_release

from p2pdist._libtorrent import lt
from p2pdist.errors import ConfigError
from p2pdist.swarm import PeerSource, SwarmConfig, WanSchedule
from p2pdist.swarm._classes import LanSet
from p2pdist.swarm._selection import NORMAL, SKIP, file_priorities
from p2pdist.swarm._session import session_settings
from p2pdist.swarm._snapshot import PayloadLedger, PeerReading

A = ("127.0.0.2", 1000)
B = ("127.0.0.3", 2000)


def reading(
    endpoint: tuple[str, int], source: PeerSource, total: int, rate: int = 0
) -> PeerReading:
    return PeerReading(endpoint, source, total, rate)


class TestPayloadLedger:
    def test_accumulates_deltas_per_source(self) -> None:
        ledger = PayloadLedger()
        ledger.observe(100, [reading(A, PeerSource.LAN, 60), reading(B, PeerSource.SEEDER, 40)])
        ledger.observe(300, [reading(A, PeerSource.LAN, 160), reading(B, PeerSource.SEEDER, 140)])
        assert ledger.received == {PeerSource.LAN: 160, PeerSource.WAN: 0, PeerSource.SEEDER: 140}

    def test_bytes_after_the_last_reading_go_to_the_peer_that_left(self) -> None:
        ledger = PayloadLedger()
        ledger.observe(100, [reading(A, PeerSource.LAN, 50, 10), reading(B, PeerSource.WAN, 50)])
        # A left with 30 more bytes than last seen; B sent 20 more and is still here.
        ledger.observe(150, [reading(B, PeerSource.WAN, 70)])
        assert ledger.received[PeerSource.LAN] == 80
        assert ledger.received[PeerSource.WAN] == 70

    def test_peer_never_read_is_known_from_its_disconnect(self) -> None:
        ledger = PayloadLedger()
        ledger.left(A, PeerSource.SEEDER)
        ledger.observe(5000, [])
        assert ledger.received[PeerSource.SEEDER] == 5000

    def test_remainder_is_split_by_last_rates(self) -> None:
        ledger = PayloadLedger()
        ledger.observe(0, [reading(A, PeerSource.LAN, 0, 300), reading(B, PeerSource.WAN, 0, 100)])
        ledger.observe(400, [])
        assert ledger.received[PeerSource.LAN] == 300
        assert ledger.received[PeerSource.WAN] == 100

    def test_reconnect_from_same_endpoint_counts_from_zero(self) -> None:
        ledger = PayloadLedger()
        ledger.observe(500, [reading(A, PeerSource.LAN, 500)])
        ledger.observe(520, [reading(A, PeerSource.LAN, 20)])
        assert ledger.received[PeerSource.LAN] == 520

    def test_a_connection_listed_twice_is_counted_once(self) -> None:
        # libtorrent listed one seeder connection twice (a half-open duplicate with 0 bytes);
        # every poll then added the whole connection's total again (933 MB -> 4.67 GB).
        ledger = PayloadLedger()
        dup = [reading(A, PeerSource.SEEDER, 900), reading(A, PeerSource.SEEDER, 0)]
        for _ in range(5):
            ledger.observe(900, dup)
            ledger.observe(900, list(reversed(dup)))
        assert ledger.received[PeerSource.SEEDER] == 900

    def test_a_peer_that_reconnects_is_counted_once_per_byte(self) -> None:
        ledger = PayloadLedger()
        first = PeerReading(A, PeerSource.SEEDER, 600, 0, ("127.0.0.9", 40001))
        ledger.observe(600, [first])
        ledger.left(A, PeerSource.SEEDER)
        again = PeerReading(A, PeerSource.SEEDER, 400, 0, ("127.0.0.9", 40002))
        for _ in range(10):  # polls after the download: no traffic, no growth
            ledger.observe(1000, [again])
        assert ledger.received[PeerSource.SEEDER] == 1000

    def test_never_attributes_more_than_the_torrent_total(self) -> None:
        ledger = PayloadLedger()
        ledger.observe(90, [reading(A, PeerSource.LAN, 100)])  # peers read after the total
        ledger.observe(100, [])
        assert sum(ledger.received.values()) == 100


def test_lan_set_membership_and_ranges() -> None:
    lan = LanSet([ipaddress.ip_network("192.168.1.0/24")])
    assert ipaddress.ip_address("192.168.1.77") in lan
    assert ipaddress.ip_address("10.0.0.1") not in lan
    assert lan.add_host(ipaddress.ip_address("10.0.0.1"))
    assert not lan.add_host(ipaddress.ip_address("10.0.0.1"))
    assert ipaddress.ip_address("10.0.0.1") in lan
    assert lan.ranges() == [("192.168.1.0", "192.168.1.255"), ("10.0.0.1", "10.0.0.1")]


def test_config_validates_and_derives_outgoing_interfaces(tmp_path: Path) -> None:
    cfg = SwarmConfig("127.0.0.7:0,[::1]:0", tmp_path)
    assert cfg.effective_outgoing_interfaces() == "127.0.0.7,::1"
    assert SwarmConfig("0.0.0.0:6881", tmp_path).effective_outgoing_interfaces() == ""
    with pytest.raises(ConfigError, match=r"192\.168\.1\.0/24"):
        SwarmConfig("127.0.0.7:0", tmp_path, lan_subnets=("192.168.1/24x",))
    with pytest.raises(ConfigError, match="positive"):
        SwarmConfig("127.0.0.7:0", tmp_path, connections_limit=0)


def test_settings_never_reach_outside_by_default(tmp_path: Path) -> None:
    s = session_settings(SwarmConfig("127.0.0.7:0", tmp_path), upload_limit=0, download_limit=0)
    assert s["enable_dht"] is False and s["dht_bootstrap_nodes"] == ""
    assert s["enable_lsd"] is False
    assert s["enable_upnp"] is False and s["enable_natpmp"] is False
    assert s["outgoing_interfaces"] == "127.0.0.7"
    assert s["ignore_limits_on_local_network"] is False
    assert s["max_queued_disk_bytes"] == 4 << 20


def test_private_dht_relaxes_restrictions(tmp_path: Path) -> None:
    cfg = SwarmConfig(
        "127.0.0.7:0",
        tmp_path,
        dht_bootstrap_nodes=(("127.0.0.8", 6881), ("::1", 6881)),
        wan_schedule=WanSchedule.parse("1MB"),
    )
    s = session_settings(cfg, upload_limit=1, download_limit=2)
    assert s["enable_dht"] is True
    assert s["dht_bootstrap_nodes"] == "127.0.0.8:6881,[::1]:6881"
    assert s["dht_restrict_routing_ips"] is False and s["dht_restrict_search_ips"] is False
    assert (s["upload_rate_limit"], s["download_rate_limit"]) == (1, 2)


def test_file_priorities_follow_layout_with_pads(tmp_path: Path) -> None:
    torrent = make_release(tmp_path, "rel", {"a.bin": 40_000, "视频/b.bin": 50_000, "c.txt": 10})
    ti = lt.torrent_info(torrent)
    fs = ti.layout()
    paths = [fs.file_path(i) for i in range(fs.num_files())]
    pads = [bool(fs.file_flags(i) & lt.file_storage.flag_pad_file) for i in range(len(paths))]
    assert any(pads)  # hybrid torrents pad files to piece boundaries

    priorities = file_priorities(ti, {"视频/b.bin"})
    for path, pad, priority in zip(paths, pads, priorities, strict=True):
        assert priority == (NORMAL if path == "rel/视频/b.bin" else SKIP), (path, pad)
    assert file_priorities(ti, None) == [NORMAL] * len(paths)
    with pytest.raises(ValueError, match=r"nope\.bin"):
        file_priorities(ti, {"a.bin", "nope.bin"})


def test_resume_budget_paces_checkpoints_by_bytes_and_time() -> None:
    from p2pdist.swarm._resume import Budget

    b = Budget(0.01, 30.0)
    assert not b.due("k", True, 0, 1000, now=0.0)  # first sight starts the budget
    assert not b.due("k", True, 5, 1000, now=1.0)  # under 1 % and under 30 s
    assert b.due("k", True, 10, 1000, now=1.0)  # 1 % verified since the start
    b.saved("k", 10, 1.0)
    assert not b.due("k", True, 500, 1000, now=1.2)  # never two saves within MIN_GAP_S
    assert not b.due("k", False, 900, 1000, now=5.0)  # unchanged: nothing to save
    assert b.due("k", True, 11, 1000, now=31.5)  # slow link: the time budget
