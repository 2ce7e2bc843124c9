"""The box's check-ins (the reverse channel): a signed report at start, after each activation
and every CHECKIN_INTERVAL_S, kept in a durable outbox until a seeder takes it."""

from __future__ import annotations

import contextlib
import logging
import shutil
from typing import TYPE_CHECKING

import trio

from keys import P2PDistError

from ..checkin import ChannelReport, deliver, make_checkin
from ..feeds import FeedClient
from ..i18n import _

if TYPE_CHECKING:
    from ._agent import BoxAgent

log = logging.getLogger(__name__)

CHECKIN_INTERVAL_S = 300.0


async def checkin_loop(agent: BoxAgent) -> None:
    """Report to the seeders (the reverse channel): at start, after each activation and every
    CHECKIN_INTERVAL_S. Reports wait in a durable outbox while the box is offline."""
    window_start = int(agent.clock())
    while True:
        now = int(agent.clock())
        body = make_checkin(
            agent.identity, seq=agent.outbox.next_seq(now), sent=now, site=agent.config.site,
            channels={c: ChannelReport(m.active_version or 0, str(m.phase),
                                       _progress(agent, c)) for c, m in agent.machines.items()},
            free_disk=shutil.disk_usage(agent.data_dir).free, plays={},
            window=(window_start, now))
        window_start = now
        await trio.to_thread.run_sync(agent.outbox.enqueue, body)
        await _deliver(agent)
        with trio.move_on_after(CHECKIN_INTERVAL_S):
            await agent.activated.wait()
        agent.activated = trio.Event()


async def _deliver(agent: BoxAgent) -> None:
    for url in agent.config.seeders:
        try:
            with trio.fail_after(60):
                async with FeedClient(url, timeout_s=10, retries=0) as client:
                    if (await deliver(agent.outbox, client)).pending == 0:
                        return
        except (P2PDistError, trio.TooSlowError) as e:
            log.info(_("check-ins to {url} wait: {e}").format(url=url, e=e))


def _progress(agent: BoxAgent, channel: str) -> float:
    key = agent.downloading.get(channel)
    if key is None:
        return 1.0
    with contextlib.suppress(P2PDistError):
        s = agent.swarm.snapshot(key)
        return s.bytes_done / s.bytes_wanted if s.bytes_wanted else 0.0
    return 0.0
