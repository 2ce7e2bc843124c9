"""The box's service data: plays per title and day, and 点单 requests, until a check-in takes them.

::

    <state>/service.sqlite   counts not yet reported, and check-ins sealed but not yet queued

Aggregate only: a play adds one to (day, title), a request one to (day, key); nothing about who
asked is stored, not even an address. The station's web writes here (`record_play`,
`record_request`); the check-in loop takes everything in `seal`.

Exactly once: `seal` builds the check-in and, in the same SQLite transaction, stores it and
deletes the counts it carries; the caller then queues it in the outbox and calls `sealed_done`.
After a crash in between, `sealed()` hands the same bytes back to be queued again: queuing is
idempotent, and a seeder that already took that check-in answers "duplicate". So a count is
never lost and never reported twice.

Boxes may have no real-time clock: `best_time` never goes below a time seen earlier, and
`clock_trusted` says whether the clock looked plausible (see `CLOCK_FLOOR`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import StorageError
from ..i18n import _

CLOCK_FLOOR = 1_767_225_600
"""2026-01-01 UTC: a box whose clock says earlier booted without a real-time clock."""
CLOCK_SLACK_S = 300
_SCHEMA = """
CREATE TABLE IF NOT EXISTS plays (day TEXT NOT NULL, title TEXT NOT NULL, n INTEGER NOT NULL,
                                  PRIMARY KEY (day, title));
CREATE TABLE IF NOT EXISTS requests (day TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,
                                     PRIMARY KEY (day, key));
CREATE TABLE IF NOT EXISTS sealed (seq INTEGER PRIMARY KEY, envelope BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class ServiceReport:
    """What one check-in carries of the service data.

    Attributes:
        plays: plays per title.
        days: plays per calendar day ("YYYY-MM-DD", by the box's clock).
        requests: 点单 counts per key (``kind:...``, ``theme:...``, ``wish:...``).
        time: the box's best time now (Unix seconds, never below one seen before).
        clock_trusted: whether the box's clock looked right when it was read.
    """

    plays: dict[str, int] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    time: int = 0
    clock_trusted: bool = True


def day_of(t: float) -> str:
    """The UTC calendar day of Unix time `t` (boxes keep UTC; days are for aggregation)."""
    return time.strftime("%Y-%m-%d", time.gmtime(t))


class ServiceLog:
    """The counters under `<state_dir>/service.sqlite` (one connection, the event loop's).

    Raises (every method):
        StorageError: the database cannot be opened, read or written.
    """

    def __init__(self, state_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = state_dir / "service.sqlite"
        self.clock = clock
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise StorageError(_("cannot open the service counters {path}: {err}").format(
                path=self.path, err=e)) from e

    def close(self) -> None:
        self._conn.close()

    def _tx(self, fn: Callable[[sqlite3.Connection], object]) -> object:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return out
        except sqlite3.Error as e:
            raise StorageError(_("service counters {path}: {err}").format(
                path=self.path, err=e)) from e

    def best_time(self) -> tuple[int, bool]:
        """(the box's best time now, whether its clock is trusted), remembering the time."""
        now = int(self.clock())

        def run(c: sqlite3.Connection) -> tuple[int, bool]:
            row = c.execute("SELECT v FROM meta WHERE k = 'last_time'").fetchone()
            last = int(row[0]) if row else 0
            best = max(now, last)
            c.execute("INSERT OR REPLACE INTO meta VALUES ('last_time', ?)", (best,))
            return best, now >= CLOCK_FLOOR and now + CLOCK_SLACK_S >= last

        out = self._tx(run)
        assert isinstance(out, tuple)
        return out

    def record_play(self, title: str) -> None:
        """Count one play of `title` today."""
        self._bump("plays", "title", title)

    def record_request(self, key: str) -> None:
        """Count one 点单 request (`key` as `ServiceReport.requests` names them)."""
        self._bump("requests", "key", key)

    def _bump(self, table: str, column: str, value: str) -> None:
        day = day_of(self.best_time()[0])
        self._tx(lambda c: c.execute(
            f"INSERT INTO {table} (day, {column}, n) VALUES (?, ?, 1) "
            f"ON CONFLICT (day, {column}) DO UPDATE SET n = n + 1", (day, value)))

    def pending(self) -> ServiceReport:
        """What the next check-in would carry (for the library's own page and tests)."""
        return self._report(self._conn)

    def _report(self, c: sqlite3.Connection) -> ServiceReport:
        plays: dict[str, int] = {}
        days: dict[str, int] = {}
        for day, title, n in c.execute("SELECT day, title, n FROM plays"):
            plays[title] = plays.get(title, 0) + n
            days[day] = days.get(day, 0) + n
        requests: dict[str, int] = {}
        for key, n in c.execute("SELECT key, sum(n) FROM requests GROUP BY key"):
            requests[key] = n
        return ServiceReport(plays, days, requests)

    def seal(self, build: Callable[[ServiceReport], tuple[int, bytes]]) -> tuple[int, bytes]:
        """Build the next check-in around the counts, and take the counts out, atomically.

        Args:
            build: makes the signed check-in from the report; returns (seq, envelope).

        Returns:
            What `build` returned: queue it, then call `sealed_done(seq)`.
        """
        best, trusted = self.best_time()

        def run(c: sqlite3.Connection) -> tuple[int, bytes]:
            r = self._report(c)
            seq, envelope = build(ServiceReport(r.plays, r.days, r.requests, best, trusted))
            c.execute("INSERT INTO sealed VALUES (?, ?)", (seq, envelope))
            c.execute("DELETE FROM plays")
            c.execute("DELETE FROM requests")
            return seq, envelope

        out = self._tx(run)
        assert isinstance(out, tuple)
        return out

    def sealed(self) -> list[tuple[int, bytes]]:
        """Check-ins sealed but perhaps not queued (after a crash): queue them again."""
        return [(int(s), bytes(e)) for s, e in
                self._conn.execute("SELECT seq, envelope FROM sealed ORDER BY seq")]

    def sealed_done(self, seq: int) -> None:
        """The check-in `seq` is in the outbox: forget its sealed copy."""
        self._tx(lambda c: c.execute("DELETE FROM sealed WHERE seq = ?", (seq,)))
