"""The rollout summary (pure) and the check-in verdict (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from keys import SigningKey
from p2pdist.checkin import (
    ChannelReport,
    ReplayError,
    UnknownBoxError,
    VerifiedCheckin,
    make_checkin,
    verify_checkin,
)
from seeder._intake import Verdict, judge
from seeder._rollout import BoxRecord, summarize

C = "national/winter-2027"
P = "province/hunan/spring"
NOW = 1_800_000_000.0
HOUR = 3600.0


def box(i: str, site: str, age_h: float, channels: dict[str, ChannelReport]) -> BoxRecord:
    return BoxRecord(i * 64, site, NOW - 100 * HOUR, NOW - age_h * HOUR, 9, 10**9, channels)


BOXES = [
    box("a", "城关站", 1, {C: ChannelReport(2, "seeding", 1.0), P: ChannelReport(1, "seeding", 1)}),
    box("b", "城关站", 2, {C: ChannelReport(1, "downloading", 0.4)}),
    box("c", "河口站", 30, {C: ChannelReport(1, "seeding", 1.0)}),
    box("d", "河口站", 40, {C: ChannelReport(2, "seeding", 1.0)}),
]


def report(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "latest": {C: 2}, "allowed": None, "top_titles": [("过年好", 30), ("微信聊天", 4)],
        "site_plays": {"城关站": 30, "河口站": 4}, "now": NOW, "stale_after_s": 24 * HOUR,
    }
    args.update(changes)
    return summarize(BOXES, **args)


def test_each_box_is_in_one_bucket_per_channel() -> None:
    r = report()
    c = r["channels"][C]
    # a and d are at v2 (d is silent but done); b is working; c is behind and silent.
    counts = (c["latest"], c["done"], c["in_progress"], c["stale"], c["never_seen"])
    assert counts == (2, 2, 1, 1, 0)
    assert c["versions"] == {"1": 2, "2": 2}


def test_without_a_held_version_the_newest_reported_is_the_target() -> None:
    r = report()
    p = r["channels"][P]
    assert p["latest"] == 1 and p["done"] == 1


def test_allow_listed_boxes_that_never_checked_in() -> None:
    r = report(allowed=frozenset({"a" * 64, "e" * 64, "f" * 64}))
    assert r["channels"][C]["never_seen"] == 2
    never = [b for b in r["boxes"] if not b["seen"]]
    assert [b["box_id"][0] for b in never] == ["e", "f"]


def test_sites_and_titles() -> None:
    r = report()
    sites = r["sites"]
    assert list(sites) == ["城关站", "河口站"]
    assert sites["城关站"] == {"boxes": 2, "up_to_date": 1, "stale": 0,
                            "last_seen": NOW - HOUR, "plays": 30}
    assert sites["河口站"]["stale"] == 2 and sites["河口站"]["up_to_date"] == 1
    assert r["top_titles"] == [{"title": "过年好", "plays": 30}, {"title": "微信聊天", "plays": 4}]


def test_json_keys_are_stable() -> None:
    r = report()
    assert set(r) == {"generated", "stale_after_s", "channels", "sites", "top_titles", "boxes"}
    b = r["boxes"][0]
    assert set(b) == {"box_id", "site", "seen", "first_seen", "last_seen", "age_s", "stale",
                      "seq", "free_disk", "channels", "clock_trusted", "via"}
    assert b["channels"][C] == {"version": 2, "state": "seeding", "progress": 1.0,
                                "rate": 0, "problem": "", "status": "done"}


KEY = SigningKey.generate()


def _verified(seq: int, free: int = 1) -> VerifiedCheckin:
    return verify_checkin(make_checkin(KEY, seq=seq, sent=0, site="", channels={},
                                       free_disk=free, plays={}, window=(0, 0)))


def test_verdicts() -> None:
    v = _verified(5)
    assert judge(v, allowed=None, stored_digest=None, newest_seq=None) is Verdict.ACCEPT
    assert judge(v, allowed=None, stored_digest=None, newest_seq=4) is Verdict.ACCEPT
    assert judge(v, allowed=None, stored_digest=v.digest, newest_seq=5) is Verdict.DUPLICATE
    with pytest.raises(ReplayError):
        judge(_verified(5, free=2), allowed=None, stored_digest=v.digest, newest_seq=5)
    with pytest.raises(ReplayError):
        judge(v, allowed=None, stored_digest=None, newest_seq=6)
    with pytest.raises(UnknownBoxError):
        judge(v, allowed=frozenset({"0" * 64}), stored_digest=None, newest_seq=None)
