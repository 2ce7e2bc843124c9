"""The check-in fields the station's web added: service data per day, 点单, the clock flag, and
a channel's rate and problem; older check-ins without them still read."""

from __future__ import annotations

import pytest
from checkin_helpers import CHANNEL, body_of, checkin, sign_body

from keys import MalformedError, SigningKey
from p2pdist.checkin import ChannelReport, verify_checkin

KEY = SigningKey.generate()


def test_service_fields_round_trip() -> None:
    c = verify_checkin(checkin(
        KEY, channels={CHANNEL: ChannelReport(1, "downloading", 0.5, 250_000,
                                              "NetworkError: the seeder\ndid not answer")},
        days={"2027-01-28": 15, "2027-01-29": 3}, requests={"theme:戏曲": 2, "wish:多放电影": 1},
        clock_trusted=False)).checkin
    assert dict(c.days) == {"2027-01-28": 15, "2027-01-29": 3}
    assert dict(c.requests) == {"theme:戏曲": 2, "wish:多放电影": 1}
    assert not c.clock_trusted
    r = c.channels[CHANNEL]
    assert (r.rate, r.problem) == (250_000, "NetworkError: the seeder did not answer")


def test_a_check_in_without_the_new_fields_still_reads() -> None:
    body = body_of(KEY)
    del body["clock"], body["counters"]["days"], body["counters"]["requests"]
    for ch in body["channels"].values():
        del ch["rate"], ch["problem"]
    c = verify_checkin(sign_body(body, KEY)).checkin
    assert c.clock_trusted and dict(c.days) == {} and dict(c.requests) == {}


@pytest.mark.parametrize(("path", "value"), [
    (("counters", "days"), {"yesterday": 1}),
    (("counters", "days"), {"2027-01-28": -1}),
    (("counters", "requests"), {"url:http://x": 1}),
    (("counters", "requests"), {"wish:" + "长" * 200: 1}),
    (("counters", "requests"), {"wish:\n": 1}),
    (("clock",), {"trusted": 2}),
    (("clock",), {"trusted": 1, "offset": 3}),
])
def test_malformed_service_fields_are_refused(path: tuple[str, ...], value: object) -> None:
    body = body_of(KEY)
    target = body
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    with pytest.raises(MalformedError):
        verify_checkin(sign_body(body, KEY))


def test_the_builder_drops_request_keys_it_cannot_report() -> None:
    c = verify_checkin(checkin(KEY, requests={"url:x": 1, "wish:" + "x" * 500: 1,
                                              "kind:film": 3})).checkin
    assert dict(c.requests) == {"kind:film": 3}


def test_a_full_check_in_keeps_the_most_played_and_most_asked() -> None:
    plays = {f"节目{i:03d}" + "长" * 150: i for i in range(256)}
    requests = {"wish:" + f"{i:03d}" + "愿" * 150: i + 1 for i in range(64)}
    c = verify_checkin(checkin(KEY, plays=plays, requests=requests)).checkin
    assert c.plays and c.requests
    assert max(requests.values()) in c.requests.values()
    assert max(plays.values()) in c.plays.values()
