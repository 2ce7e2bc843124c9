"""The box's outbox of check-ins: each one stays on disk until a seeder acknowledged it.

::

    <state>/checkins/<seq, 20 digits>.checkin   one signed check-in per file, written atomically
    <state>/checkins/last-seq                   the last sequence number handed out

Boxes run offline for days (screenings) and lose power without warning, so the outbox must
survive both; the seeder's answer can be lost too. Delivery is therefore at least once from the
box and exactly once in effect: the seeder keeps check-ins by (box id, seq) and answers a re-sent
one as a duplicate, which the box takes as an acknowledgement.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from ..fs import atomic_write, fsync_dir, translated
from ..i18n import _
from ._model import MAX_CHECKIN_BYTES, verify_checkin

log = logging.getLogger(__name__)

MAX_PENDING = 5000
"""Check-ins kept while no seeder answers (a year of hourly ones is more than this): beyond it
the oldest are dropped, so a box cut off for good does not fill its disk."""
_ITEM = re.compile(r"(\d{20})\.checkin")
_LAST_SEQ = "last-seq"


class CheckinQueue:
    """The durable outbox under `<state_dir>/checkins`.

    Raises (every method):
        StorageError: the folder or a file cannot be read or written.
    """

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / "checkins"
        with translated(_("create the folder {path}").format(path=self.dir)):
            self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, seq: int) -> Path:
        return self.dir / f"{seq:020d}.checkin"

    def _seqs(self) -> list[int]:
        with translated(_("list the check-ins in {path}").format(path=self.dir)):
            names = [p.name for p in self.dir.iterdir()]
        return sorted(int(m.group(1)) for n in names if (m := _ITEM.fullmatch(n)))

    def next_seq(self, now: int) -> int:
        """Hand out the sequence number of the next check-in (persisted before it is returned).

        It is one more than the last one, and at least `now`: if the state directory is ever
        restored from an old backup, the numbers still move past the ones the seeder already
        holds instead of being refused as replays.
        """
        path = self.dir / _LAST_SEQ
        try:
            last = int(path.read_text(encoding="ascii"))
        except FileNotFoundError:
            last = 0
        except (OSError, ValueError) as e:
            log.warning("%s is unreadable (%s); numbering check-ins from the clock", path, e)
            last = 0
        queued = self._seqs()
        seq = max(last + 1, queued[-1] + 1 if queued else 1, now)
        atomic_write(path, str(seq).encode("ascii"))
        return seq

    def enqueue(self, envelope: bytes) -> int:
        """Store a check-in made by `make_checkin`; return its sequence number.

        Raises:
            TrustError: `envelope` is not a valid check-in (a bug in the caller).
            ValueError: another check-in with that sequence number is queued.
        """
        seq = verify_checkin(envelope).checkin.seq
        path = self._path(seq)
        if path.exists():
            with translated(_("read {path}").format(path=path)):
                if path.read_bytes() != envelope:
                    raise ValueError(f"check-in {seq} is already queued with other content")
            return seq
        atomic_write(path, envelope)
        seqs = self._seqs()
        for old in seqs[: max(0, len(seqs) - MAX_PENDING)]:
            log.warning("check-in outbox full (%d): dropping check-in %d", MAX_PENDING, old)
            self.ack(old)
        return seq

    def pending(self) -> list[tuple[int, bytes]]:
        """The queued check-ins, oldest first, as (seq, envelope bytes)."""
        out = []
        for seq in self._seqs():
            path = self._path(seq)
            with translated(_("read {path}").format(path=path)):
                try:
                    with path.open("rb") as f:
                        out.append((seq, f.read(MAX_CHECKIN_BYTES + 1)))
                except FileNotFoundError:
                    continue  # acknowledged meanwhile
        return out

    def ack(self, seq: int) -> None:
        """Forget a check-in the seeder took (or that can never be taken)."""
        with translated(_("delete {path}").format(path=self._path(seq))):
            self._path(seq).unlink(missing_ok=True)
            fsync_dir(self.dir)
