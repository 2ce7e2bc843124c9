"""The box daemon: one module that assembles the store, swarm, feed server, LAN discovery and
control socket, and drives the update machine for each channel (Syncthing's `lib/syncthing`).

Every few minutes (or at once when a neighbour advertises something newer, or a technician asks)
the agent asks its seeders and LAN neighbours what they hold, verifies the best offer against
its trust roots, fetches it through the swarm from whoever has it, checks and activates it, and
keeps seeding. On a shared-uplink site only the elected box talks to the WAN; the others take
from the LAN.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trio

from keys import P2PDistError, TrustError
from manifest import VerifiedRelease, verify_manifest_with

from ..boxstate import BoxState
from ..checkin import CheckinQueue, ServiceLog
from ..config import BoxConfig
from ..control import serve_control, socket_path
from ..errors import ConfigError, first_known_error
from ..feeds import FeedClient, FeedInfo, serve_feed
from ..fetch import FetchPhase, fetch_release, release_key
from ..seeding import seed_active
from ..store import Store
from ..swarm import PeerSource, Swarm, SwarmConfig
from ..web import Library, serve_library
from ._checkins import checkin_loop
from ._feedsource import BoxFeedSource
from ._lan import LanDiscovery
from ._machine import Input, Phase, UpdateMachine
from ._site import StallWatch, elect
from ._sources import Offer, Source, SourceFailure, ask
from ._status import handle_control

log = logging.getLogger(__name__)

PENALTY_S = 300.0
FAILURE_PENALTY_S = 30.0
PENALTY_MAX_S = 3600.0
PROVE_INTERVAL_S = 30.0
PROBE_TIMEOUT_S = 5.0
STATIC_NEIGHBOUR_INTERVAL_S = 5.0
NEIGHBOUR_GRACE_S = 10.0
MDNS_GRACE_S = 3.0  # a running browser sees a new service ~1.3 s after it registers
PEER_REFRESH_S = 2.0
MAX_LAN_SOURCES = 8


@dataclass(frozen=True)
class LanPeer:
    """A LAN neighbour as the agent uses it (from discovery)."""

    node_id: str
    site: str
    ip: str
    feed_port: int
    swarm_port: int
    channels: dict[str, int]

    @property
    def feed_url(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"http://{host}:{self.feed_port}"


class BoxAgent:
    """The long-lived box process. Start with ``await nursery.start(agent.run)``."""

    def __init__(self, data_dir: Path, config: BoxConfig, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.data_dir = data_dir
        self.config = config
        self.clock = clock
        self.store = Store(data_dir)
        self.state = BoxState(data_dir)
        self.node_id = self.state.identity().keyid
        self.machines = {c: UpdateMachine(active_version=self.store.active_version(c))
                         for c in config.channels}
        self.swarm = Swarm(SwarmConfig(
            listen_interfaces=config.listen,
            resume_dir=data_dir / "state" / "resume",
            lan_subnets=config.lan,
            wan_schedule=config.wan_schedule(),
            resume_interval_s=5.0,
            enable_utp=config.utp,
        ))
        self.policy = config.box_policy()
        # On a shared uplink, LAN peers come from mDNS and WAN peers only through the elected
        # box; peer exchange would hand every box the WAN addresses and undo the election.
        self.pex = config.site_mode == "own-link"
        self.feed_port = 0
        self.web_port = 0
        self.started_at = clock()
        self.neighbours: dict[str, LanPeer] = {}
        self.penalties: dict[str, float] = {}
        self.seeding: dict[str, str] = {}  # channel -> swarm key
        self.downloading: dict[str, str] = {}
        self.wan_enabled: dict[str, bool] = {}
        self.seeder_swarm: dict[str, tuple[str, int]] = {}  # seeder feed URL -> swarm address
        self.proven: set[str] = set()  # LAN neighbours whose feed confirmed their node id
        self.strikes: dict[str, int] = {}
        self.last_errors: list[dict[str, Any]] = []
        self._poke = trio.Event()
        self._discovery: LanDiscovery | None = None
        self._neighbours_probed = trio.Event()
        self.activated = trio.Event()
        self.identity = self.state.identity()
        self.outbox = CheckinQueue(data_dir / "state")
        self.service = ServiceLog(data_dir / "state", clock=clock)
        self._stalled: dict[str, bool] = {}

    # Lifecycle.

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.root = self.state.trusted_root(int(self.clock()))
        async with trio.open_nursery() as nursery:
            await nursery.start(self.swarm.run)
            seeded = set(await seed_active(self.swarm, self.store, pex=self.pex))
            for c in self.config.channels:
                key = self._key_of_active(c)
                if key in seeded:
                    self.seeding[c] = key
            source = BoxFeedSource(self.node_id, self.store, self.state, self.config.channels,
                                   self.swarm.listen_port)
            self.feed_port = await nursery.start(serve_feed, source, self.config.feed)
            await nursery.start(serve_control, socket_path(self.data_dir),
                                partial(handle_control, self))
            if self.config.web:
                self.web_port = await nursery.start(
                    serve_library, Library(self.store, self.config.channels), self.service,
                    self.config.web)
            if self.config.mdns:
                await self._start_discovery(nursery)
            if self.config.neighbours:
                nursery.start_soon(self._static_neighbours_loop)
            if self.config.mdns:
                nursery.start_soon(self._prove_neighbours_loop)
            nursery.start_soon(self._wan_policy_loop)
            nursery.start_soon(checkin_loop, self)
            nursery.start_soon(self._update_loop)
            task_status.started()

    def _key_of_active(self, channel: str) -> str | None:
        v = self.store.active_version(channel)
        return self.store.load_manifest(channel, v).torrent_name if v is not None else None

    async def _start_discovery(self, nursery: trio.Nursery) -> None:
        self._discovery = LanDiscovery(self)
        await nursery.start(self._discovery.run)

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
            await trio.sleep(PEER_REFRESH_S)

    async def _await_neighbours(self) -> None:
        """Before the first poll on a shared uplink, give discovery time to find the site, so
        boxes starting together do not all believe they are elected."""
        if self.config.site_mode != "shared-uplink":
            return
        with trio.move_on_after(NEIGHBOUR_GRACE_S):
            if self.config.mdns:
                await trio.sleep(MDNS_GRACE_S)
                self._neighbours_probed = trio.Event()  # one probe round after the wait
            await self._neighbours_probed.wait()

    def poke(self) -> None:
        """Poll sources now (a neighbour has something newer, or a technician asked)."""
        self._poke.set()

    # The update loop.

    async def _update_loop(self) -> None:
        await self._await_neighbours()
        while True:
            for channel in self.config.channels:
                await self._update_channel(channel)
            with trio.move_on_after(self._next_wait()):
                await self._poke.wait()
            self._poke = trio.Event()

    def _next_wait(self) -> float:
        wait = self.config.poll_interval_s
        now = self.clock()
        for m in self.machines.values():
            if m.phase is Phase.FAILED and m.retry_at is not None:
                wait = min(wait, max(1.0, m.retry_at - now))
        return wait

    async def _update_channel(self, channel: str) -> None:
        m = self.machines[channel]
        now = self.clock()
        if m.phase is Phase.FAILED:
            if not m.retry_due(now):
                return
            m.feed(Input.RETRY, now=now)
        else:
            m.feed(Input.POLL, now=now)
        offers = await self._gather(channel)
        for offer in sorted(offers, key=lambda o: -o.version_hint):
            m.feed(Input.MANIFEST, version=offer.version_hint)
            release = self._verify(offer)
            if release is None:
                continue
            if not release.is_new:
                m.feed(Input.VERIFIED_OLD)
                continue
            m.feed(Input.VERIFIED_NEW, version=release.manifest.version)
            await self._download(channel, release, offer)
            return

    def _sources(self, channel: str) -> list[Source]:
        now = self.clock()
        out = [Source(url, lan=False) for url in self.config.seeders]
        lan = [n for n in self.neighbours.values() if channel in n.channels]
        lan.sort(key=lambda n: -n.channels.get(channel, 0))
        out += [Source(n.feed_url, lan=True, node_id=n.node_id) for n in lan[:MAX_LAN_SOURCES]]
        return [s for s in out if self.penalties.get(s.url, 0) <= now]

    async def _gather(self, channel: str) -> list[Offer]:
        results: list[Offer | SourceFailure | None] = []
        root_version = self.root.version
        newer = self.store.active_version(channel)

        async def one(s: Source) -> None:
            r = await ask(s, channel, root_version, newer, self._on_info)
            if not isinstance(r, SourceFailure):
                self.strikes.pop(s.url, None)
            results.append(r)

        async with trio.open_nursery() as nursery:
            for s in self._sources(channel):
                nursery.start_soon(one, s)
        offers = []
        for r in results:
            if isinstance(r, SourceFailure):
                # A source that times out, floods or refuses would hold every poll: leave it
                # alone for a while, longer each time it fails again.
                self._penalize(r.source, FAILURE_PENALTY_S)
                self._note_error(r.source.url, r.reason)
            elif r is not None:
                offers.append(r)
        return offers

    def _on_info(self, source: Source, info: FeedInfo) -> None:
        if not source.lan and info.swarm_port:
            self.seeder_swarm[source.url] = (source.host, info.swarm_port)
        if source.lan and info.node_id == source.node_id and info.swarm_port:
            self.proven.add(info.node_id)

    def _penalize(self, source: Source, base_s: float) -> None:
        strikes = self.strikes.get(source.url, 0) + 1
        self.strikes[source.url] = strikes
        seconds = min(PENALTY_MAX_S, base_s * 2 ** (strikes - 1))
        self.penalties[source.url] = self.clock() + seconds
        if source.lan and self._discovery is not None:
            self._discovery.penalize(source.node_id, seconds)

    def _verify(self, offer: Offer) -> VerifiedRelease | None:
        now = int(self.clock())
        channel_m = None
        try:
            if offer.roots:
                self.root = self.state.accept_roots(list(offer.roots), now)
            release = verify_manifest_with(offer.manifest, self.root, self.store.active_version,
                                           now)
            channel_m = self.machines.get(release.manifest.channel)
            if channel_m is None:
                raise ConfigError(f"{offer.source.url} offered channel "
                                  f"{release.manifest.channel}, which this box does not follow")
            return release
        except (TrustError, ConfigError) as e:
            self._penalize(offer.source, PENALTY_S)
            self._note_error(offer.source.url, f"{type(e).__name__}: {e}")
            for m in self.machines.values():
                if m.phase is Phase.MANIFEST_FOUND:
                    m.feed(Input.REJECTED, reason=f"{offer.source.url}: {e}")
            return None

    async def _download(self, channel: str, release: VerifiedRelease, offer: Offer) -> None:
        m = self.machines[channel]
        key = release_key(release)
        self.downloading[channel] = key

        def on_phase(p: FetchPhase) -> None:
            if p is FetchPhase.STARTED:
                m.feed(Input.STARTED)
                started.set()
                if self._discovery is not None:
                    self._discovery.advertise()  # neighbours may take pieces from us already
            elif p is FetchPhase.DOWNLOADED and m.phase is Phase.DOWNLOADING:
                m.feed(Input.DOWNLOADED)
            elif p is FetchPhase.CHECKED:
                m.feed(Input.FILES_OK)
            elif p is FetchPhase.ACTIVATED:
                m.feed(Input.ACTIVATED, version=release.manifest.version)

        started = trio.Event()
        try:
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._feed_peers, channel, key, release, offer, started)
                    await fetch_release(self.swarm, self.store, release, policy=self.policy,
                                        on_phase=on_phase, pex=self.pex)
                    nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                known = first_known_error(group)
                if known is None:
                    raise
                raise known from group
        except P2PDistError as e:
            m.feed(Input.FAILED, now=self.clock(), reason=f"{type(e).__name__}: {e}")
            self._note_error(channel, f"{type(e).__name__}: {e}")
            if started.is_set():
                await self.swarm.remove(key)
            return
        finally:
            self.downloading.pop(channel, None)
            self._stalled.pop(channel, None)
        self.activated.set()
        old = self.seeding.get(channel)
        self.seeding[channel] = key
        if old and old != key:
            await self.swarm.remove(old)
        if self._discovery is not None:
            self._discovery.advertise()

    async def _feed_peers(self, channel: str, key: str, release: VerifiedRelease, offer: Offer,
                          started: trio.Event) -> None:
        """Connect LAN neighbours always, and WAN seeders only when this box should use the WAN:
        its own-link mode, elected on its site, or its LAN download stalled."""
        await started.wait()
        dialled: set[tuple[str, int]] = set()
        stall = StallWatch()
        while True:
            for n in list(self.neighbours.values()):
                ep = (n.ip, n.swarm_port)
                if n.swarm_port and ep not in dialled:
                    dialled.add(ep)
                    self.swarm.connect_peer(key, ep, PeerSource.LAN)
            snap = self.swarm.snapshot(key)
            self._stalled[channel] = stall.observe(snap.bytes_done, self.clock())
            use_wan = self._should_use_wan(self._stalled[channel])
            self.wan_enabled[channel] = use_wan
            self.swarm.set_wan_allowed(use_wan)
            if use_wan:
                for ep in self._seeder_endpoints(release, offer):
                    if ep not in dialled:
                        dialled.add(ep)
                        self.swarm.connect_peer(key, ep, PeerSource.SEEDER)
            await trio.sleep(PEER_REFRESH_S)

    def _should_use_wan(self, stalled: bool) -> bool:
        if self.config.site_mode == "own-link" or stalled:
            return True
        return self.elected() == self.node_id

    def elected(self) -> str:
        """The site's WAN box, among neighbours that proved who they are: their feed answered
        with the node id they advertise (a forged mDNS record cannot win)."""
        site = [n.node_id for n in self.neighbours.values()
                if n.site == self.config.site and n.node_id in self.proven]
        return elect(self.node_id, site)

    async def _prove_neighbours_loop(self) -> None:
        """Ask each new LAN neighbour's feed who it is (bounded: one probe per neighbour per
        PROVE_INTERVAL_S, a few seconds each)."""
        asked: dict[str, float] = {}
        while True:
            now = self.clock()
            for n in list(self.neighbours.values()):
                if n.node_id in self.proven or now - asked.get(n.node_id, -1e9) < PROVE_INTERVAL_S:
                    continue
                asked[n.node_id] = now
                try:
                    with trio.fail_after(PROBE_TIMEOUT_S):
                        async with FeedClient(n.feed_url, timeout_s=2, retries=0) as client:
                            info = await client.info()
                except (P2PDistError, trio.TooSlowError):
                    continue
                self._on_info(Source(n.feed_url, lan=True, node_id=n.node_id), info)
            self._neighbours_probed.set()
            await trio.sleep(PEER_REFRESH_S)

    def _seeder_endpoints(self, release: VerifiedRelease, offer: Offer) -> list[tuple[str, int]]:
        eps = []
        for s in release.manifest.seeders:
            host, _sep, port = s.swarm.rpartition(":")
            if host and port.isdigit():
                eps.append((host.strip("[]"), int(port)))
        eps += self.seeder_swarm.values()
        return list(dict.fromkeys(eps))

    # Reporting.

    def _note_error(self, where: str, reason: str) -> None:
        log.warning("%s: %s", where, reason)
        self.last_errors.append({"at": self.clock(), "where": where, "reason": reason})
        del self.last_errors[:-20]
