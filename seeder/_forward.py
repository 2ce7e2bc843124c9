"""Passing accepted check-ins up to the parent seeder, once, in order, surviving restarts.

The queue is a table of the check-in database, filled in the same transaction that accepts a
check-in, so nothing accepted is ever lost for the parent. The envelope goes up exactly as the
box signed it: the parent verifies the box's own signature and deduplicates by (box, seq), so a
re-send after a lost answer is harmless. Failures back off exponentially (the parent may be down
for days); a check-in the parent refuses for good is dropped, or it would block all the others.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

import trio

from p2pdist.checkin import ACCEPTED, FINAL_STATUSES
from p2pdist.errors import TransferError
from p2pdist.feeds import BadResponseError, FeedClient
from p2pdist.i18n import _

from ._db import CheckinDB, ForwardItem
from ._logfmt import kv
from ._metrics import SeederMetrics

log = logging.getLogger(__name__)

BACKOFF_S = 2.0
MAX_BACKOFF_S = 600.0


def retry_delay(attempts: int, base_s: float = BACKOFF_S, cap_s: float = MAX_BACKOFF_S) -> float:
    """Seconds before the next try after `attempts` failures: doubling, capped."""
    return cap_s if attempts >= 32 else min(cap_s, base_s * 2 ** attempts)


class Forwarder:
    """Delivers the forward queue to `url`. Start with ``await nursery.start(forwarder.run)``."""

    def __init__(self, db: CheckinDB, url: str, metrics: SeederMetrics, *,
                 clock: Callable[[], float] = time.time, backoff_s: float = BACKOFF_S) -> None:
        self.db = db
        self.url = url
        self.metrics = metrics
        self.clock = clock
        self.backoff_s = backoff_s
        self._wake = trio.Event()

    def wake(self) -> None:
        """Something was queued: stop idling (a pending backoff still applies)."""
        self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with FeedClient(self.url, timeout_s=10, retries=0) as client:
            task_status.started()
            while True:
                self.metrics.forward_pending.set(self.db.forward_pending())
                item = self.db.next_forward()
                wait = math.inf if item is None else item.next_at - self.clock()
                if wait > 0:
                    with trio.move_on_after(wait):
                        await self._wake.wait()
                    self._wake = trio.Event()
                    continue
                assert item is not None
                await self._send(client, item)

    async def _send(self, client: FeedClient, item: ForwardItem) -> None:
        try:
            answer = await client.post_checkin(item.envelope)
        except BadResponseError as e:
            if e.status in FINAL_STATUSES:
                log.warning(kv("forward_dropped", box=item.box_id, seq=item.seq, status=e.status,
                               detail=e))
                self.db.forward_done(item.id)
                return
            self._later(item, e)
            return
        except TransferError as e:
            self._later(item, e)
            return
        if answer.get("status") not in ACCEPTED:
            self._later(item, ValueError(
                _("unexpected answer {get!r}").format(get=answer.get('status'))))
            return
        self.db.forward_done(item.id)
        log.info(kv("forwarded", box=item.box_id, seq=item.seq, to=self.url))

    def _later(self, item: ForwardItem, error: Exception) -> None:
        delay = retry_delay(item.attempts, self.backoff_s)
        self.db.forward_later(item.id, self.clock() + delay)
        log.warning(kv("forward_failed", box=item.box_id, seq=item.seq, to=self.url,
                       attempt=item.attempts + 1, retry_in_s=round(delay, 1), detail=error))
