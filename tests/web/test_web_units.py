"""The station's web's pure parts: Range parsing, language choice, the 点单 key, the rate limit,
and the service log's exactly-once hand-over to check-ins (a real SQLite file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keys import SigningKey
from p2pdist.checkin import ServiceLog, ServiceReport, make_checkin, verify_checkin
from p2pdist.web import parse_range, pick_language
from p2pdist.web._app import TokenBucket


@pytest.mark.parametrize(("header", "want"), [
    (None, None),
    ("bytes=0-", (0, 99)),
    ("bytes=10-19", (10, 19)),
    ("bytes=90-200", (90, 99)),
    ("bytes=-5", (95, 99)),
    ("bytes=-500", (0, 99)),
    ("bytes=100-", False),
    ("bytes=20-10", False),
    ("bytes=-0", False),
    ("bytes=0-1,5-6", None),
    ("items=0-1", None),
    ("bytes=-", None),
    ("bytes=a-b", None),
])
def test_parse_range(header: str | None, want: object) -> None:
    assert parse_range(header, 100) == want


@pytest.mark.parametrize(("accept", "lang"), [
    (None, "zh_CN"), ("", "zh_CN"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
    ("fr-FR,en;q=0.5", "en"), ("en;q=0.3,zh-TW;q=0.9", "zh_CN"), ("de", "zh_CN"),
    ("en;q=bad,zh", "zh_CN"),
])
def test_chinese_first_english_by_the_browser(accept: str | None, lang: str) -> None:
    assert pick_language(accept) == lang


def test_the_rate_limit_refills_over_time() -> None:
    b = TokenBucket(2, 60.0, now=0.0)
    assert [b.take(0.0) for _ in range(3)] == [True, True, False]
    assert not b.take(30.0) and b.take(61.0) and not b.take(61.0)


def _build(key: SigningKey, seq: int):  # type: ignore[no-untyped-def]
    def build(r: ServiceReport) -> tuple[int, bytes]:
        return seq, make_checkin(key, seq=seq, sent=r.time, site="", channels={}, free_disk=0,
                                 plays=r.plays, window=(0, r.time), days=r.days,
                                 requests=r.requests, clock_trusted=r.clock_trusted)
    return build


def test_counts_leave_the_log_exactly_once_even_after_a_crash(tmp_path: Path) -> None:
    key = SigningKey.generate()
    log = ServiceLog(tmp_path, clock=lambda: 1_800_000_000)
    log.record_play("过年好")
    log.record_play("过年好")
    log.record_request("wish:多放戏曲")
    seq, env = log.seal(_build(key, 7))
    assert seq == 7
    c = verify_checkin(env).checkin
    assert dict(c.plays) == {"过年好": 2} and dict(c.requests) == {"wish:多放戏曲": 1}
    assert dict(c.days) == {"2027-01-15": 2} and c.clock_trusted
    log.close()
    # the box lost power before the check-in reached its outbox: the same bytes come back
    again = ServiceLog(tmp_path, clock=lambda: 1_800_000_000)
    assert again.sealed() == [(7, env)]
    assert again.pending() == ServiceReport()  # and the counts are not counted twice
    again.sealed_done(7)
    assert again.sealed() == []
    _seq, env = again.seal(_build(key, 8))
    assert dict(verify_checkin(env).checkin.plays) == {}


def test_a_box_without_a_real_time_clock_says_so(tmp_path: Path) -> None:
    now = [1_800_000_000.0]
    log = ServiceLog(tmp_path, clock=lambda: now[0])
    assert log.best_time() == (1_800_000_000, True)
    now[0] = 86_400.0  # rebooted without an RTC: 1970
    best, trusted = log.best_time()
    assert (best, trusted) == (1_800_000_000, False)  # never goes back
    log.record_play("x")
    env = log.seal(_build(SigningKey.generate(), 1))[1]
    c = verify_checkin(env).checkin
    assert not c.clock_trusted and c.sent == 1_800_000_000
