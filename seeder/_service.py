"""The seeder service: one module that assembles store, swarm, feed, check-in intake, forwarder,
upstream follower (or origin watcher) and metrics, as the agent does for a box.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import trio

from keys import MAX_ROOT_BYTES, P2PDistError, parse_root_envelope
from p2pdist.boxstate import BoxState
from p2pdist.errors import ConfigError, NetworkError
from p2pdist.feeds import serve_asgi, serve_feed
from p2pdist.i18n import _
from p2pdist.store import Store
from p2pdist.swarm import Swarm, TorrentSnapshot, UnknownTorrentError
from p2pdist.wakeup import Wakeup

from ._config import SeederConfig
from ._dashboard import make_app
from ._db import CheckinDB, db_path
from ._follow import Follower, OriginWatcher
from ._forward import Forwarder
from ._intake import CheckinIntake
from ._logfmt import kv
from ._metrics import SeederMetrics, serve_metrics
from ._source import SeederFeedSource
from ._webseed import WEBSEED_PATH, make_webseed_app

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 2.0


def _read_root(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(MAX_ROOT_BYTES + 1)
    except OSError as e:
        raise ConfigError(_("cannot read the trust root {path}: {err}").format(
            path=path, err=e.strerror)) from e


class SeederService:
    """A national origin or provincial seeder. Start with ``await nursery.start(service.run)``;
    `feed_port`, `metrics_port` and `swarm.listen_port` are known once it started.
    """

    def __init__(self, config: SeederConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.store = Store(config.data)
        self.state = BoxState(config.data)
        self.node_id = self.state.identity().keyid
        self.metrics = SeederMetrics()
        self.swarm = Swarm(config.swarm_config())
        self.seeding: dict[str, str] = {}  # channel -> swarm key
        self.follower: Follower | None = None
        self.feed_port = 0
        self.metrics_port = 0
        self.web_port = 0
        self._scope = trio.CancelScope()
        self._stopped = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.previous: dict[str, str] = {}  # channel -> the key kept seeded after a new release
        self.super_seeding: set[str] = set()  # keys super-seeded now
        self.seeded_version: dict[str, int] = {}  # channel -> version seeded now
        self.offers = Wakeup()  # what the feed offers changed: held /info requests answer
        self.served: dict[str, tuple[Path, frozenset[str]]] = {}
        """Web seed: torrent name -> (its folder on disk, the manifest's file paths)."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled.

        Raises:
            ConfigError: the root cannot be pinned, or an address cannot be bound.
            TrustError: the configured roots do not verify.
            StorageError: the data directory or database cannot be used.
            NetworkError: the swarm cannot listen.
        """
        self._install_roots()
        root = self.state.trusted_root(int(self.clock()))
        log.info(kv("seeder_starting", node=self.node_id, root_version=root.version,
                    role="origin" if self.config.origin else "follower"))
        db = CheckinDB.open(db_path(self.config.data))
        try:
            self.metrics.boxes_seen.set(db.box_count())
            with self._scope:
                await self._serve(db, task_status)
        finally:
            db.close()
            self._stopped.set()

    async def _serve(self, db: CheckinDB, task_status: trio.TaskStatus[None]) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            with self._setting("listen"):
                await nursery.start(self.swarm.run)
            for channel in self.config.channels:
                await self.seed_active(channel)
            forwarder = (Forwarder(db, self.config.forward_to, self.metrics, clock=self.clock)
                         if self.config.forward_to else None)
            intake = CheckinIntake(db, self.config.allow_boxes, self.metrics,
                                   forward=forwarder is not None,
                                   on_accepted=forwarder.wake if forwarder else _nothing,
                                   clock=self.clock)
            upstream = self._upstream()
            source = SeederFeedSource(
                self.node_id, self.store, self.state, self.config.channels,
                lambda: self.swarm.listen_port, intake,
                fetching=lambda: self.follower.offering if self.follower is not None else {},
                changes=self.offers)
            webseed = make_webseed_app(self.webseed_file)
            with self._setting("feed"):
                self.feed_port = await nursery.start(partial(
                    serve_feed, source, self.config.feed, mounts={WEBSEED_PATH: webseed}))
            if self.config.metrics:
                with self._setting("metrics"):
                    self.metrics_port = await nursery.start(
                        serve_metrics, self.metrics.registry, self.config.metrics)
            if self.config.web:
                with self._setting("web"):
                    self.web_port = await nursery.start(partial(
                        serve_asgi, make_app(self.config.data, channels=self.config.channels,
                                             allowed=self.config.allow_boxes,
                                             stale_hours=self.config.stale_hours),
                        self.config.web, name="dashboard"))
            if forwarder is not None:
                await nursery.start(forwarder.run)
            await nursery.start(upstream.run)
            nursery.start_soon(self._sample_loop)
            log.info(kv("seeder_ready", swarm_port=self.swarm.listen_port,
                        feed_port=self.feed_port, metrics_port=self.metrics_port,
                    web_port=self.web_port))
            task_status.started()

    @contextlib.contextmanager
    def _setting(self, key: str) -> Iterator[None]:
        """Name the configuration file and key in an address that cannot be used."""
        try:
            yield
        except (ConfigError, NetworkError) as e:
            raise ConfigError(_("{path}: {key}: {err}").format(
                path=self.config.path, key=key, err=e)) from e

    def _install_roots(self) -> None:
        """Pin the configured root (a no-op when already pinned) and take configured rotations
        newer than the stored ones, each verified from the one before."""
        self.state.pin_root(_read_root(self.config.root))
        newest = self.state.root_files()[-1][0]
        blobs = [_read_root(p) for p in self.config.rotations]
        newer = sorted((b for b in blobs if parse_root_envelope(b)[1].version > newest),
                       key=lambda b: parse_root_envelope(b)[1].version)
        if newer:
            self.state.accept_roots(newer, int(self.clock()))

    def _upstream(self) -> Follower | OriginWatcher:
        if self.config.origin:
            return OriginWatcher(channels=self.config.channels,
                                 poll_interval_s=self.config.poll_interval_s,
                                 seed_active=self.seed_active)
        self.follower = Follower(
            swarm=self.swarm, store=self.store, state=self.state, channels=self.config.channels,
            upstream=self.config.upstream, poll_interval_s=self.config.poll_interval_s,
            metrics=self.metrics, on_release=self._seeded, on_offer=self.offers.set,
            clock=self.clock)
        return self.follower

    async def seed_active(self, channel: str) -> None:
        """Seed the active release of `channel` if it is not seeded yet (it was verified before
        activation, so it seeds without a recheck)."""
        version = self.store.active_version(channel)
        if version is None or self.seeded_version.get(channel) == version:
            return  # the origin asks every second: a readlink, no manifest read
        m = self.store.load_manifest(channel, version)
        if self.seeding.get(channel) == m.torrent_name:
            return
        await self.swarm.add_torrent(m.torrent_name, m.torrent,
                                     self.store.save_path(channel, version), seed_mode=True)
        await self._seeded(channel, m.torrent_name, version)

    def webseed_file(self, name: str, rel: str) -> Path | None:
        """The file `rel` of the seeded release `name`, for the web seed; None if not served."""
        entry = self.served.get(name)
        if entry is None or rel not in entry[1]:
            return None
        return entry[0] / rel

    async def _remove(self, key: str) -> None:
        self.served.pop(key, None)
        with contextlib.suppress(UnknownTorrentError):
            await self.swarm.remove(key)

    async def _seeded(self, channel: str, key: str, version: int) -> None:
        old = self.seeding.get(channel)
        self.seeding[channel] = key
        self.seeded_version[channel] = version
        self.offers.set()  # answer the feed requests held for a change
        self._apply_super_seeding()
        m = self.store.load_manifest(channel, version)
        self.served[key] = (self.store.save_path(channel, version) / key,
                            frozenset(f.path for f in m.files))
        if old is not None and old != key:
            await self._retire(channel, old)
        self.metrics.releases.set(len(self.seeding))
        self.metrics.release_version.labels(channel).set(version)
        log.info(kv("seeding", channel=channel, version=version, key=key))

    async def _retire(self, channel: str, old: str) -> None:
        """Keep the previous release seeded for `keep_previous_s`, so a box that cannot switch
        yet (policy, disk, an older root) still finishes what it started; then drop it."""
        stale = self.previous.pop(channel, None)
        if stale is not None and stale != old:
            await self._remove(stale)
        if self.config.keep_previous_s <= 0 or self._nursery is None:
            await self._remove(old)
            return
        self.previous[channel] = old
        log.info(kv("keeping_previous", channel=channel, key=old,
                    seconds=self.config.keep_previous_s))

        async def later() -> None:
            await trio.sleep(self.config.keep_previous_s)
            if self.previous.get(channel) == old:
                del self.previous[channel]
                await self._remove(old)
                log.info(kv("previous_retired", channel=channel, key=old))

        self._nursery.start_soon(later)

    def snapshots(self) -> dict[str, TorrentSnapshot]:
        """Every torrent in the swarm now (seeding and being fetched), by key."""
        keys = {*self.seeding.values(), *(self.follower.fetching.values() if self.follower
                                         else ())}
        out = {}
        for key in keys:
            with contextlib.suppress(P2PDistError):
                out[key] = self.swarm.snapshot(key)
        return out

    def _apply_super_seeding(self, snaps: dict[str, TorrentSnapshot] | None = None) -> None:
        """Super-seed a seeded release only while enough peers are connected to it (see
        `SeederConfig.super_seed_min_peers`): with one or two downloaders it only slows them."""
        if not self.config.super_seed and not self.super_seeding:
            return
        seeded = set(self.seeding.values()) | set(self.previous.values())
        self.super_seeding &= seeded  # a retired release is gone from the swarm
        for key in seeded:
            snap = (snaps or {}).get(key)
            if snap is None:
                with contextlib.suppress(P2PDistError):
                    snap = self.swarm.snapshot(key)
            if snap is None:
                continue
            want = (self.config.super_seed
                    and sum(snap.peers.values()) >= self.config.super_seed_min_peers)
            if want != (key in self.super_seeding):
                with contextlib.suppress(UnknownTorrentError):
                    self.swarm.set_super_seeding(key, want)
                    if want:
                        self.super_seeding.add(key)
                    else:
                        self.super_seeding.discard(key)
                    log.info(kv("super_seeding", key=key, on=want,
                                peers=sum(snap.peers.values())))

    async def _sample_loop(self) -> None:
        while True:
            snaps = self.snapshots()
            self.metrics.observe(snaps)
            self._apply_super_seeding(snaps)
            await trio.sleep(SAMPLE_INTERVAL_S)

    async def aclose(self) -> None:
        """Stop `run` and wait until it is done (the swarm saves resume data on the way out)."""
        self._scope.cancel()
        await self._stopped.wait()


def _nothing() -> None:
    """No forwarder to wake."""
