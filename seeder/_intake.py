"""Taking check-ins: verify, decide (accept, duplicate, or refuse), record, answer.

`judge` is the pure decision over what the database already holds; `CheckinIntake` is the shell
the feed server calls. Boxes re-send a check-in whose answer they lost, so an exact re-send of a
stored check-in is answered "duplicate" (200: the box deletes it); anything else that reuses or
goes below a stored sequence number is a replay and refused.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from keys import TrustError
from p2pdist.checkin import (
    ReplayError,
    UnknownBoxError,
    VerifiedCheckin,
    rejection_for,
    verify_checkin,
)
from p2pdist.i18n import _

from ._db import CheckinDB
from ._logfmt import kv
from ._metrics import SeederMetrics

log = logging.getLogger(__name__)


class Verdict(enum.Enum):
    ACCEPT = "accepted"
    DUPLICATE = "duplicate"


def judge(v: VerifiedCheckin, *, allowed: frozenset[str] | None, stored_digest: bytes | None,
          newest_seq: int | None) -> Verdict:
    """Decide on a verified check-in.

    Args:
        v: the check-in.
        allowed: the allow-list, or None to take any box.
        stored_digest: the digest stored for (box, seq), if that check-in was taken before.
        newest_seq: the box's newest stored seq, if any.

    Raises:
        UnknownBoxError: the box is not on the allow-list.
        ReplayError: the seq was taken with other content, or is below the newest one.
    """
    c = v.checkin
    if allowed is not None and c.box_id not in allowed:
        raise UnknownBoxError(
            _("box {box_id} is not on this seeder's allow-list").format(box_id=c.box_id[:16]))
    if stored_digest is not None:
        if stored_digest == v.digest:
            return Verdict.DUPLICATE
        raise ReplayError(
            _("box {box_id} already sent check-in {seq} with other content").format(
                box_id=c.box_id[:16], seq=c.seq))
    if newest_seq is not None and c.seq <= newest_seq:
        raise ReplayError(
            _("check-in {seq} of box {box_id} is older than its newest ({newest_seq})").format(
                seq=c.seq, box_id=c.box_id[:16], newest_seq=newest_seq))
    return Verdict.ACCEPT


class CheckinIntake:
    """The check-in endpoint of a seeder's feed (`FeedSource.checkin` delegates here).

    Args:
        db: where check-ins are recorded.
        allowed: the allow-list, or None.
        metrics: counters to bump.
        forward: queue accepted check-ins for the parent seeder.
        on_accepted: called after a check-in was recorded (wakes the forwarder).
        clock: the seeder's clock.
    """

    def __init__(self, db: CheckinDB, allowed: frozenset[str] | None, metrics: SeederMetrics,
                 *, forward: bool, on_accepted: Callable[[], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.allowed = allowed
        self.metrics = metrics
        self.forward = forward
        self.on_accepted = on_accepted
        self.clock = clock

    def take(self, body: bytes, peer: str) -> tuple[int, Mapping[str, Any]]:
        """Handle one posted check-in; the HTTP status and JSON answer.

        Raises:
            StorageError: the database failed (the feed server answers 500; the box retries).
        """
        v: VerifiedCheckin | None = None
        try:
            v = verify_checkin(body)
            digest, newest = self.db.lookup(v.checkin.box_id, v.checkin.seq)
            verdict = judge(v, allowed=self.allowed, stored_digest=digest, newest_seq=newest)
        except TrustError as e:
            rejection = rejection_for(e)
            self.metrics.rejected.labels(rejection.reason).inc()
            log.warning(kv("checkin_rejected", reason=rejection.reason, peer=peer,
                           box=v.checkin.box_id if v else None,
                           seq=v.checkin.seq if v else None, detail=e))
            return rejection.status, {"status": "rejected", "reason": rejection.reason}
        c = v.checkin
        if verdict is Verdict.ACCEPT:
            self.db.store(v, received=self.clock(), peer=peer, forward=self.forward)
            if newest is None:
                self.metrics.boxes_seen.inc()
            self.on_accepted()
        self.metrics.checkins.labels(verdict.value).inc()
        log.info(kv(f"checkin_{verdict.value}", box=c.box_id, seq=c.seq, site=c.site,
                    peer=peer))
        return 200, {"status": verdict.value, "seq": c.seq}
