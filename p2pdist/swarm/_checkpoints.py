"""Keeping each torrent's resume file current: on a byte and time budget while it downloads,
when it finishes, and at shutdown.

A checkpoint is the pieces had now followed by a cache-flush fence: once libtorrent says every
write queued before the fence is done, those pieces are on disk and the file may say so. No
`save_resume_data` call is made (it re-encodes the whole merkle tree, tens of MB at 10 GB).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import trio

from p2pdist.errors import P2PDistError, StorageError
from p2pdist.i18n import _

from ..fs import atomic_write
from ..wakeup import Wakeup
from . import _resume
from ._alerts import CacheFlushed, ResumeData, ResumeFailed
from ._config import SwarmConfig
from ._records import TorrentRecord

log = logging.getLogger(__name__)

RESUME_TIMEOUT_S = 10.0
IDLE_CHECK_S = 30.0
"""How often the loop looks at torrents when every one is complete (a change wakes it)."""


class Checkpoints:
    """The resume files of the swarm's torrents (`torrents` is the swarm's own live dict)."""

    def __init__(self, config: SwarmConfig, torrents: Mapping[str, TorrentRecord],
                 wakeup: Wakeup) -> None:
        self._config = config
        self._torrents = torrents
        self._wakeup = wakeup

    def answered(self, t: TorrentRecord, notice: ResumeData | CacheFlushed | ResumeFailed
                 ) -> None:
        """libtorrent's answer to the fence of `save` (from the alert pump)."""
        t.resume_result = notice
        t.resume_ready.set()

    async def save(self, t: TorrentRecord) -> None:
        """Checkpoint `t` now.

        Raises:
            StorageError: no fence answer within RESUME_TIMEOUT_S, or the file not written.
        """
        async with t.resume_lock:
            if t.removed:
                return
            t.resume_result = None
            t.resume_ready = trio.Event()
            data = _resume.checkpoint(t.handle)
            t.handle.flush_cache()
            with trio.move_on_after(RESUME_TIMEOUT_S):
                await t.resume_ready.wait()
            result = t.resume_result
            if not isinstance(result, CacheFlushed):
                reason = (
                    result.reason
                    if isinstance(result, ResumeFailed)
                    else _("no answer within {s:g} s").format(s=RESUME_TIMEOUT_S)
                )
                raise StorageError(
                    _("could not save resume data for {key}: {reason}").format(
                        key=t.key, reason=reason
                    )
                )
            path = _resume.resume_path(self._config.resume_dir, t.key)
            # atomic_write raises a StorageError that names the file and the cause.
            await trio.to_thread.run_sync(atomic_write, path, data)

    async def save_logged(self, t: TorrentRecord) -> None:
        """`save`, a failure logged (a background checkpoint must not end the swarm)."""
        try:
            await self.save(t)
        except P2PDistError as e:
            log.warning("%s", e)

    async def save_all(self) -> list[str]:
        """Checkpoint every torrent concurrently; the keys that failed (logged)."""
        failed: list[str] = []

        async def one(t: TorrentRecord) -> None:
            try:
                await self.save(t)
            except P2PDistError as e:
                log.warning("%s", e)
                failed.append(t.key)

        async with trio.open_nursery() as nursery:
            for t in list(self._torrents.values()):
                nursery.start_soon(one, t)
        return failed

    async def run(self) -> None:
        """Checkpoint each torrent when it changed, on a byte and a time budget.

        A kill loses what was verified since the last checkpoint, so a fast download saves
        every `resume_budget_fraction` of its size; a slow one at least every
        `resume_interval_s`; an idle or seeding one never (nothing changed).
        """
        budget = _resume.Budget(self._config.resume_budget_fraction,
                                self._config.resume_interval_s)
        busy = True
        while True:
            # Complete torrents change little (upload counters): when every torrent is, look
            # when one changes, or seldom (an idle box's CPU is its wake-ups, see p2pdist.wakeup).
            if busy:
                await trio.sleep(budget.check_interval_s)
            else:
                await self._wakeup.wait(IDLE_CHECK_S)
            now = trio.current_time()
            busy = False
            for t in list(self._torrents.values()):
                if t.removed:
                    continue
                st = t.handle.status()
                busy = busy or not st.is_finished
                if budget.due(t.key, st.need_save_resume, st.total_wanted_done,
                              st.total_wanted, now):
                    await self.save_logged(t)
                    budget.saved(t.key, st.total_wanted_done, now)
