"""The box's check-ins (the reverse channel): a signed report at start, after each activation
and every CHECKIN_INTERVAL_S, kept in a durable outbox until a seeder takes it."""

from __future__ import annotations

import contextlib
import logging
import shutil
from typing import TYPE_CHECKING

import trio

from keys import P2PDistError

from ..checkin import ChannelReport, ServiceReport, deliver, make_checkin
from ..feeds import FeedClient

if TYPE_CHECKING:
    from ._agent import BoxAgent
    from ._machine import UpdateMachine

log = logging.getLogger(__name__)

CHECKIN_INTERVAL_S = 300.0


async def checkin_loop(agent: BoxAgent) -> None:
    """Report to the seeders (the reverse channel): at start, after each activation and every
    CHECKIN_INTERVAL_S. Reports wait in a durable outbox while the box is offline."""
    window_start = int(agent.clock())
    while True:
        # The service data (plays, 点单) leaves its log in the same step that seals the
        # check-in carrying it (exactly once; see checkin.ServiceLog).
        for seq, sealed in agent.service.sealed():
            await trio.to_thread.run_sync(agent.outbox.enqueue, sealed)
            agent.service.sealed_done(seq)

        def build(report: ServiceReport, window_start: int = window_start) -> tuple[int, bytes]:
            seq = agent.outbox.next_seq(report.time)
            return seq, make_checkin(
                agent.identity, seq=seq, sent=report.time, site=agent.config.site,
                channels={c: _report(agent, c, m) for c, m in agent.machines.items()},
                free_disk=shutil.disk_usage(agent.data_dir).free, plays=report.plays,
                window=(min(window_start, report.time), report.time), days=report.days,
                requests=report.requests, clock_trusted=report.clock_trusted)

        seq, body = agent.service.seal(build)
        window_start = int(agent.clock())
        await trio.to_thread.run_sync(agent.outbox.enqueue, body)
        agent.service.sealed_done(seq)
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
            log.info("check-ins to %s wait: %s", url, e)


def _report(agent: BoxAgent, channel: str, m: UpdateMachine) -> ChannelReport:
    """One channel's line: version, phase, progress and rate of the download, last problem."""
    progress, rate = 1.0, 0
    key = agent.downloading.get(channel)
    if key is not None:
        progress = 0.0
        with contextlib.suppress(P2PDistError):
            s = agent.swarm.snapshot(key)
            progress = min(1.0, s.bytes_done / s.bytes_wanted) if s.bytes_wanted else 0.0
            rate = max(0, int(s.download_rate))
    return ChannelReport(m.active_version or 0, str(m.phase), progress, rate, m.reason or "")
