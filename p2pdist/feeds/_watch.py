"""Watching one upstream feed: its info document, long-polled, handed on each time it changes.

Boxes watch their seeders and a province its origin, so a release offered upstream is known
downstream within a round trip (see `_hold`). The watcher only tells; the caller still polls
and verifies as before, so a watcher that fails or a node that does not hold costs nothing but
the old poll interval.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import trio

from ..errors import P2PDistError
from ..i18n import _
from ._api import FeedInfo
from ._client import FeedClient
from ._fetch import backoff_delay
from ._hold import MAX_HOLD_S

log = logging.getLogger(__name__)

MIN_GAP_S = 1.0
"""Never two requests to one node closer than this, whatever it answers."""
MAX_BACKOFF_S = 60.0


async def watch_info(url: str, on_info: Callable[[FeedInfo], None], *, fallback_s: float,
                     hold_s: float = MAX_HOLD_S) -> None:
    """Until cancelled: call `on_info` with `url`'s info document whenever it changes (its
    first answer included).

    Args:
        url: the node's feed address.
        on_info: told each new document (runs on the event loop: keep it short).
        fallback_s: the wait between requests to a node that does not hold them (an older
            node, or one holding as many as it will), and the longest back-off after failures.
        hold_s: how long to ask the node to hold each request.
    """
    etag: str | None = None
    failures = 0
    rng = random.Random()
    async with FeedClient(url, timeout_s=10, retries=0) as client:
        while True:
            started = trio.current_time()
            try:
                info, tag = await client.info_change(etag, hold_s)
            except P2PDistError as e:
                failures += 1
                delay = backoff_delay(failures - 1, 1.0, min(MAX_BACKOFF_S, fallback_s),
                                      rng.random())
                log.debug(_("watching {url}: {e} (again in {s:.1f} s)").format(
                    url=url, e=e, s=delay))
                await trio.sleep(max(MIN_GAP_S, delay))
                continue
            failures = 0
            held = trio.current_time() - started
            # A 200 whose tag is the one we sent came from a node that ignored it (no hold).
            new = info is not None and (tag is None or tag != etag)
            if new and info is not None:
                on_info(info)
            holds = tag is not None and (new or held >= hold_s / 2)
            etag = tag
            await trio.sleep(max(0.0, MIN_GAP_S - held) if holds else fallback_s)
