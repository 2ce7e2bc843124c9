"""The seeder's check-in database (SQLite, WAL): what boxes reported, and what is still to be
passed upstream.

One file, ``<data>/state/seeder.sqlite``. Every accepted check-in is one transaction that
records it, updates its box, and (on a seeder with a parent) queues it for forwarding, so a crash
never leaves it half-taken; commits are synchronous (``synchronous=FULL``) because the box
deletes its copy once we answer. Only the body digest of each check-in is kept (enough to tell a
re-send from a replay); the envelope itself stays only until it was forwarded.

The service uses one connection from the event loop: each statement is a small indexed write,
far below a millisecond of work besides the commit's fsync. `seeder status` opens its own
connection; WAL lets it read while the service writes.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from p2pdist.checkin import ChannelReport, VerifiedCheckin
from p2pdist.errors import ConfigError, CorruptStateError, StorageError
from p2pdist.i18n import _

from ._rollout import BoxRecord

SCHEMA_VERSION = 2
_SCHEMA_V2 = """
ALTER TABLE box_channels ADD COLUMN rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE box_channels ADD COLUMN problem TEXT NOT NULL DEFAULT '';
ALTER TABLE boxes ADD COLUMN clock_trusted INTEGER NOT NULL DEFAULT 1;
CREATE TABLE IF NOT EXISTS requests (
    box_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    key TEXT NOT NULL,
    count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS play_days (
    box_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    day TEXT NOT NULL,
    count INTEGER NOT NULL
);
"""
"""Version 2 (the station's web): download rate and problem per channel, the box's clock flag,
点单 requests and plays per day."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS boxes (
    box_id TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    site TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    last_seq INTEGER NOT NULL,
    last_sent INTEGER NOT NULL,
    last_peer TEXT NOT NULL,
    free_disk INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS box_channels (
    box_id TEXT NOT NULL REFERENCES boxes (box_id),
    channel TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    progress REAL NOT NULL,
    PRIMARY KEY (box_id, channel)
);
CREATE TABLE IF NOT EXISTS checkins (
    box_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sent INTEGER NOT NULL,
    received REAL NOT NULL,
    peer TEXT NOT NULL,
    digest BLOB NOT NULL,
    UNIQUE (box_id, seq)
);
CREATE TABLE IF NOT EXISTS plays (
    box_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    title TEXT NOT NULL,
    count INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS plays_title ON plays (title);
CREATE TABLE IF NOT EXISTS forward_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    box_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    envelope BLOB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0
);
"""


def db_path(data: Path) -> Path:
    """Where the check-in database of the seeder with data directory `data` lives."""
    return data / "state" / "seeder.sqlite"


def _int(x: object) -> int:
    assert isinstance(x, int), x
    return x


def _str(x: object) -> str:
    assert isinstance(x, str), x
    return x


def _float(x: object) -> float:
    assert isinstance(x, int | float), x
    return float(x)


@dataclass(frozen=True)
class ForwardItem:
    """A check-in waiting to go upstream."""

    id: int
    box_id: str
    seq: int
    envelope: bytes
    attempts: int
    next_at: float


class CheckinDB:
    """The database; open with `CheckinDB.open` (service) or `CheckinDB.open_existing` (status).

    Raises (every method):
        StorageError: SQLite failed (disk full, permissions, a damaged file).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: Path) -> CheckinDB:
        """Open the database, creating it (and its folder) if needed."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CorruptStateError(_(
                    "{path} was written by a newer p2pdist (schema {v}); update p2pdist")
                    .format(path=path, v=version))
            with conn:
                conn.executescript(_SCHEMA)
                if version < 2:
                    conn.executescript(_SCHEMA_V2)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (OSError, sqlite3.Error) as e:
            raise StorageError(_("cannot open the check-in database {path}: {err}").format(
                path=path, err=e)) from e
        return cls(conn, path)

    @classmethod
    def open_existing(cls, path: Path) -> CheckinDB:
        """Open for reading what a seeder recorded.

        Raises:
            ConfigError: there is no database at `path` (not a seeder's data directory).
        """
        if not path.is_file():
            raise ConfigError(_("no check-in database at {path}: is this a seeder's data "
                                "directory, and has the seeder run?").format(path=path))
        try:
            conn = sqlite3.connect(path)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as e:
            raise StorageError(_("cannot open the check-in database {path}: {err}").format(
                path=path, err=e)) from e
        if version != SCHEMA_VERSION:
            conn.close()
            raise CorruptStateError(_("{path} has schema {v}; this p2pdist reads schema {want}")
                                    .format(path=path, v=version, want=SCHEMA_VERSION))
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise StorageError(_("check-in database {path}: {err}").format(
                path=self.path, err=e)) from e

    # Intake.

    def lookup(self, box_id: str, seq: int) -> tuple[bytes | None, int | None]:
        """(the digest stored for this check-in, the box's newest seq), each None if unknown."""
        row = self._run("SELECT digest FROM checkins WHERE box_id = ? AND seq = ?",
                        (box_id, seq))
        newest = self._run("SELECT last_seq FROM boxes WHERE box_id = ?", (box_id,))
        digest = row[0][0] if row else None
        assert digest is None or isinstance(digest, bytes)
        return digest, _int(newest[0][0]) if newest else None

    def store(self, v: VerifiedCheckin, *, received: float, peer: str, forward: bool) -> None:
        """Record an accepted check-in (newer than any stored for its box) in one transaction."""
        c = v.checkin
        try:
            with self._conn:
                self._conn.execute(
                    "INSERT INTO boxes (box_id, public_key, site, first_seen, last_seen, "
                    "last_seq, last_sent, last_peer, free_disk, clock_trusted) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (box_id) "
                    "DO UPDATE SET site = excluded.site, last_seen = excluded.last_seen, "
                    "last_seq = excluded.last_seq, last_sent = excluded.last_sent, "
                    "last_peer = excluded.last_peer, free_disk = excluded.free_disk, "
                    "clock_trusted = excluded.clock_trusted",
                    (c.box_id, c.box_key, c.site, received, received, c.seq, c.sent, peer,
                     c.free_disk, int(c.clock_trusted)))
                self._conn.execute(
                    "INSERT INTO checkins VALUES (?, ?, ?, ?, ?, ?)",
                    (c.box_id, c.seq, c.sent, received, peer, v.digest))
                self._conn.execute("DELETE FROM box_channels WHERE box_id = ?", (c.box_id,))
                self._conn.executemany(
                    "INSERT INTO box_channels (box_id, channel, version, state, progress, rate, "
                    "problem) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(c.box_id, ch, r.version, r.state, r.progress, r.rate, r.problem)
                     for ch, r in c.channels.items()])
                self._conn.executemany(
                    "INSERT INTO requests VALUES (?, ?, ?, ?)",
                    [(c.box_id, c.seq, k, n) for k, n in c.requests.items() if n > 0])
                self._conn.executemany(
                    "INSERT INTO play_days VALUES (?, ?, ?, ?)",
                    [(c.box_id, c.seq, d, n) for d, n in c.days.items() if n > 0])
                self._conn.executemany(
                    "INSERT INTO plays VALUES (?, ?, ?, ?, ?, ?)",
                    [(c.box_id, c.seq, title, n, c.window[0], c.window[1])
                     for title, n in c.plays.items() if n > 0])
                if forward:
                    self._conn.execute(
                        "INSERT INTO forward_queue (box_id, seq, envelope) VALUES (?, ?, ?)",
                        (c.box_id, c.seq, v.envelope))
        except sqlite3.Error as e:
            raise StorageError(_("check-in database {path}: {err}").format(
                path=self.path, err=e)) from e

    # Forwarding.

    def next_forward(self) -> ForwardItem | None:
        """The oldest check-in not yet forwarded (strict order: per box, seqs must go up)."""
        rows = self._run("SELECT id, box_id, seq, envelope, attempts, next_at FROM forward_queue "
                         "ORDER BY id LIMIT 1")
        if not rows:
            return None
        i, box_id, seq, envelope, attempts, next_at = rows[0]
        assert isinstance(envelope, bytes)
        return ForwardItem(_int(i), _str(box_id), _int(seq), envelope, _int(attempts),
                           _float(next_at))

    def forward_done(self, item_id: int) -> None:
        with self._conn:
            self._run("DELETE FROM forward_queue WHERE id = ?", (item_id,))

    def forward_later(self, item_id: int, next_at: float) -> None:
        with self._conn:
            self._run("UPDATE forward_queue SET attempts = attempts + 1, next_at = ? WHERE id = ?",
                      (next_at, item_id))

    def forward_pending(self) -> int:
        return _int(self._run("SELECT count(*) FROM forward_queue")[0][0])

    # Reporting.

    def box_count(self) -> int:
        return _int(self._run("SELECT count(*) FROM boxes")[0][0])

    def checkin_count(self) -> int:
        return _int(self._run("SELECT count(*) FROM checkins")[0][0])

    def boxes(self) -> list[BoxRecord]:
        reports: dict[str, dict[str, ChannelReport]] = {}
        for box_id, channel, version, state, progress, rate, problem in self._run(
                "SELECT box_id, channel, version, state, progress, rate, problem "
                "FROM box_channels"):
            reports.setdefault(_str(box_id), {})[_str(channel)] = ChannelReport(
                _int(version), _str(state), _float(progress), _int(rate), _str(problem))
        out = []
        for box_id, site, first, last, seq, free, trusted, peer in self._run(
                "SELECT box_id, site, first_seen, last_seen, last_seq, free_disk, clock_trusted, "
                "last_peer FROM boxes"):
            out.append(BoxRecord(_str(box_id), _str(site), _float(first), _float(last),
                                 _int(seq), _int(free), reports.get(_str(box_id), {}),
                                 bool(trusted), _str(peer)))
        return out

    def top_titles(self, limit: int) -> list[tuple[str, int]]:
        rows = self._run("SELECT title, sum(count) AS n FROM plays GROUP BY title "
                         "ORDER BY n DESC, title LIMIT ?", (limit,))
        return [(_str(t), _int(n)) for t, n in rows]

    def plays_by_box(self) -> dict[str, dict[str, int]]:
        """Per box, plays per title (all check-ins together)."""
        out: dict[str, dict[str, int]] = {}
        for box_id, title, n in self._run("SELECT box_id, title, sum(count) FROM plays "
                                          "GROUP BY box_id, title"):
            out.setdefault(_str(box_id), {})[_str(title)] = _int(n)
        return out

    def days_by_box(self) -> dict[str, dict[str, int]]:
        """Per box, plays per day (the box's calendar)."""
        out: dict[str, dict[str, int]] = {}
        for box_id, day, n in self._run("SELECT box_id, day, sum(count) FROM play_days "
                                        "GROUP BY box_id, day"):
            out.setdefault(_str(box_id), {})[_str(day)] = _int(n)
        return out

    def requests_by_box(self) -> dict[str, dict[str, int]]:
        """Per box, 点单 counts per key."""
        out: dict[str, dict[str, int]] = {}
        for box_id, key, n in self._run("SELECT box_id, key, sum(count) FROM requests "
                                        "GROUP BY box_id, key"):
            out.setdefault(_str(box_id), {})[_str(key)] = _int(n)
        return out

    def site_plays(self) -> dict[str, int]:
        rows = self._run("SELECT boxes.site, sum(plays.count) FROM plays JOIN boxes "
                         "USING (box_id) GROUP BY boxes.site")
        return {_str(site): _int(n) for site, n in rows}
