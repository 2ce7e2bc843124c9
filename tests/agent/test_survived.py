"""Failures the box must survive, through the real code paths (no daemon needed): capped
back-off after 2,000 consecutive failures, a torrent libtorrent refuses, a manifest of another
channel offered for X, and a root rotation offered twice in one poll."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import bencodepy
import pytest
from agentworld import CHANNEL, World

from keys import TrustError, load_signing_key, load_trust
from manifest import Manifest, decode_envelope
from p2pdist.agent import BoxAgent
from p2pdist.agent._machine import RETRY_MAX_S, Input, Phase, UpdateMachine
from p2pdist.agent._sources import Source
from p2pdist.config import BoxConfig
from p2pdist.errors import TorrentRefusedError, WrongChannelError
from p2pdist.torrent import check_loadable
from p2pdist.trust import verify_release_for
from tests.world import run_cli

NOW = 1_800_000_000


class Clock:
    def __init__(self) -> None:
        self.t = float(NOW)

    def __call__(self) -> float:
        return self.t


def test_2000_consecutive_failures_keep_a_finite_capped_retry() -> None:
    clock = Clock()
    m = UpdateMachine(active_version=1)
    for _ in range(2000):
        m.feed(Input.POLL, now=clock())
        m.feed(Input.MANIFEST, version=2)
        m.feed(Input.VERIFIED_NEW, version=2)
        m.feed(Input.FAILED, now=clock(), reason="no route to host")
        assert m.retry_at is not None and m.retry_at - clock() <= RETRY_MAX_S
        clock.t = m.retry_at
        assert m.retry_due(clock())
        m.feed(Input.RETRY, now=clock())
    assert m.failures == 2000 and m.phase is Phase.SEEDING


def test_2000_penalties_of_one_source_stay_capped(tmp_path: Path, agent_world: World) -> None:
    run_cli("box", "init", "--data", tmp_path, "--root", agent_world.root, "--channel", CHANNEL,
            "--no-mdns")
    clock = Clock()
    agent = BoxAgent(tmp_path, BoxConfig.load(tmp_path), clock=clock)
    src = Source("http://seeder.invalid", lan=False)
    for _ in range(2000):
        agent._penalize(src, 30.0)
        assert agent.policy_sources.penalties[src.url] - clock() <= 3600.0
        clock.t = agent.policy_sources.penalties[src.url]
    assert agent.policy_sources.strikes[src.url] == 2000


def resigned(w: World, m: Manifest) -> bytes:
    return m.sign(load_signing_key(w.dir / "release"))


def test_a_torrent_libtorrent_refuses_is_a_trust_error(agent_world: World) -> None:
    w = agent_world
    m = Manifest.decode_body(decode_envelope(w.manifest[1].read_bytes()).signed)
    t = bencodepy.decode(m.torrent)
    t[b"info"][b"pieces"] = t[b"info"][b"pieces"][:-20]  # one v1 piece hash short
    blob = resigned(w, dataclasses.replace(m, torrent=bencodepy.encode(t)))
    root = load_trust(w.root.read_bytes(), [], NOW)
    with pytest.raises(TrustError):  # refused before it can reach add_torrent
        verify_release_for(blob, root, lambda _c: None, NOW, expected_channel=CHANNEL)
    with pytest.raises(TorrentRefusedError, match="libtorrent refuses"):
        check_loadable(bencodepy.encode(t))
    check_loadable(m.torrent)  # the untouched torrent loads


def test_a_manifest_of_another_channel_is_refused_for_x(agent_world: World) -> None:
    w = agent_world
    m = Manifest.decode_body(decode_envelope(w.manifest[1].read_bytes()).signed)
    root = load_trust(w.root.read_bytes(), [], NOW)
    blob = w.manifest[1].read_bytes()
    assert verify_release_for(blob, root, lambda _c: None, NOW,
                              expected_channel=m.channel).manifest.version == 1
    with pytest.raises(WrongChannelError, match="offered for channel"):
        verify_release_for(blob, root, lambda _c: None, NOW,
                           expected_channel="national/another")
    with pytest.raises(WrongChannelError, match="does not follow"):
        verify_release_for(blob, root, lambda _c: None, NOW,
                           followed=frozenset({"national/another"}))
