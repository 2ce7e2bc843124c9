"""The discovery service: announce this node by DNS-SD and keep the table of LAN neighbours.

`Discovery.run` owns one threaded Zeroconf for its whole life: open it, start browsing, register
our records (probing takes ~1.6 s), then keep them current when the advert or the machine's
addresses change. On cancellation it withdraws the records (goodbye packets, so neighbours drop
us at once) and closes the sockets, shielded and bounded in time.

The agent learns of neighbours through `NeighbourListener.on_change`, a protocol defined here so
this layer never imports the agent. `scan` is the same browsing without announcing, for a
one-shot look at the LAN.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Protocol

import psutil
import trio
from zeroconf import ServiceInfo, Zeroconf

from p2pdist.errors import NetworkError
from p2pdist.i18n import _

from . import _zc
from ._advert import Advert
from ._browse import CLOSE_TIMEOUT_S, RESOLVE_TIMEOUT_S, Browsing
from ._table import (
    DEFAULT_CAPACITY,
    DEFAULT_PENALTY_S,
    DEFAULT_TTL_S,
    Neighbour,
    NeighbourChange,
    NeighbourTable,
)

log = logging.getLogger(__name__)

ADDRESS_CHECK_S = 10.0
"""How often the machine's addresses are compared with the announced ones (DHCP renewals, a
cable moved to another switch)."""
DEFAULT_SCAN_S = 3.0
"""A browser sees services that are already up after ~1.1 s on loopback; 3 s leaves margin."""


class NeighbourListener(Protocol):
    """What `Discovery` calls when the set of usable neighbours changes (the agent implements it).

    Calls happen on the trio thread, in order, and must not block: start a task for slow work.
    An exception raised from `on_change` stops `Discovery.run` (it is a bug in the listener).
    """

    def on_change(self, change: NeighbourChange) -> None:
        """A neighbour appeared, changed its advert, or disappeared."""


class Discovery:
    """Announce this node on the LAN and track its neighbours.

    Start it with ``await nursery.start(discovery.run)``: when that returns, our records are
    registered and the browser runs.

    Args:
        advert: what to announce. With no addresses in it, the interface addresses are announced
            (`interfaces`, or the machine's addresses when `interfaces` is None).
        interfaces: IP addresses of the interfaces to use, or None for all interfaces.
        listener: told about every change of the usable neighbours.
        capacity: the most neighbours remembered.
        ttl: seconds a neighbour is kept without being confirmed again.
        resolve_timeout: how long resolving one neighbour may take.

    Raises:
        ConfigError: an interface is not an IP address.
    """

    def __init__(
        self,
        advert: Advert,
        *,
        interfaces: Sequence[str] | None,
        listener: NeighbourListener | None = None,
        capacity: int = DEFAULT_CAPACITY,
        ttl: float = DEFAULT_TTL_S,
        resolve_timeout: float = RESOLVE_TIMEOUT_S,
    ) -> None:
        self._advert = advert
        self._interfaces = _zc.check_interfaces(interfaces)
        self._listener = listener
        self._table = NeighbourTable(advert.node_id, capacity=capacity, ttl=ttl)
        self._resolve_timeout = resolve_timeout
        self._refresh_interval = ttl / 3
        self._browsing: Browsing | None = None
        self._wake = trio.Event()
        self._registered: ServiceInfo | None = None
        self._running = False

    @property
    def advert(self) -> Advert:
        """The advert announced (or to be announced)."""
        return self._advert

    @property
    def instance_name(self) -> str | None:
        """Our registered DNS-SD instance name, or None while not registered."""
        return None if self._registered is None else self._registered.name

    def neighbours(self) -> list[Neighbour]:
        """The neighbours to use now (not expired, not penalized, never ourselves), by node id."""
        return self._table.active(trio.current_time())

    def penalize(self, node_id: str, seconds: float = DEFAULT_PENALTY_S) -> None:
        """Ignore a neighbour that served something invalid, longer each time it happens again.

        Args:
            node_id: the neighbour's node id.
            seconds: the first penalty's length (doubles per repeat, capped at an hour).

        Raises:
            ValueError: `seconds` is not positive.
        """
        self._emit(self._table.penalize(node_id, trio.current_time(), seconds))
        if self._browsing is not None:
            self._browsing.wake()

    def update(self, advert: Advert) -> None:
        """Announce a new advert (a new version, channel or address); returns at once.

        The records are re-announced under the same name shortly after, while `run` runs.

        Args:
            advert: the new advert, for the same node.

        Raises:
            ValueError: the node id differs (a new identity needs a new Discovery).
        """
        if advert.node_id != self._advert.node_id:
            raise ValueError(_("an advert update cannot change the node id"))
        self._advert = advert
        self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Announce and browse until cancelled, then withdraw and close.

        Raises:
            NetworkError: mDNS could not start, or no free instance name was found.
            RuntimeError: already running.
        """
        if self._running:
            raise RuntimeError("Discovery.run is already running")
        self._running = True
        try:
            zc = await trio.to_thread.run_sync(_zc.open_zeroconf, self._interfaces)
            try:
                async with trio.open_nursery() as nursery:
                    browsing = self._browsing = Browsing(
                        zc,
                        self._table,
                        self._emit,
                        resolve_timeout=self._resolve_timeout,
                        refresh_interval=self._refresh_interval,
                    )
                    # Browse first: neighbours are found while our own name is being probed.
                    await nursery.start(browsing.run)
                    addresses = await self._addresses()
                    self._registered = await trio.to_thread.run_sync(
                        _zc.register, zc, self._advert, addresses
                    )
                    log.info(_("announced on the LAN as {n}").format(n=self._registered.name))
                    nursery.start_soon(self._keep_registered, zc, self._advert, addresses)
                    task_status.started()
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT_S):
                    await trio.to_thread.run_sync(
                        _zc.close, zc, self._registered, abandon_on_cancel=True
                    )
                self._registered = None
        finally:
            self._running = False

    def _emit(self, changes: list[NeighbourChange]) -> None:
        if self._listener is not None:
            for change in changes:
                self._listener.on_change(change)

    def _watches_machine(self) -> bool:
        return self._interfaces is None and not self._advert.addresses

    async def _addresses(self) -> tuple[str, ...]:
        if self._advert.addresses:
            return self._advert.addresses
        if self._interfaces is not None:
            return tuple(self._interfaces)
        found = _zc.machine_addresses(await trio.to_thread.run_sync(psutil.net_if_addrs))
        if not found:
            log.warning(_("this machine has no LAN address to announce; neighbours cannot see it"))
        return found

    async def _keep_registered(
        self, zc: Zeroconf, advert: Advert, addresses: tuple[str, ...]
    ) -> None:
        """Re-announce when `update` was called or the machine's addresses changed."""
        retry = False
        while True:
            watch = retry or self._watches_machine()
            with trio.move_on_after(ADDRESS_CHECK_S if watch else math.inf):
                await self._wake.wait()
            self._wake = trio.Event()
            new_advert, new_addresses = self._advert, await self._addresses()
            if new_advert == advert and new_addresses == addresses:
                continue
            assert self._registered is not None
            label = self._registered.name.removesuffix("." + self._registered.type)
            info = _zc.service_info(new_advert, new_addresses, label)
            moved = new_addresses != addresses and self._watches_machine()
            try:
                await trio.to_thread.run_sync(_zc.update, zc, info, moved)
            except NetworkError as e:
                # Keep discovery running under the old records (neighbours still reach us) and
                # try again at the next check.
                log.warning("%s", e)
                retry = True
                continue
            retry = False
            self._registered = info
            advert, addresses = new_advert, new_addresses


async def scan(
    interfaces: Sequence[str] | None,
    seconds: float = DEFAULT_SCAN_S,
    *,
    resolve_timeout: float = RESOLVE_TIMEOUT_S,
) -> list[Neighbour]:
    """Look at the LAN once, without announcing anything (for ``p2pdist discover``).

    Args:
        interfaces: IP addresses of the interfaces to listen on, or None for all.
        seconds: how long to listen.
        resolve_timeout: how long resolving one neighbour may take.

    Returns:
        The neighbours found, by node id (a box running discovery here is among them).

    Raises:
        ConfigError: an interface is not an IP address.
        NetworkError: mDNS could not start.
    """
    checked = _zc.check_interfaces(interfaces)
    table = NeighbourTable()
    zc = await trio.to_thread.run_sync(_zc.open_zeroconf, checked)
    try:
        async with trio.open_nursery() as nursery:
            browsing = Browsing(
                zc,
                table,
                lambda changes: None,
                resolve_timeout=resolve_timeout,
                refresh_interval=math.inf,
            )
            await nursery.start(browsing.run)
            await trio.sleep(seconds)
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT_S):
            await trio.to_thread.run_sync(_zc.close, zc, None, abandon_on_cancel=True)
    return table.active(trio.current_time())
