"""WanSchedule: parsing and limits_at (pure)."""

from __future__ import annotations

from datetime import datetime

import pytest

from p2pdist.errors import ConfigError
from p2pdist.swarm import RateLimit, RateWindow, WanSchedule

MBIT = 1_000_000 // 8


def at(hh: int, mm: int) -> datetime:
    return datetime(2025, 1, 20, hh, mm)


def test_empty_schedule_is_unlimited() -> None:
    assert WanSchedule().limits_at(at(12, 0)) == (0, 0)
    assert WanSchedule.parse("") == WanSchedule()


def test_window_applies_inside_and_default_outside() -> None:
    s = WanSchedule.parse("2Mbit@08:00-18:00; 8Mbit")
    assert s.windows == (RateWindow(8 * 60, 18 * 60, RateLimit(2 * MBIT, 2 * MBIT)),)
    assert s.limits_at(at(8, 0)) == (2 * MBIT, 2 * MBIT)  # start is inclusive
    assert s.limits_at(at(17, 59)) == (2 * MBIT, 2 * MBIT)
    assert s.limits_at(at(18, 0)) == (8 * MBIT, 8 * MBIT)  # end is exclusive
    assert s.limits_at(at(7, 59)) == (8 * MBIT, 8 * MBIT)


def test_window_wrapping_midnight() -> None:
    s = WanSchedule.parse(["up=1Mbit,down=4Mbit@22:00-06:00"])
    assert s.limits_at(at(23, 30)) == (MBIT, 4 * MBIT)
    assert s.limits_at(at(0, 0)) == (MBIT, 4 * MBIT)
    assert s.limits_at(at(5, 59)) == (MBIT, 4 * MBIT)
    assert s.limits_at(at(6, 0)) == (0, 0)


def test_first_matching_window_wins() -> None:
    s = WanSchedule.parse("1Mbit@09:00-10:00; 3Mbit@08:00-18:00")
    assert s.limits_at(at(9, 30)) == (MBIT, MBIT)
    assert s.limits_at(at(10, 0)) == (3 * MBIT, 3 * MBIT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8kbit", 1_000),
        ("2MBIT", 2 * MBIT),
        ("1Gbit", 125_000_000),
        ("512B", 512),
        ("3KB", 3_000),
        ("2MB", 2_000_000),
        ("1KiB", 1024),
        ("1.5MiB", 1_572_864),
        ("unlimited", 0),
    ],
)
def test_units(text: str, expected: int) -> None:
    assert WanSchedule.parse(text).default == RateLimit(expected, expected)


def test_one_direction_only_leaves_the_other_unlimited() -> None:
    assert WanSchedule.parse("down=1MB").default == RateLimit(0, 1_000_000)
    assert WanSchedule.parse("up=1MB@20:00-24:00").windows[0] == RateWindow(
        20 * 60, 0, RateLimit(1_000_000, 0)
    )


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("2Mb@08:00-18:00", "Mbit for megabits"),  # ambiguous unit
        ("2 parsecs", "unknown unit"),
        ("fast", "not a number"),
        ("2Mbit@8-18", "HH:MM-HH:MM"),
        ("2Mbit@25:00-26:00", "outside 00:00-24:00"),
        ("2Mbit@08:00-08:00", "same time"),
        ("1Mbit; 2Mbit", "more than one default"),
        ("left=1Mbit@08:00-09:00", "up=AMOUNT or down=AMOUNT"),
        ("up=1Mbit,up=2Mbit", "given twice"),
        ("1bit", "under 1 byte/s"),
    ],
)
def test_errors_say_what_is_wrong(spec: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as e:
        WanSchedule.parse(spec)
    assert fragment in str(e.value)
    assert "2Mbit@08:00-18:00" in str(e.value)  # and show the syntax
