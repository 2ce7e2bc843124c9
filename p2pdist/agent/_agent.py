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
from functools import partial
from pathlib import Path
from typing import Any

import trio

from keys import P2PDistError, TrustError
from manifest import VerifiedRelease

from ..boxstate import BoxState
from ..checkin import ChannelReport, CheckinQueue, ServiceLog
from ..config import BoxConfig
from ..control import serve_control, socket_path
from ..errors import ConfigError, StorageError
from ..feeds import FeedInfo, serve_feed, watch_info
from ..i18n import _
from ..repair import Repairer
from ..seeding import seed_active
from ..store import Store
from ..swarm import Swarm, SwarmConfig
from ..trust import TrustState, last_trusted
from ..wakeup import Wakeup
from ..web import Library, serve_library
from ._checkins import Checkins, channel_reports
from ._downloads import DownloadSupervisor
from ._feedsource import BoxFeedSource
from ._lan import LanDiscovery
from ._machine import Input, Output, Phase, UpdateMachine
from ._neighbours import SiteNeighbours
from ._policy import Demotions, LanPeer, SourcePolicy
from ._sources import Offer, Source, SourceFailure, ask
from ._status import handle_control

log = logging.getLogger(__name__)

PENALTY_S = 300.0
FAILURE_PENALTY_S = 30.0


class BoxAgent(DownloadSupervisor, SiteNeighbours):
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
            resume_interval_s=30.0,  # plus a byte budget (SwarmConfig)
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
        self.policy_sources = SourcePolicy()
        self.seeding: dict[str, str] = {}  # channel -> swarm key
        self.downloading: dict[str, str] = {}
        self.wan_enabled: dict[str, bool] = {}
        self.seeder_swarm: dict[str, tuple[str, int]] = {}  # seeder feed URL -> swarm address
        self.proven: set[str] = set()  # LAN neighbours whose feed confirmed their node id
        self.demotions = Demotions()  # elected boxes that delivered nothing, passed over
        self.last_errors: list[dict[str, Any]] = []
        self._poke = trio.Event()
        self.holdings = Wakeup()  # what this box offers changed (its feed's held requests)
        self._discovery: LanDiscovery | None = None
        self._neighbours_probed = trio.Event()
        self._probe_now = trio.Event()
        # Set once discovery had time to find the site: until then a shared-uplink box fetches
        # manifests and trades with LAN peers but does not use the WAN (it may not be elected).
        self.election_settled = trio.Event()
        self.identity = self.state.identity()
        self.outbox = CheckinQueue(data_dir / "state")
        self.service = ServiceLog(data_dir / "state", clock=clock)
        self.rejected: dict[str, tuple[int, str]] = {}  # channel -> (version, why), last one
        self.checkins = Checkins(identity=self.identity, outbox=self.outbox,
                                 service=self.service, site=config.site,
                                 seeders=config.seeders, data_dir=data_dir, clock=clock,
                                 channels=self.channel_reports)
        self._stalled: dict[str, bool] = {}
        self.stalls: dict[str, dict[str, Any]] = {}  # channel -> the stall in plain words
        self.trust: TrustState  # loaded (re-verified) at `run`; roots persisted by `state`

    # Lifecycle.

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.trust = self.state.trust_state(int(self.clock()), last_trusted(
            self.config.channels, self.store.active_version, self.store.manifest_envelope))
        async with trio.open_nursery() as nursery:
            await nursery.start(self.swarm.run)
            seeded = set(await seed_active(self.swarm, self.store, pex=self.pex))
            self.repairer = Repairer(self.swarm, self.store, self.data_dir, policy=self.policy,
                                     endpoints=lambda: [*self.seeder_swarm.values(), *[
                                         (n.ip, n.swarm_port) for n in self.neighbours.values()
                                         if n.swarm_port]])
            for c in self.config.channels:
                key = self._key_of_active(c)
                if key in seeded:
                    self.seeding[c] = key
            source = BoxFeedSource(self.node_id, self.store, self.state, self.config.channels,
                                   self.swarm.listen_port, self.holdings)
            self.feed_port = await nursery.start(
                partial(serve_feed, identity=self.state.identity()), source, self.config.feed)
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
            for url in self.config.seeders:
                nursery.start_soon(partial(watch_info, fallback_s=self.config.poll_interval_s),
                                   url, self._upstream_info)
            nursery.start_soon(self._settle_election)
            nursery.start_soon(self._wan_policy_loop)
            nursery.start_soon(self.checkins.run)
            nursery.start_soon(self._update_loop)
            nursery.start_soon(self.repairer.run)
            task_status.started()

    def _key_of_active(self, channel: str) -> str | None:
        v = self.store.active_version(channel)
        return self.store.load_manifest(channel, v).torrent_name if v is not None else None

    def _upstream_info(self, info: FeedInfo) -> None:
        """A seeder's info changed (its feed held our request until it did): poll now if it
        offers a version of a channel newer than any this box recorded."""
        for channel in self.config.channels:
            offered = info.channels.get(channel)
            if offered is None:
                continue
            try:
                newer = offered > max(self.store.releases(channel), default=0)
            except P2PDistError:
                newer = True  # the poll will name what is wrong with the store
            if newer:
                self.poke()
                return

    def poke(self) -> None:
        """Poll sources now (a neighbour has something newer, or a technician asked)."""
        self._poke.set()

    # The update loop.

    async def _update_loop(self) -> None:
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
        """One poll of a channel, driven by the machine's outputs (the table is the truth)."""
        m = self.machines[channel]
        now = self.clock()
        if m.phase is Phase.FAILED:
            if not m.retry_due(now):
                return
            outs = m.feed(Input.RETRY, now=now)
        else:
            outs = m.feed(Input.POLL, now=now)
        if Output.FETCH_MANIFESTS not in outs:
            return
        offers = await self._gather(channel)
        for offer in sorted(offers, key=lambda o: -o.version_hint):
            if Output.VERIFY not in m.feed(Input.MANIFEST, version=offer.version_hint):
                continue
            release = self._verify(offer, channel)
            if release is None:
                continue
            if not release.is_new:
                m.feed(Input.VERIFIED_OLD)
                continue
            log.info(_("{channel} v{v} found at {source} and verified (signed by role {role})")
                     .format(channel=channel, v=release.manifest.version,
                             source=offer.source.url, role=release.role))
            if Output.START_DOWNLOAD in m.feed(Input.VERIFIED_NEW,
                                               version=release.manifest.version):
                await self._download(channel, release, offer)
            return

    def _sources(self, channel: str) -> list[Source]:
        return self.policy_sources.sources(self.config.seeders, self.neighbours.values(),
                                           channel, self.clock())

    async def _gather(self, channel: str, newer_than: int | None = None) -> list[Offer]:
        results: list[Offer | SourceFailure | None] = []
        root_version = self.trust.root.version
        active = self.floor(channel)  # not the active version itself: see fast-forward
        newer = max(newer_than or 0, active or 0) if (newer_than or active) else None

        async def one(s: Source) -> None:
            r = await ask(s, channel, root_version, newer, self._on_info)
            if not isinstance(r, SourceFailure):
                self.policy_sources.answered(s.url)
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

    def floor(self, channel: str) -> int | None:
        """The channel's rollback floor under the current root (fast-forward recovery)."""
        return self.trust.floor(channel)

    def _penalize(self, source: Source, base_s: float) -> None:
        seconds = self.policy_sources.penalize(source.url, base_s, self.clock())
        if source.lan and self._discovery is not None:
            self._discovery.penalize(source.node_id, seconds)

    def _verify(self, offer: Offer, channel: str) -> VerifiedRelease | None:
        """The offer's release for `channel` once verified, or None (the source is penalized,
        the error noted, the active release untouched)."""
        now = int(self.clock())
        try:
            if offer.roots:  # idempotent: roots already trusted are skipped
                self.state.store_roots(self.trust.update_roots(list(offer.roots), now))
            return self.trust.verify(offer.manifest, channel, now,
                                     followed=frozenset(self.config.channels))
        except (TrustError, ConfigError, StorageError) as e:
            m = self.machines[channel]
            # Found while resting: the machine says what to do. Found by the supervisor of a
            # running download: the download goes on, the liar is penalized all the same.
            outs = (m.feed(Input.REJECTED, reason=f"{offer.source.url}: {e}")
                    if m.phase is Phase.MANIFEST_FOUND else (Output.PENALIZE, Output.REPORT))
            if Output.PENALIZE in outs:
                self._penalize(offer.source, PENALTY_S)
            if Output.REPORT in outs:
                self._note_error(offer.source.url, f"{type(e).__name__}: {e}")
            self.reject(channel, offer.version_hint, offer.source.url, e)
            return None

    # Reporting.

    def reject(self, channel: str, version: int, where: str, error: Exception) -> None:
        """Remember a release refused by the trust or torrent check, for `status` and the
        check-in; a new reason is checked in soon, so the center sees it without waiting."""
        why = _("v{v} from {where} rejected: {kind}: {err}").format(
            v=version, where=where, kind=type(error).__name__, err=error)
        if self.rejected.get(channel, (0, ""))[1] != why:
            self.rejected[channel] = (version, why)
            self.checkins.due()

    def activated(self, channel: str, version: int) -> None:
        """A release became active: rejections it supersedes are over; the center hears."""
        if self.rejected.get(channel, (version + 1, ""))[0] <= version:
            del self.rejected[channel]
        self.checkins.due()

    def channel_reports(self) -> dict[str, ChannelReport]:
        """Each channel's line of the check-in."""
        return channel_reports(self.machines, self.downloading, self.swarm.snapshot,
                               {c: why for c, (_v, why) in self.rejected.items()})

    def _note_error(self, where: str, reason: str) -> None:
        log.warning("%s: %s", where, reason)
        self.last_errors.append({"at": self.clock(), "where": where, "reason": reason})
        del self.last_errors[:-20]
