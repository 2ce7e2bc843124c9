"""The agent's side of LAN discovery: advertise this box, keep the neighbour list current, and
poll at once when a neighbour advertises a newer version than ours (a hint; it is verified)."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import trio

from ..discovery import Advert, Discovery, NeighbourChange

if TYPE_CHECKING:
    from ._agent import BoxAgent


class LanDiscovery:
    """Runs `Discovery` for a `BoxAgent` and mirrors its neighbours into `agent.neighbours`."""

    def __init__(self, agent: BoxAgent) -> None:
        self.agent = agent
        interfaces = list(agent.config.mdns_interfaces) or None
        self.discovery = Discovery(self._advert(), interfaces=interfaces, listener=self)

    def _advert(self) -> Advert:
        a = self.agent
        channels = {c: v for c in a.config.channels if (v := _latest(a, c)) is not None}
        return Advert(node_id=a.node_id, role="box", site=a.config.site,
                      feed_port=a.feed_port, swarm_port=a.swarm.listen_port, channels=channels)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.discovery.run(task_status=task_status)

    def advertise(self) -> None:
        """Announce what this box now holds (after a release was recorded or activated)."""
        self.discovery.update(self._advert())

    def penalize(self, node_id: str, seconds: float) -> None:
        self.discovery.penalize(node_id, seconds)

    def on_change(self, change: NeighbourChange) -> None:
        a = self.agent
        self._sync()
        for channel, version in change.neighbour.advert.channels.items():
            m = a.machines.get(channel)
            if m is not None and (m.active_version or 0) < version:
                a.poke()

    def _sync(self) -> None:
        from ._policy import LanPeer

        peers = {}
        for n in self.discovery.neighbours():
            adv = n.advert
            ip = _pick_address(adv.addresses)
            if ip is None:
                continue
            peers[adv.node_id] = LanPeer(adv.node_id, adv.site, ip, adv.feed_port,
                                         adv.swarm_port, dict(adv.channels))
            self.agent.swarm.register_lan_peer(ip)
        self.agent.neighbours = peers


def _latest(agent: BoxAgent, channel: str) -> int | None:
    versions = agent.store.releases(channel)
    return max(versions) if versions else None


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
