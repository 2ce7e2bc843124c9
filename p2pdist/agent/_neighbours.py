"""The box's site: its LAN neighbours (mDNS or configured), the proofs of who they are, and the
election of the one box that uses a shared uplink (a mixin of `BoxAgent`).

Discovery and configured neighbours fill `neighbours`; each is asked to prove its node id before
it counts in the election (a forged mDNS record must not win the WAN role); the election settles
once discovery had time to find the site, and the WAN policy follows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import trio

from keys import P2PDistError

from ..config import BoxConfig
from ..discovery import Advert
from ..feeds import FeedClient, FeedInfo
from ..feeds.proving import proves
from ..i18n import _
from ..store import Store
from ..swarm import Swarm
from ._downloads import PEER_REFRESH_S
from ._lan import LanDiscovery
from ._machine import UpdateMachine
from ._policy import Demotions, LanPeer, elected_box, may_use_wan
from ._sources import Source
from ._supervise import wait_for_election_or

log = logging.getLogger(__name__)

PROVE_INTERVAL_S = 30.0
PROBE_TIMEOUT_S = 5.0
STATIC_NEIGHBOUR_INTERVAL_S = 5.0
NEIGHBOUR_GRACE_S = 10.0


class SiteNeighbours:
    """LAN neighbours, their proofs and the site election of a `BoxAgent`."""

    config: BoxConfig
    store: Store
    swarm: Swarm
    machines: dict[str, UpdateMachine]
    neighbours: dict[str, LanPeer]
    proven: set[str]
    demotions: Demotions
    node_id: str
    feed_port: int
    _stalled: dict[str, bool]
    _discovery: LanDiscovery | None
    _neighbours_probed: trio.Event
    _probe_now: trio.Event
    election_settled: trio.Event
    clock: Callable[[], float]

    if TYPE_CHECKING:  # provided by BoxAgent
        def poke(self) -> None: ...
        def _on_info(self, source: Source, info: FeedInfo) -> None: ...

    async def _start_discovery(self, nursery: trio.Nursery) -> None:
        self._discovery = LanDiscovery(self, self.config.mdns_interfaces)
        await nursery.start(self._discovery.run)

    # LanHost: what discovery needs of the box.

    def lan_advert(self) -> Advert:
        """This box's holdings: per channel the newest release recorded (fetching or active)."""
        channels = {c: max(vs) for c in self.config.channels if (vs := self.store.releases(c))}
        return Advert(node_id=self.node_id, role="box", site=self.config.site,
                      feed_port=self.feed_port, swarm_port=self.swarm.listen_port,
                      channels=channels)

    def lan_peers(self, peers: Mapping[str, LanPeer]) -> None:
        for n in peers.values():
            self.swarm.register_lan_peer(n.ip)
        self.neighbours = dict(peers)

    def lan_offers(self, channel: str, version: int) -> None:
        m = self.machines.get(channel)
        if m is not None and (m.active_version or 0) < version:
            self.poke()

    async def _static_neighbours_loop(self) -> None:
        """Configured neighbours (no multicast on the LAN): ask each for its identity and
        holdings, and treat them as discovery would."""
        known: dict[str, str] = {}  # url -> node id
        while True:
            for url in self.config.neighbours:
                try:
                    with trio.fail_after(10):
                        async with FeedClient(url, timeout_s=3, retries=0) as client:
                            info = await client.info()
                except (P2PDistError, trio.TooSlowError):
                    if url in known:
                        self.neighbours.pop(known.pop(url), None)
                    continue
                host = urlsplit(url).hostname or ""
                port = urlsplit(url).port or 80
                old = self.neighbours.get(info.node_id)
                self.neighbours[info.node_id] = LanPeer(info.node_id, self.config.site, host,
                                                        port, info.swarm_port,
                                                        dict(info.channels))
                known[url] = info.node_id
                if await proves(url, info.node_id):
                    self.proven.add(info.node_id)
                self.swarm.register_lan_peer(host)
                for c, v in info.channels.items():
                    m = self.machines.get(c)
                    if m is not None and (m.active_version or 0) < v and (
                            old is None or old.channels.get(c) != v):
                        self.poke()
            self._neighbours_probed.set()
            await trio.sleep(STATIC_NEIGHBOUR_INTERVAL_S)

    async def _wan_policy_loop(self) -> None:
        """Keep libtorrent's WAN access in line with the election: on a shared uplink only the
        elected box (or one whose LAN download stalled) may connect outside the LAN."""
        while True:
            self.swarm.set_wan_allowed(self._should_use_wan(any(self._stalled.values())))
            await wait_for_election_or(self.election_settled, PEER_REFRESH_S)

    async def _settle_election(self) -> None:
        """On a shared uplink, give discovery time to find the site before this box uses the
        WAN, so boxes starting together do not all believe they are elected. The first poll
        does not wait for it: manifests come over HTTP and LAN peers are dialled at once."""
        try:
            if self.config.site_mode != "shared-uplink":
                return
            if not self.config.mdns and not self.config.neighbours:
                return  # nobody to wait for: this box is alone on its site
            with trio.move_on_after(NEIGHBOUR_GRACE_S):
                if self.config.mdns:
                    await trio.sleep(self.config.election_grace_s)
                    self._neighbours_probed = trio.Event()  # one probe round after the wait
                    self._probe_now.set()
                await self._neighbours_probed.wait()
        finally:
            self.election_settled.set()
            msg = (_("site election settled with {n} neighbour(s): this box uses the WAN")
                   if self._should_use_wan(False) else
                   _("site election settled with {n} neighbour(s): another box uses the WAN"))
            log.info(msg.format(n=len(self.neighbours)))

    def _should_use_wan(self, stalled: bool) -> bool:
        if not self.election_settled.is_set() and self.config.site_mode == "shared-uplink":
            return stalled
        return may_use_wan(self.config.site_mode, stalled, self.elected(), self.node_id)

    def elected(self) -> str:
        """The site's WAN box (see `elected_box`)."""
        return elected_box(self.node_id, self.config.site, self.neighbours.values(), self.proven,
                           self.demotions.active(self.clock()))

    async def _prove_neighbours_loop(self) -> None:
        """Ask each new LAN neighbour's feed who it is (bounded: one probe per neighbour per
        PROVE_INTERVAL_S, a few seconds each). The neighbours of a round are asked at once:
        the site's election waits for the round, and six boxes starting together on a small
        CPU took seconds one after another."""
        asked: dict[str, float] = {}
        while True:
            now = self.clock()
            due = [n for n in list(self.neighbours.values()) if n.node_id not in self.proven
                   and now - asked.get(n.node_id, -1e9) >= PROVE_INTERVAL_S]
            async with trio.open_nursery() as nursery:
                for n in due:
                    asked[n.node_id] = now
                    nursery.start_soon(self._prove, n)
            self._neighbours_probed.set()
            with trio.move_on_after(PEER_REFRESH_S):
                await self._probe_now.wait()
            self._probe_now = trio.Event()

    async def _prove(self, n: LanPeer) -> None:
        """One neighbour: its /info, then its signature over a fresh nonce."""
        try:
            with trio.fail_after(PROBE_TIMEOUT_S):
                async with FeedClient(n.feed_url, timeout_s=2, retries=0) as client:
                    info = await client.info()
        except (P2PDistError, trio.TooSlowError):
            return
        self._on_info(Source(n.feed_url, lan=True, node_id=n.node_id), info)
        if (info.node_id == n.node_id and info.swarm_port
                and await proves(n.feed_url, n.node_id)):
            self.proven.add(n.node_id)
