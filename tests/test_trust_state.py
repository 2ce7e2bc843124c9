"""The pure trust state: idempotent root updates, channel-checked verification, floors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sneaker_world import CHANNEL, HUNAN, NOW, build_signed, make_keys

import keys
from p2pdist.errors import WrongChannelError
from p2pdist.sample import write_sample
from p2pdist.trust import TrustState


def test_update_roots_is_idempotent_and_returns_only_what_is_new() -> None:
    k = make_keys()
    t = TrustState.load([k.root_v1], NOW)
    assert t.update_roots([k.root_v2, k.root_v2], NOW) == [k.root_v2]
    assert t.update_roots([k.root_v1, k.root_v2], NOW) == []
    assert t.root.version == 2 and t.chain == [k.root_v1, k.root_v2]


def test_a_forged_rotation_changes_nothing() -> None:
    k = make_keys()
    t = TrustState.load([k.root_v1], NOW)
    with pytest.raises(keys.TrustError):
        t.update_roots([k.forged_v2], NOW)
    assert t.root.version == 1 and t.chain == [k.root_v1]


def test_verify_checks_the_channel_and_the_floor(tmp_path: Path) -> None:
    k = make_keys()
    content = write_sample(tmp_path / "c", 200_000, seed=1).root
    t = TrustState.load([k.root_v1], NOW)
    v5 = t.verify(build_signed(content, CHANNEL, 5, k.release), CHANNEL, NOW)
    assert v5.is_new
    t.trust(v5)
    with pytest.raises(keys.RollbackError):
        t.verify(build_signed(content, CHANNEL, 4, k.release), CHANNEL, NOW)
    with pytest.raises(WrongChannelError):
        t.verify(build_signed(content, CHANNEL, 6, k.release), HUNAN, NOW)
