"""WAN rate schedule: which upload/download cap applies at a given time of day (pure).

Township links are thin and shared with the station's own use during office hours, so the center
caps peer-to-peer traffic to WAN peers by time window while LAN peers always run at full speed.
This module only parses and answers "what cap now?"; the swarm applies the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from p2pdist.errors import ConfigError
from p2pdist.i18n import _

_MINUTES_PER_DAY = 24 * 60

# Bit units are case-insensitive ("2mbit" == "2Mbit"); byte units need an upper-case "B" so that
# "Mb" (megabit or megabyte?) is rejected instead of guessed.
_BIT_UNITS = {"bit": 1, "kbit": 10**3, "mbit": 10**6, "gbit": 10**9}
_BYTE_UNITS = {
    "B": 1,
    "KB": 10**3,
    "kB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
}
_AMOUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class RateLimit:
    """Upload and download caps in bytes per second; 0 means unlimited."""

    up: int = 0
    down: int = 0


@dataclass(frozen=True)
class RateWindow:
    """A daily window [start, end) in minutes after midnight; end < start wraps past midnight."""

    start: int
    end: int
    limit: RateLimit

    def contains(self, minute: int) -> bool:
        """Whether `minute` (0..1439 after midnight) falls inside the window."""
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


@dataclass(frozen=True)
class WanSchedule:
    """Caps for WAN peers by time of day; outside every window `default` applies.

    Syntax of `WanSchedule.parse` (entries separated by ";" or given as a list):

    - ``RATE@HH:MM-HH:MM``: from HH:MM (inclusive) to HH:MM (exclusive), local time of day. A
      window whose end is before its start wraps past midnight ("22:00-06:00"); "24:00" is
      accepted as an end.
    - ``RATE`` alone: the default outside all windows (unlimited if not given).
    - RATE is ``AMOUNT`` for both directions, or ``up=AMOUNT,down=AMOUNT`` (either part may be
      left out: it is then unlimited). AMOUNT is a number and a unit: ``bit kbit Mbit Gbit``
      (bits per second, decimal; case-insensitive) or ``B KB MB GB KiB MiB GiB`` (bytes per
      second), or ``unlimited``.

    Example: ``"2Mbit@08:00-18:00; up=512kbit,down=8Mbit@18:00-22:00"``. The first window that
    contains a time wins.
    """

    windows: tuple[RateWindow, ...] = ()
    default: RateLimit = RateLimit()

    @classmethod
    def parse(cls, spec: str | Iterable[str]) -> WanSchedule:
        """Parse the syntax above.

        Raises:
            ConfigError: an entry is malformed; the message quotes it and shows the syntax.
        """
        entries = spec.split(";") if isinstance(spec, str) else list(spec)
        windows: list[RateWindow] = []
        default: RateLimit | None = None
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            rate_text, at, window_text = entry.partition("@")
            limit = _parse_rate(rate_text, entry)
            if at:
                start, end = _parse_window(window_text, entry)
                windows.append(RateWindow(start, end, limit))
            elif default is not None:
                raise _entry_error(entry, _("more than one default rate (an entry without '@')"))
            else:
                default = limit
        return cls(tuple(windows), default if default is not None else RateLimit())

    def limits_at(self, when: datetime) -> tuple[int, int]:
        """(upload, download) caps in bytes per second at `when`'s time of day; 0 = unlimited."""
        minute = when.hour * 60 + when.minute
        for window in self.windows:
            if window.contains(minute):
                return window.limit.up, window.limit.down
        return self.default.up, self.default.down


def format_rate(bytes_per_s: int) -> str:
    """A cap for people: "unlimited" or megabits per second, the unit links are sold in."""
    if bytes_per_s == 0:
        return _("unlimited")
    return f"{bytes_per_s * 8 / 1e6:g} Mbit/s"


def _entry_error(entry: str, why: str) -> ConfigError:
    return ConfigError(
        _(
            "bad WAN schedule entry {entry!r}: {why}. Expected e.g. '2Mbit@08:00-18:00', "
            "'up=1Mbit,down=4Mbit@22:00-06:00' or a default rate such as '8Mbit'"
        ).format(entry=entry, why=why)
    )


def _parse_rate(text: str, entry: str) -> RateLimit:
    text = text.strip()
    if "=" not in text:
        amount = _parse_amount(text, entry)
        return RateLimit(amount, amount)
    parts: dict[str, int] = {}
    for part in text.split(","):
        direction, eq, amount_text = part.partition("=")
        direction = direction.strip().lower()
        if not eq or direction not in ("up", "down"):
            why = _("{part!r} is not up=AMOUNT or down=AMOUNT").format(part=part)
            raise _entry_error(entry, why)
        if direction in parts:
            raise _entry_error(entry, _("{d} is given twice").format(d=direction))
        parts[direction] = _parse_amount(amount_text, entry)
    return RateLimit(parts.get("up", 0), parts.get("down", 0))


def _parse_amount(text: str, entry: str) -> int:
    """Bytes per second for AMOUNT; 0 for unlimited."""
    if text.strip().lower() == "unlimited":
        return 0
    m = _AMOUNT.match(text)
    if m is None:
        raise _entry_error(entry, _("{t!r} is not a number with a unit").format(t=text.strip()))
    number, unit = float(m.group(1)), m.group(2)
    if unit.lower() in _BIT_UNITS:
        value = number * _BIT_UNITS[unit.lower()] / 8
    elif unit in _BYTE_UNITS:
        value = number * _BYTE_UNITS[unit]
    else:
        why = _("unknown unit {u!r}; write Mbit for megabits or MB for megabytes").format(u=unit)
        raise _entry_error(entry, why)
    if value < 1:
        raise _entry_error(entry, _("a cap under 1 byte/s; write 'unlimited' for no cap"))
    return round(value)


def _parse_window(text: str, entry: str) -> tuple[int, int]:
    m = _WINDOW.match(text)
    if m is None:
        raise _entry_error(entry, _("{t!r} is not a window HH:MM-HH:MM").format(t=text.strip()))
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise _entry_error(entry, _("a time is outside 00:00-24:00"))
    start, end = h1 * 60 + m1, (h2 * 60 + m2) % _MINUTES_PER_DAY
    if start == end:
        raise _entry_error(
            entry, _("the window starts and ends at the same time; for all day omit '@...'")
        )
    return start, end
