"""Sending the outbox to a seeder, oldest first, acknowledging each check-in it took."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import trio

from ..errors import TransferError
from ..feeds import BadResponseError, FeedClient
from ..i18n import _
from ._errors import FINAL_STATUSES
from ._model import MAX_CHECKIN_BYTES
from ._queue import CheckinQueue

log = logging.getLogger(__name__)

ACCEPTED = frozenset({"accepted", "duplicate"})
"""Answers that acknowledge a check-in: stored now, or stored by an earlier send."""


@dataclass(frozen=True)
class DeliveryReport:
    """What one `deliver` did.

    Attributes:
        sent: check-ins the seeder took (including ones it already had).
        dropped: check-ins the seeder refused for good (malformed, replayed, oversized).
        pending: check-ins still queued.
        error: why delivery stopped early, or None when the queue was emptied.
    """

    sent: int
    dropped: int
    pending: int
    error: str | None


async def deliver(queue: CheckinQueue, client: FeedClient) -> DeliveryReport:
    """Send every queued check-in in order; acknowledge each one the seeder took.

    Stops at the first failure (seeder unreachable, busy, or refusing this box for now) and keeps
    that check-in and the later ones for the next call, so order is kept. A check-in the seeder
    refuses for good (see `FINAL_STATUSES`) is dropped with a warning, or it would block the
    outbox forever.

    Raises:
        StorageError: the queue cannot be read or updated.
    """
    items = await trio.to_thread.run_sync(queue.pending)
    sent = dropped = 0
    error: str | None = None
    for seq, body in items:
        if len(body) > MAX_CHECKIN_BYTES:
            log.warning(
                _("check-in {seq} is larger than {max_checkin_bytes} bytes; dropped").format(
                    seq=seq, max_checkin_bytes=MAX_CHECKIN_BYTES))
            await trio.to_thread.run_sync(queue.ack, seq)
            dropped += 1
            continue
        try:
            answer = await client.post_checkin(body)
        except BadResponseError as e:
            if e.status in FINAL_STATUSES:
                log.warning(
                    _("check-in {seq} refused for good (HTTP {status}); dropped: {e}").format(
                        seq=seq, status=e.status, e=e))
                await trio.to_thread.run_sync(queue.ack, seq)
                dropped += 1
                continue
            error = str(e)
            break
        except TransferError as e:
            error = str(e)
            break
        if answer.get("status") not in ACCEPTED:
            error = _("the seeder's answer to check-in {seq} is not an acknowledgement").format(
                seq=seq)
            break
        await trio.to_thread.run_sync(queue.ack, seq)
        sent += 1
    return DeliveryReport(sent, dropped, len(items) - sent - dropped, error)
