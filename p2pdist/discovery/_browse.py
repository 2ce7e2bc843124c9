"""Carry one Zeroconf's browse events into a `NeighbourTable` on the trio thread.

The browser thread only forwards ``(name, state change)`` with `TrioToken.run_sync_soon`; the
callback, on the trio thread, puts it in a bounded memory channel (dropping when full: the periodic
resync recovers anything lost). One consumer task keeps per-name order and starts at most
`RESOLVERS` resolutions at a time, each on a worker thread and bounded in time. A name is never
resolved twice at once; a change that arrives meanwhile re-runs it, a goodbye voids its result.

Every `refresh_interval` the names in zeroconf's cache are resolved again: a live neighbour
answers (or is still cached) and is seen again, a silent one ages out of the table by its TTL.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from functools import partial

import trio
from zeroconf import ServiceInfo, ServiceStateChange, Zeroconf

from p2pdist.i18n import _
from p2pdist.wakeup import Wakeup

from . import _zc
from ._advert import Advert, BadAdvertError
from ._table import NeighbourChange, NeighbourTable

log = logging.getLogger(__name__)

EVENT_BUFFER = 512
RESOLVERS = 4
RESOLVE_TIMEOUT_S = 3.0
THREAD_GRACE_S = 1.0
"""Extra time a resolution's worker thread gets beyond zeroconf's own timeout before we stop
waiting for it."""
TICK_S = 10.0
"""The longest the maintenance loop sleeps (a penalty given meanwhile ends at most this late)."""
EXPIRY_SLACK_S = 0.05
"""`expire` drops a neighbour only once its TTL is strictly past."""
CACHE_READ_TIMEOUT_S = 2.0
CLOSE_TIMEOUT_S = 5.0
REJECT_LOG_INTERVAL_S = 60.0

Notify = Callable[[list[NeighbourChange]], None]
_Event = tuple[str, ServiceStateChange]


def _forward(
    token: trio.lowlevel.TrioToken,
    offer: Callable[[str, ServiceStateChange], None],
    *,
    zeroconf: Zeroconf,
    service_type: str,
    name: str,
    state_change: ServiceStateChange,
) -> None:
    """Browser handler, on zeroconf's browser thread: hand the event to trio, nothing else.

    It must not raise (an exception would end the browser thread) and must not block.
    """
    with contextlib.suppress(trio.RunFinishedError):
        token.run_sync_soon(offer, name, state_change)


class Browsing:
    """Browse on an open Zeroconf and keep `table` current; `notify` gets every change.

    Args:
        zc: an open Zeroconf (the caller closes it after `run` returns).
        table: the table to keep current.
        notify: called on the trio thread with the changes of each table operation.
        resolve_timeout: how long one resolution may wait for a neighbour's answer.
        refresh_interval: seconds between resyncs from zeroconf's cache.
    """

    def __init__(
        self,
        zc: Zeroconf,
        table: NeighbourTable,
        notify: Notify,
        *,
        resolve_timeout: float,
        refresh_interval: float,
    ) -> None:
        self._zc = zc
        self._table = table
        self._notify = notify
        self._resolve_timeout = resolve_timeout
        self._refresh_interval = refresh_interval
        self._send: trio.MemorySendChannel[_Event] | None = None
        self._wake = Wakeup()
        self._slots = trio.Semaphore(RESOLVERS)
        # All three hold only names being resolved, so each stays at most RESOLVERS long.
        self._resolving: set[str] = set()
        self._rerun: set[str] = set()
        self._removed: set[str] = set()
        self.dropped = 0
        self.rejected = 0
        self._rejected_logged = 0
        self._next_reject_log = 0.0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Browse until cancelled; ready once the browser runs."""
        token = trio.lowlevel.current_trio_token()
        send, receive = trio.open_memory_channel[_Event](EVENT_BUFFER)
        self._send = send
        browser = None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._consume, receive, nursery)
                browser = await trio.to_thread.run_sync(
                    _zc.start_browser, self._zc, partial(_forward, token, self._offer)
                )
                nursery.start_soon(self._maintain)
                task_status.started()
        finally:
            self._send = None
            send.close()
            if browser is not None:
                # cancel() joins the browser thread; bounded, and shielded so it runs even
                # when we are being cancelled.
                with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT_S):
                    await trio.to_thread.run_sync(browser.cancel, abandon_on_cancel=True)

    def _offer(self, name: str, change: ServiceStateChange) -> None:
        """Queue an event, on the trio thread. Runs as a `run_sync_soon` callback: never raises."""
        if self._send is None:
            return
        try:
            self._send.send_nowait((name, change))
        except trio.WouldBlock:
            self.dropped += 1
            log.debug(
                _("mDNS event queue full; dropped {name} for {name2!r}").format(
                    name=change.name, name2=name))
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _consume(
        self, receive: trio.MemoryReceiveChannel[_Event], nursery: trio.Nursery
    ) -> None:
        async with receive:
            async for name, change in receive:
                if change is ServiceStateChange.Removed:
                    if name in self._resolving:
                        self._removed.add(name)
                    self._rerun.discard(name)
                    node_id = self._table.node_for_name(name)
                    if node_id is not None:
                        self._notify(self._table.gone(node_id))
                elif name in self._resolving:
                    self._rerun.add(name)
                else:
                    await self._slots.acquire()
                    self._resolving.add(name)
                    nursery.start_soon(self._resolve_loop, name)

    async def _resolve_loop(self, name: str) -> None:
        try:
            while True:
                self._rerun.discard(name)
                self._removed.discard(name)
                info = await self._resolve(name)
                if info is not None and name not in self._removed:
                    self._accept(name, info)
                if name not in self._rerun:
                    return
        finally:
            self._resolving.discard(name)
            self._rerun.discard(name)
            self._removed.discard(name)
            self._slots.release()

    async def _resolve(self, name: str) -> ServiceInfo | None:
        with trio.move_on_after(self._resolve_timeout + THREAD_GRACE_S):
            return await trio.to_thread.run_sync(
                _zc.resolve, self._zc, name, self._resolve_timeout, abandon_on_cancel=True
            )
        return None

    def _accept(self, name: str, info: ServiceInfo) -> None:
        try:
            advert = Advert.from_txt(
                name, info.parsed_scoped_addresses(), info.port, info.properties
            )
        except BadAdvertError as e:
            self._reject(e)
            return
        self._notify(self._table.seen(advert, trio.current_time(), name))
        self.wake()

    def _reject(self, error: BadAdvertError) -> None:
        """Count a bad record; log at most once a minute, because a flood must not flood logs."""
        self.rejected += 1
        now = trio.current_time()
        if now < self._next_reject_log:
            log.debug("%s", error)
            return
        self._next_reject_log = now + REJECT_LOG_INTERVAL_S
        log.warning(
            _("ignored {n} bad neighbour record(s) on the LAN; latest: {e}").format(
                n=self.rejected - self._rejected_logged, e=error
            )
        )
        self._rejected_logged = self.rejected

    def wake(self) -> None:
        """Plan the maintenance sleep again: a new neighbour or penalty may end sooner."""
        self._wake.set()

    async def _maintain(self) -> None:
        next_refresh = trio.current_time() + self._refresh_interval
        while True:
            # Sleep until something can change by time alone (a TTL or a penalty ends, the
            # next resync), at most TICK_S: a wake-up every second was most of an idle box's
            # CPU on these machines (each is charged a whole timer tick).
            due = min(next_refresh, (self._table.next_change() or math.inf) + EXPIRY_SLACK_S)
            await self._wake.wait(max(0.0, min(due - trio.current_time(), TICK_S)))
            now = trio.current_time()
            self._notify(self._table.expire(now))
            if now < next_refresh:
                continue
            next_refresh = now + self._refresh_interval
            names = await trio.to_thread.run_sync(
                _zc.cached_names, self._zc, CACHE_READ_TIMEOUT_S, abandon_on_cancel=True
            )
            # Neighbours we already know go first, so a flood of new names cannot starve them.
            known = {n.name for n in self._table.active(now)}
            for name in sorted(names, key=lambda n: n not in known):
                self._offer(name, ServiceStateChange.Updated)
