"""The box's check-ins (the reverse channel): a signed report at start, after each activation,
soon after a release is rejected, and every CHECKIN_INTERVAL_S, kept in a durable outbox until a
seeder takes it.

`Checkins` holds only what it needs (the identity, the outbox, the service log, where to send)
and asks the box for its channel lines through one callable, so it never reaches into the agent.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import trio

from keys import P2PDistError, SigningKey

from ..checkin import ChannelReport, CheckinQueue, ServiceLog, ServiceReport, deliver, make_checkin
from ..feeds import FeedClient
from ..i18n import _
from ..swarm import TorrentSnapshot
from ._machine import Phase, UpdateMachine

log = logging.getLogger(__name__)

CHECKIN_INTERVAL_S = 300.0


class Checkins:
    """Seals and delivers the box's check-ins. Start `run` in the box's nursery; call `due`
    when something the center should hear about soon happened (an activation, a rejection)."""

    def __init__(self, *, identity: SigningKey, outbox: CheckinQueue, service: ServiceLog,
                 site: str, seeders: Sequence[str], data_dir: Path,
                 clock: Callable[[], float],
                 channels: Callable[[], Mapping[str, ChannelReport]]) -> None:
        self.identity = identity
        self.outbox = outbox
        self.service = service
        self.site = site
        self.seeders = seeders
        self.data_dir = data_dir
        self.clock = clock
        self.channels = channels
        self._due = trio.Event()

    def due(self) -> None:
        """Send a check-in now rather than at the next interval."""
        self._due.set()

    async def run(self) -> None:
        """Report to the seeders at start, when `due`, and every CHECKIN_INTERVAL_S. Reports
        wait in the durable outbox while the box is offline."""
        window_start = int(self.clock())
        while True:
            # The service data (plays, 点单) leaves its log in the same step that seals the
            # check-in carrying it (exactly once; see checkin.ServiceLog).
            for seq, sealed in self.service.sealed():
                await trio.to_thread.run_sync(self.outbox.enqueue, sealed)
                self.service.sealed_done(seq)

            def build(report: ServiceReport, window_start: int = window_start,
                      ) -> tuple[int, bytes]:
                seq = self.outbox.next_seq(report.time)
                return seq, make_checkin(
                    self.identity, seq=seq, sent=report.time, site=self.site,
                    channels=dict(self.channels()),
                    free_disk=shutil.disk_usage(self.data_dir).free, plays=report.plays,
                    window=(min(window_start, report.time), report.time), days=report.days,
                    requests=report.requests, clock_trusted=report.clock_trusted)

            seq, body = self.service.seal(build)
            window_start = int(self.clock())
            await trio.to_thread.run_sync(self.outbox.enqueue, body)
            self.service.sealed_done(seq)
            await self._deliver()
            with trio.move_on_after(CHECKIN_INTERVAL_S):
                await self._due.wait()
            self._due = trio.Event()

    async def _deliver(self) -> None:
        for url in self.seeders:
            try:
                with trio.fail_after(60):
                    async with FeedClient(url, timeout_s=10, retries=0) as client:
                        if (await deliver(self.outbox, client)).pending == 0:
                            return
            except (P2PDistError, trio.TooSlowError) as e:
                log.info(_("check-ins to {url} wait: {e}").format(url=url, e=e))


def channel_reports(machines: Mapping[str, UpdateMachine], downloading: Mapping[str, str],
                    snapshot: Callable[[str], TorrentSnapshot],
                    rejected: Mapping[str, str]) -> dict[str, ChannelReport]:
    """Each channel's line: version, phase, progress and rate of the download running (if
    any), and its problems: the last failure and the last release rejected, with the reason."""
    out = {}
    for channel, m in machines.items():
        progress, rate = 1.0, 0
        key = downloading.get(channel)
        if key is not None:
            progress = 0.0
            with contextlib.suppress(P2PDistError):  # the torrent may be going away
                s = snapshot(key)
                progress = min(1.0, s.bytes_done / s.bytes_wanted) if s.bytes_wanted else 0.0
                rate = max(0, int(s.download_rate))
        why = rejected.get(channel)
        # A rejection is also the machine's reason until something else happens: once.
        failure = m.reason if why is None or m.phase is Phase.FAILED else None
        problems = [p for p in (failure, why) if p]
        out[channel] = ChannelReport(m.active_version or 0, str(m.phase), progress, rate,
                                     "; ".join(dict.fromkeys(problems)))
    return out
