"""The pure parts: the /info document, strict JSON objects, and the backoff schedule."""

from __future__ import annotations

from typing import Any

import pytest

from p2pdist.feeds import FeedInfo
from p2pdist.feeds._api import MAX_INFO_CHANNELS, parse_json_object
from p2pdist.feeds._fetch import backoff_delay

GOOD: dict[str, Any] = {
    "api": 1,
    "node_id": "seeder-hunan",
    "role": "seeder",
    "channels": {"national/winter-2027": 3, "province/hunan": 0},
    "swarm_port": 6881,
    "root_version": 2,
}


def test_info_round_trips_and_ignores_unknown_keys() -> None:
    info = FeedInfo.from_json({**GOOD, "future": [1, 2]})
    assert info.role == "seeder"
    assert info.channels == {"national/winter-2027": 3, "province/hunan": 0}
    assert info.to_json() == GOOD


def test_info_channels_are_a_frozen_copy() -> None:
    channels = {"national/a": 1}
    info = FeedInfo("n", "box", channels, 0, 1)
    channels["national/b"] = 2
    assert dict(info.channels) == {"national/a": 1}
    with pytest.raises(TypeError):
        info.channels["national/c"] = 3  # type: ignore[index]


@pytest.mark.parametrize(
    "change",
    [
        {"api": 2},
        {"api": True},
        {"api": "1"},
        {"node_id": ""},
        {"node_id": 5},
        {"node_id": "x" * 129},
        {"node_id": "a\x1b[31mb"},
        {"role": "king"},
        {"channels": []},
        {"channels": {"../etc": 1}},
        {"channels": {"National/A": 1}},
        {"channels": {"national/a": -1}},
        {"channels": {"national/a": True}},
        {"channels": {"national/a": 1.5}},
        {"channels": {f"c/{i}": 1 for i in range(MAX_INFO_CHANNELS + 1)}},
        {"swarm_port": 65536},
        {"swarm_port": "6881"},
        {"root_version": 0},
        {"root_version": None},
    ],
)
def test_info_rejects_bad_fields(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FeedInfo.from_json({**GOOD, **change})


@pytest.mark.parametrize("missing", ["node_id", "role", "channels", "swarm_port", "root_version"])
def test_info_rejects_missing_fields(missing: str) -> None:
    doc = dict(GOOD)
    del doc[missing]
    with pytest.raises(ValueError, match=missing):
        FeedInfo.from_json(doc)


def test_info_rejects_non_objects() -> None:
    with pytest.raises(ValueError):
        FeedInfo.from_json([GOOD])


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b"[]", b'"x"', b"\xff\xfe", b'{"a": NaN}', b'{"a": Infinity}', b"[" * 100_000],
)
def test_parse_json_object_rejects(data: bytes) -> None:
    with pytest.raises(ValueError):
        parse_json_object(data)


def test_parse_json_object_accepts_utf8() -> None:
    assert parse_json_object('{"标题": "过年好"}'.encode()) == {"标题": "过年好"}


def test_backoff_doubles_caps_and_jitters() -> None:
    assert [backoff_delay(n, 0.5, 8, 1.0) for n in range(7)] == [0.5, 1, 2, 4, 8, 8, 8]
    assert backoff_delay(2, 0.5, 8, 0.0) == 1.0
    assert backoff_delay(10_000, 0.5, 8, 0.5) == 6.0
    assert backoff_delay(0, 0, 0, 0.7) == 0
