"""The supervised download of one channel's release, the agent's largest duty.

Whatever starts a download watches it: `_watch_newer` asks the sources every poll for a newer
verified release (which supersedes the running one, its finished files kept), and
`_feed_peers` dials LAN neighbours and, when this box may use the WAN, every seeder, again and
again with capped back-off while pieces are missing; a stall is logged, said in `status`, and
makes the box ask every source again. `BoxAgent` mixes this in; the attributes and methods it
relies on are declared below.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from keys import P2PDistError, TrustError
from manifest import VerifiedRelease

from ..backoff import Redial
from ..config import BoxConfig
from ..errors import StorageError, first_known_error
from ..fetch import FetchPhase, fetch_release, missing_files, release_key
from ..i18n import _
from ..store import Policy, Store
from ..swarm import PeerSource, Swarm
from ..trust import TrustState
from ..wakeup import Wakeup
from ._lan import LanDiscovery
from ._machine import Input, Output, Phase, UpdateMachine
from ._policy import Demotions, LanPeer
from ._sources import Offer
from ._supervise import Stall, resolve, salvage, wait_for_election_or

log = logging.getLogger("p2pdist.agent._agent")

PEER_REFRESH_S = 2.0
DEMOTE_STALLS = 10
"""A site box that delivered nothing is passed over in the election for this many stall
periods; then it may hold the WAN role again (it may have been only slow, or repaired)."""


class DownloadSupervisor:
    """Download and watch; mixed into `BoxAgent` (which provides what is declared here)."""

    config: BoxConfig
    clock: Callable[[], float]
    store: Store
    swarm: Swarm
    policy: Policy
    pex: bool
    machines: dict[str, UpdateMachine]
    trust: TrustState
    neighbours: dict[str, LanPeer]
    seeding: dict[str, str]
    downloading: dict[str, str]
    wan_enabled: dict[str, bool]
    seeder_swarm: dict[str, tuple[str, int]]
    stalls: dict[str, dict[str, Any]]
    demotions: Demotions
    node_id: str
    _stalled: dict[str, bool]
    _discovery: LanDiscovery | None
    holdings: Wakeup
    _poke: trio.Event
    election_settled: trio.Event

    if TYPE_CHECKING:  # provided by BoxAgent
        def poke(self) -> None: ...
        def _next_wait(self) -> float: ...
        def _should_use_wan(self, stalled: bool) -> bool: ...
        def elected(self) -> str: ...
        def _note_error(self, where: str, reason: str) -> None: ...
        def reject(self, channel: str, version: int, where: str, error: Exception,
                   ) -> None: ...
        def activated(self, channel: str, version: int) -> None: ...
        def _verify(self, offer: Offer, channel: str) -> VerifiedRelease | None: ...
        async def _gather(self, channel: str, newer_than: int | None = None,
                          ) -> list[Offer]: ...

    async def _download(self, channel: str, release: VerifiedRelease, offer: Offer) -> None:
        """Fetch `release`; while it runs, a newer verified release of the channel supersedes
        it (the finished files of the old one are kept for the new one)."""
        m = self.machines[channel]
        while True:
            newer = await self._download_once(channel, release, offer)
            if newer is None:
                return
            old, (release, offer) = release, newer
            log.info(_("{channel} v{new} supersedes v{old}, which was still downloading").format(
                channel=channel, new=release.manifest.version, old=old.manifest.version))
            try:
                kept = await salvage(self.store, old.manifest, release.manifest)
            except StorageError as e:
                self._note_error(channel, f"{type(e).__name__}: {e}")
                kept = 0
            log.info(_("{channel}: {n} file(s) of v{old} kept for v{new}").format(
                channel=channel, n=kept, old=old.manifest.version, new=release.manifest.version))
            if Output.START_DOWNLOAD not in m.feed(Input.SUPERSEDED,
                                                   version=release.manifest.version):
                return

    async def _download_once(self, channel: str, release: VerifiedRelease, offer: Offer,
                             ) -> tuple[VerifiedRelease, Offer] | None:
        """One supervised fetch; returns the newer release that superseded it, if any."""
        m = self.machines[channel]
        key = release_key(release)
        self.downloading[channel] = key
        newer: list[tuple[VerifiedRelease, Offer]] = []

        def on_phase(p: FetchPhase) -> None:
            if p is FetchPhase.STARTED:
                m.feed(Input.STARTED)
                started.set()
                self._announce()  # neighbours may take pieces from us already
            elif p is FetchPhase.DOWNLOADED and m.phase is Phase.DOWNLOADING:
                m.feed(Input.DOWNLOADED)
            elif p is FetchPhase.CHECKED:
                m.feed(Input.FILES_OK)
            elif p is FetchPhase.ACTIVATED:
                self.trust.trust(release)  # the channel's rollback floor from now on
                m.feed(Input.ACTIVATED, version=release.manifest.version)

        started = trio.Event()
        try:
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._feed_peers, channel, key, release, offer, started)
                    nursery.start_soon(self._watch_newer, channel, release.manifest.version,
                                       newer, nursery.cancel_scope)
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
            if isinstance(e, TrustError):  # e.g. libtorrent refused the signed torrent
                self.reject(channel, release.manifest.version, offer.source.url, e)
            if started.is_set():
                await self.swarm.remove(key)
            return None
        finally:
            self.downloading.pop(channel, None)
            self.stalls.pop(channel, None)
        if newer and m.phase in (Phase.VERIFIED, Phase.DOWNLOADING):
            if started.is_set():
                await self.swarm.remove(key)
            return newer[0]
        self.activated(channel, release.manifest.version)
        old = self.seeding.get(channel)
        self.seeding[channel] = key
        if old and old != key:
            await self.swarm.remove(old)
        self._announce()
        return None

    def _announce(self) -> None:
        """Tell neighbours what this box holds now: its mDNS advert, and the feed requests
        held for a change (see `p2pdist.feeds`)."""
        if self._discovery is not None:
            self._discovery.advertise()
        self.holdings.set()

    async def _watch_newer(self, channel: str, version: int,
                           found: list[tuple[VerifiedRelease, Offer]],
                           scope: trio.CancelScope) -> None:
        """While `version` downloads, ask the sources every poll (or when poked) for a newer
        verified release; the first one cancels the download so `_download` switches."""
        while True:
            with trio.move_on_after(self._next_wait()):
                await self._poke.wait()
            self._poke = trio.Event()
            offers = await self._gather(channel, newer_than=version)
            for offer in sorted(offers, key=lambda o: -o.version_hint):
                release = self._verify(offer, channel)
                if release is not None and release.manifest.version > version:
                    found.append((release, offer))
                    scope.cancel()
                    return

    async def _feed_peers(self, channel: str, key: str, release: VerifiedRelease, offer: Offer,
                          started: trio.Event) -> None:
        """Connect LAN neighbours always, and WAN seeders only when this box should use the WAN:
        its own-link mode, elected on its site, or its download stalled. Every known source is
        redialled with capped back-off for as long as pieces are missing."""
        await started.wait()
        redial = Redial()
        stall = Stall(self.config.stall_s)
        while True:
            now = self.clock()
            snap = self.swarm.snapshot(key)
            was_stalled = stall.stalled
            stalled = stall.observe(snap.bytes_done, snap.bytes_wanted, now)
            if stalled and not was_stalled and self._demote_quiet_wan_box(stall, now):
                stalled = False  # the site's next box takes the WAN; give it a stall period
            self._stalled[channel] = stalled
            if stalled and not was_stalled:
                self.poke()  # ask every source again now (fresh swarm ports, newer releases)
                missing = missing_files(self.store, release.manifest,
                                        self.policy.wanted(release.manifest))
                log.warning(_("{channel} v{v} stalled: no data for {s:.0f} s, {n} file(s) "
                              "missing; asking every source again").format(
                    channel=channel, v=release.manifest.version, s=now - stall.since,
                    n=len(missing)))
            lan = [(n.ip, n.swarm_port) for n in list(self.neighbours.values()) if n.swarm_port]
            use_wan = self._should_use_wan(stalled)
            self.wan_enabled[channel] = use_wan
            self.swarm.set_wan_allowed(use_wan)
            wan = await self._seeder_endpoints(release) if use_wan else []
            for ep in redial.due(lan + wan, now):
                source = PeerSource.LAN if ep in lan else PeerSource.SEEDER
                try:
                    self.swarm.connect_peer(key, ep, source)
                except ValueError as e:
                    self._note_error(f"{ep[0]}:{ep[1]}", str(e))
                stall.tried.add(f"{ep[0]}:{ep[1]}")
            if stalled:
                missing = missing_files(self.store, release.manifest,
                                        self.policy.wanted(release.manifest))
                self.stalls[channel] = stall.describe(missing, redial.next_at())
            else:
                self.stalls.pop(channel, None)
            await wait_for_election_or(self.election_settled, PEER_REFRESH_S)

    def _demote_quiet_wan_box(self, stall: Stall, now: float) -> bool:
        """This follower's download stalled while another box holds the site's WAN role: that
        box delivered nothing for a stall period, so pass it over (every follower sees the same
        stall and agrees on the next box) and measure the next box from now. True if demoted."""
        elected = self.elected()
        if self.config.site_mode != "shared-uplink" or elected == self.node_id:
            return False
        self.demotions.demote(elected, DEMOTE_STALLS * self.config.stall_s, now)
        successor = self.elected()
        log.warning(_("the site's WAN box {old} delivered nothing for {s:.0f} s; passing it "
                      "over, {new} takes the WAN").format(
            old=elected[:12], s=now - stall.since,
            new=_("this box") if successor == self.node_id else successor[:12]))
        stall.restart(now)
        self.poke()
        return True

    async def _seeder_endpoints(self, release: VerifiedRelease) -> list[tuple[str, int]]:
        """The swarm addresses of the release's seeders and of the seeders asked, host names
        resolved (a name that does not resolve now is tried again at the next round)."""
        eps = []
        for seeder in release.manifest.seeders:
            name, _sep, digits = seeder.swarm.rpartition(":")
            if name and digits.isdigit():
                eps.append((name.strip("[]"), int(digits)))
        eps += self.seeder_swarm.values()
        out = []
        for host, port in dict.fromkeys(eps):
            ep = await resolve(host, port)
            if ep is not None:
                out.append(ep)
        return list(dict.fromkeys(out))
