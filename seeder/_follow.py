"""Where a seeder's releases come from: an upstream feed (`Follower`), or, at the origin, its own
data directory (`OriginWatcher`).

A follower does what a box does (the agent's `ask` is reused to poll each upstream feed), with
the differences of a seeder: no LAN, no site election, every file wanted, and the upstream's
swarm port dialled as a SEEDER peer. Each channel is followed in its own task, so a days-long
download of one channel never holds back another.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

import trio

from keys import P2PDistError, TrustError
from manifest import VerifiedRelease
from p2pdist.agent import Offer, Source, SourceFailure, ask, resolve
from p2pdist.boxstate import BoxState
from p2pdist.errors import StorageError
from p2pdist.feeds import FeedInfo, watch_info
from p2pdist.fetch import FetchPhase, fetch_release, release_key
from p2pdist.store import Store
from p2pdist.swarm import PeerSource, Swarm, UnknownTorrentError
from p2pdist.trust import floors, verify_release_for

from ._logfmt import kv
from ._metrics import SeederMetrics

log = logging.getLogger(__name__)

REDIAL_S = 30.0
"""While fetching, the upstream's swarm address is dialled again this often: a link that drops
for longer than libtorrent's own retries must not stall a days-long transfer."""

OnRelease = Callable[[str, str, int], Awaitable[None]]
"""Told (channel, swarm key, version) once a release is active and seeding."""


def first_leaf(group: BaseExceptionGroup[P2PDistError]) -> P2PDistError:
    """The first error of a (possibly nested) group: trio wraps errors raised in a nursery."""
    leaf = group.exceptions[0]
    return first_leaf(leaf) if isinstance(leaf, BaseExceptionGroup) else leaf


class Follower:
    """Keeps every channel at the newest release the upstream feeds offer, then seeds it.

    Start with ``await nursery.start(follower.run)``.
    """

    def __init__(self, *, swarm: Swarm, store: Store, state: BoxState, channels: tuple[str, ...],
                 upstream: tuple[str, ...], poll_interval_s: float, metrics: SeederMetrics,
                 on_release: OnRelease, on_offer: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.swarm = swarm
        self.store = store
        self.state = state
        self.channels = channels
        self.upstream = upstream
        self.poll_interval_s = poll_interval_s
        self.metrics = metrics
        self.on_release = on_release
        self.on_offer = on_offer  # told when `offering` changed
        self.clock = clock
        self._upstream_changed = {c: trio.Event() for c in channels}
        self.fetching: dict[str, str] = {}  # channel -> swarm key
        self.offering: dict[str, int] = {}  # channel -> version fetching, offered downstream

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for channel in self.channels:
                nursery.start_soon(self._follow, channel)
            for url in self.upstream:
                nursery.start_soon(partial(watch_info, fallback_s=self.poll_interval_s),
                                   url, self._upstream_info)
            task_status.started()

    async def _follow(self, channel: str) -> None:
        while True:
            try:
                await self.poll(channel)
            except P2PDistError as e:
                self._error("poll_failed", channel, e)
            with trio.move_on_after(self.poll_interval_s):
                await self._upstream_changed[channel].wait()
            self._upstream_changed[channel] = trio.Event()

    def _upstream_info(self, info: FeedInfo) -> None:
        """An upstream's info changed (it held our request until then): poll each channel it
        offers newer than the one active or being fetched here now, not at the next interval."""
        for channel, offered in info.channels.items():
            event = self._upstream_changed.get(channel)
            if event is None or offered <= self.offering.get(channel, 0):
                continue
            try:
                active = self.store.active_version(channel) or 0
            except P2PDistError:
                active = 0  # the poll will name what is wrong with the store
            if offered > active:
                event.set()

    def _error(self, event: str, channel: str, error: BaseException, url: str | None = None
               ) -> None:
        self.metrics.upstream_errors.inc()
        log.warning(kv(event, channel=channel, upstream=url, error=type(error).__name__,
                       detail=error))

    async def poll(self, channel: str) -> None:
        """Ask every upstream once; fetch and seed the newest verified release offered.

        Raises:
            P2PDistError: the trusted roots cannot be loaded, or the store cannot be read.
        """
        root = self.state.trusted_root(int(self.clock()))
        # The floor, not the active version: fast-forward recovery may have reset it.
        active = floors(root, self.store.active_version, self.store.manifest_envelope)(channel)
        results: list[Offer | SourceFailure | None] = []

        async def one(url: str) -> None:
            results.append(await ask(Source(url, lan=False), channel, root.version, active))

        async with trio.open_nursery() as nursery:
            for url in self.upstream:
                nursery.start_soon(one, url)
        offers = []
        for r in results:
            if isinstance(r, SourceFailure):
                self.metrics.upstream_errors.inc()
                log.warning(kv("upstream_unreachable", channel=channel, upstream=r.source.url,
                               detail=r.reason))
            elif r is not None:
                offers.append(r)
        for offer in sorted(offers, key=lambda o: -o.version_hint):
            release = self._verify(channel, offer)
            if release is not None and release.is_new:
                await self._fetch(channel, release, offer)
                return

    def _verify(self, channel: str, offer: Offer) -> VerifiedRelease | None:
        now = int(self.clock())
        try:
            # Idempotent: rotations another channel's task stored meanwhile are skipped.
            root = (self.state.accept_roots(list(offer.roots), now) if offer.roots
                    else self.state.trusted_root(now))
            return verify_release_for(offer.manifest, root,
                                      floors(root, self.store.active_version,
                                             self.store.manifest_envelope), now,
                                      expected_channel=channel)
        except (TrustError, StorageError) as e:
            self._error("upstream_rejected", channel, e, offer.source.url)
            return None

    async def _peers(self, release: VerifiedRelease, offer: Offer) -> list[tuple[str, int]]:
        """The upstream's swarm address, then the seeders the manifest names (host names
        resolved; one that does not resolve now is left out)."""
        candidates = [(offer.source.host, offer.swarm_port)] if offer.swarm_port else []
        for s in release.manifest.seeders:
            host, _sep, port = s.swarm.rpartition(":")
            if port.isdigit():
                candidates.append((host.strip("[]"), int(port)))
        eps = [ep for h, p in dict.fromkeys(candidates) if (ep := await resolve(h, p))]
        return list(dict.fromkeys(eps))

    async def _fetch(self, channel: str, release: VerifiedRelease, offer: Offer) -> None:
        m = release.manifest
        key = release_key(release)
        peers = await self._peers(release, offer)
        started = trio.Event()

        def on_phase(phase: FetchPhase) -> None:
            if phase is FetchPhase.STARTED:
                started.set()
                self.offering[channel] = m.version  # its torrent serves what it has from now
                self.on_offer()

        log.info(kv("fetch_started", channel=channel, version=m.version,
                    upstream=offer.source.url, peers=len(peers)))
        self.fetching[channel] = key
        failure: P2PDistError | None = None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._redial, key, peers, started)
                report = await fetch_release(
                    self.swarm, self.store, release, on_phase=on_phase,
                    peers=[(ep, PeerSource.SEEDER) for ep in peers])
                nursery.cancel_scope.cancel()
        except* P2PDistError as group:
            failure = first_leaf(group)
        finally:
            del self.fetching[channel]
            if self.offering.pop(channel, None) is not None:
                self.on_offer()
        if failure is not None:
            self._error("fetch_failed", channel, failure, offer.source.url)
            if started.is_set():
                with contextlib.suppress(UnknownTorrentError):
                    await self.swarm.remove(key)
            return
        log.info(kv("fetch_done", channel=channel, version=m.version,
                    seconds=round(report.seconds, 1), reused=report.bytes_reused,
                    downloaded=report.payload_download))
        await self.on_release(channel, key, m.version)

    async def _redial(self, key: str, peers: list[tuple[str, int]], started: trio.Event) -> None:
        await started.wait()
        while True:
            await trio.sleep(REDIAL_S)
            for ep in peers:
                self.swarm.connect_peer(key, ep, PeerSource.SEEDER)


ORIGIN_WATCH_S = 1.0
"""How often the origin looks at its own active links (one readlink per channel): a publish is
seeded within a second instead of within a poll interval (60 s by default)."""


class OriginWatcher:
    """The origin's upstream is its own data directory: `p2pdist release publish` (another
    process) activates a release there; the watcher notices and has it seeded."""

    def __init__(self, *, channels: tuple[str, ...], poll_interval_s: float,
                 seed_active: Callable[[str], Awaitable[None]]) -> None:
        self.channels = channels
        self.poll_interval_s = min(poll_interval_s, ORIGIN_WATCH_S)
        self.seed_active = seed_active

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await trio.sleep(self.poll_interval_s)
            for channel in self.channels:
                try:
                    await self.seed_active(channel)
                except P2PDistError as e:
                    log.warning(kv("seed_failed", channel=channel, error=type(e).__name__,
                                   detail=e))
