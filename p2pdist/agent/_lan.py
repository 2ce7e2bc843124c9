"""The agent's side of LAN discovery: advertise this box, keep the neighbour list current, and
poll at once when a neighbour advertises a newer version than ours (a hint; it is verified).

It needs three things of the box, named by `LanHost` (the agent implements it), so it can be
run and read without the whole agent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Protocol

import trio

from ..discovery import Advert, Discovery, NeighbourChange
from ._policy import LanPeer


class LanHost(Protocol):
    """What LAN discovery needs of the box it runs for."""

    def lan_advert(self) -> Advert:
        """What this box holds now, to announce."""

    def lan_peers(self, peers: Mapping[str, LanPeer]) -> None:
        """The neighbours now seen (node id -> peer), replacing the previous list."""

    def lan_offers(self, channel: str, version: int) -> None:
        """A neighbour advertises `version` of `channel` (poll if it is newer than ours)."""


class LanDiscovery:
    """Runs `Discovery` for a `LanHost` and tells it the neighbours and their holdings."""

    def __init__(self, host: LanHost, interfaces: Sequence[str] = ()) -> None:
        self.host = host
        self.discovery = Discovery(host.lan_advert(), interfaces=list(interfaces) or None,
                                   listener=self)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.discovery.run(task_status=task_status)

    def advertise(self) -> None:
        """Announce what this box now holds (after a release was recorded or activated)."""
        self.discovery.update(self.host.lan_advert())

    def penalize(self, node_id: str, seconds: float) -> None:
        self.discovery.penalize(node_id, seconds)

    def on_change(self, change: NeighbourChange) -> None:
        self.host.lan_peers(self._peers())
        for channel, version in change.neighbour.advert.channels.items():
            self.host.lan_offers(channel, version)

    def _peers(self) -> dict[str, LanPeer]:
        peers = {}
        for n in self.discovery.neighbours():
            adv = n.advert
            ip = _pick_address(adv.addresses)
            if ip is not None:
                peers[adv.node_id] = LanPeer(adv.node_id, adv.site, ip, adv.feed_port,
                                             adv.swarm_port, dict(adv.channels))
        return peers


def _pick_address(addresses: tuple[str, ...]) -> str | None:
    """Prefer IPv4 (simplest for libtorrent's classes); skip link-local IPv6 (needs a scope)."""
    v6 = None
    for a in addresses:
        ip = ipaddress.ip_address(a)
        if ip.version == 4:
            return a
        if not ip.is_link_local and v6 is None:
            v6 = a
    return v6
