"""The swarm as the pipeline's source: fetching one verified release into the store.

`fetch_release` runs the one update pipeline (`p2pdist.pipeline`) with `SwarmSource`: the
torrent is added with the reused files marked held, the given peers are dialled (again, with
capped back-off, while pieces are missing), and libtorrent's v2 merkle check against the signed
torrent stands for the SHA-256 of freshly downloaded files (bytes restored from resume data are
hashed again). Killed anywhere, the next run repeats the same steps: linked files stay,
libtorrent resumes from its resume data (or rechecks what is on disk), and the previous active
release is untouched until the final switch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import trio

from manifest import FileEntry, Manifest, VerifiedRelease

from .backoff import Redial
from .errors import StallError, TorrentRefusedError, first_known_error
from .i18n import _
from .pipeline import FetchPhase, update_release
from .store import GcReport, Policy, ReleasePlan, Store
from .swarm import PeerSource, TorrentSnapshot

__all__ = ["FetchPhase", "FetchReport", "SwarmSource", "fetch_release", "missing_files",
           "release_key"]

PROGRESS_INTERVAL_S = 0.5
PROGRESS_LOG_S = 60.0

log = logging.getLogger(__name__)


class SwarmLike(Protocol):
    """What fetching needs of the swarm (`p2pdist.swarm.Swarm` is one)."""

    async def add_torrent(self, key: str, torrent: bytes, save_path: Path, *,
                          wanted_paths: Set[str] | None = ..., pex: bool = ...,
                          held_paths: Set[str] = ...) -> None: ...
    def connect_peer(self, key: str, endpoint: tuple[str, int], source: PeerSource) -> None: ...
    def snapshot(self, key: str) -> TorrentSnapshot: ...
    def resumed_paths(self, key: str) -> frozenset[str]: ...
    async def recheck(self, key: str, timeout_s: float = ...) -> None: ...
    async def wait_complete(self, key: str) -> None: ...


@dataclass(frozen=True)
class FetchReport:
    """What one update did: bytes reused from the store vs moved, by source, and time taken."""

    channel: str
    version: int
    seconds: float
    bytes_wanted: int
    bytes_reused: int
    received: dict[str, int]
    payload_download: int
    repaired_files: tuple[str, ...] = ()
    gc: GcReport | None = field(default=None, repr=False)


def release_key(release: VerifiedRelease) -> str:
    """The swarm key (and resume file name) of a release: its torrent's folder name."""
    return release.manifest.torrent_name


class SwarmSource:
    """The pipeline's source when the bytes come from peers (see `ContentSource`)."""

    def __init__(self, swarm: SwarmLike, store: Store, *,
                 peers: Sequence[tuple[tuple[str, int], PeerSource]] = (),
                 on_progress: Callable[[TorrentSnapshot], None] | None = None,
                 pex: bool = True, stall_timeout_s: float | None = None) -> None:
        self.swarm = swarm
        self.store = store
        self.peers = peers
        self.on_progress = on_progress
        self.pex = pex
        self.stall_timeout_s = stall_timeout_s
        self.key = ""
        self._manifest: Manifest | None = None
        self._wanted: Sequence[FileEntry] = ()

    async def start(self, release: VerifiedRelease, plan: ReleasePlan, save_path: Path) -> None:
        m = release.manifest
        self.key, self._manifest, self._wanted = release_key(release), m, plan.wanted
        try:
            await self.swarm.add_torrent(
                self.key, m.torrent, save_path, wanted_paths={e.path for e in plan.wanted},
                pex=self.pex, held_paths={e.path for e in plan.reuse})
        except ValueError as refused:
            raise TorrentRefusedError(
                _("{channel} v{v} cannot be fetched: {err}").format(
                    channel=m.channel, v=m.version, err=refused)) from refused
        for endpoint, source in self.peers:
            self.swarm.connect_peer(self.key, endpoint, source)

    async def fill(self) -> None:
        m = self._manifest
        assert m is not None, "start() first"
        await _wait_with_progress(self.swarm, self.key, self.on_progress, self.stall_timeout_s,
                                  lambda: missing_files(self.store, m, self._wanted),
                                  Progress(f"{m.channel} v{m.version}"), self.peers)

    def unverified(self) -> Set[str]:
        return self.swarm.resumed_paths(self.key)

    async def refetch(self, bad: Sequence[FileEntry]) -> None:
        await self.swarm.recheck(self.key)


async def fetch_release(
    swarm: SwarmLike,
    store: Store,
    release: VerifiedRelease,
    *,
    policy: Policy | None = None,
    peers: Sequence[tuple[tuple[str, int], PeerSource]] = (),
    on_progress: Callable[[TorrentSnapshot], None] | None = None,
    on_phase: Callable[[FetchPhase], None] | None = None,
    keep_per_channel: int = 2,
    pex: bool = True,
    stall_timeout_s: float | None = None,
) -> FetchReport:
    """Download, verify and activate `release`; it stays in the swarm, seeding, afterwards.

    Args:
        swarm: a running swarm.
        store: the box's store.
        release: the verified manifest (its envelope is recorded for re-verification and gc).
        policy: which files this box wants (default all).
        peers: addresses to connect to, with where they sit.
        on_progress: called with a snapshot about twice a second while downloading.
        on_phase: as `update_release` tells it (peers may be connected from STARTED on).
        keep_per_channel: releases kept per channel by the garbage collection after activation.
        pex: let libtorrent exchange peer lists for this torrent (see `Swarm.add_torrent`).
        stall_timeout_s: give up when no payload arrives for this long while pieces are
            missing (None: wait; the agent's supervisor watches instead).

    Raises:
        DiskFullError: not enough room for the files to fetch (checked before any download).
        ContentMismatchError: files kept failing their SHA-256 after MAX_REPAIRS refetches.
        StallError: nothing arrived for `stall_timeout_s` (the message names missing files).
        TorrentRefusedError: libtorrent refused the torrent.
        StorageError, TransferError: as the store and swarm raise them.
    """
    source = SwarmSource(swarm, store, peers=peers, on_progress=on_progress, pex=pex,
                         stall_timeout_s=stall_timeout_s)
    done = await update_release(store, source, release, policy=policy, on_phase=on_phase,
                                keep_per_channel=keep_per_channel)
    # A stop that came while the last step ran in its thread (the swarm stopped with it) is
    # delivered here as the caller's Cancelled, not as "the Swarm is not running".
    await trio.lowlevel.checkpoint_if_cancelled()
    snap = swarm.snapshot(source.key)
    m = release.manifest
    return FetchReport(
        channel=m.channel,
        version=m.version,
        seconds=done.seconds,
        bytes_wanted=sum(e.size for e in done.plan.wanted),
        bytes_reused=done.plan.bytes_reused,
        received={str(k): v for k, v in snap.received.items()},
        payload_download=snap.total_payload_download,
        repaired_files=done.repaired_files,
        gc=done.gc,
    )


def missing_files(store: Store, manifest: Manifest, wanted: Sequence[FileEntry]) -> list[str]:
    """Paths of wanted files not yet on disk at their full size (what a stall is waiting for)."""
    folder = store.release_dir(manifest.channel, manifest.version)
    return [e.path for e in wanted
            if not ((p := folder / e.path).is_file() and p.stat().st_size == e.size)]


@dataclass
class Progress:
    """Logs a download's progress at INFO every 10 % or every minute, whichever comes first."""

    what: str
    _tenth: int = -1
    _at: float = -1e9

    def observe(self, snap: TorrentSnapshot, now: float) -> None:
        if snap.bytes_wanted <= 0:
            return
        tenth = 10 * snap.bytes_done // snap.bytes_wanted
        if tenth != self._tenth or now - self._at >= PROGRESS_LOG_S:
            self._tenth, self._at = tenth, now
            log.info(_("{what}: {pct:.0f}% ({done} of {wanted} bytes, {rate} B/s, {peers} "
                       "peer(s))").format(what=self.what,
                                          pct=100 * snap.bytes_done / snap.bytes_wanted,
                                          done=snap.bytes_done, wanted=snap.bytes_wanted,
                                          rate=snap.download_rate,
                                          peers=sum(snap.peers.values())))


async def _wait_with_progress(
    swarm: SwarmLike, key: str, on_progress: Callable[[TorrentSnapshot], None] | None,
    stall_timeout_s: float | None = None, missing: Callable[[], list[str]] | None = None,
    logged: Progress | None = None,
    peers: Sequence[tuple[tuple[str, int], PeerSource]] = (),
) -> None:
    redial = Redial()
    sources = dict(peers)

    async def report() -> None:
        last, since = -1, trio.current_time()
        while True:
            # Two seeds drop their connection; after a recheck (or a peer's restart) the
            # given peers must be dialled again for as long as pieces are missing.
            for ep in redial.due(list(sources), trio.current_time()):
                swarm.connect_peer(key, ep, sources[ep])
            snap = swarm.snapshot(key)
            if on_progress is not None:
                on_progress(snap)
            if logged is not None:
                logged.observe(snap, trio.current_time())
            now = trio.current_time()
            if snap.bytes_done != last:
                last, since = snap.bytes_done, now
            elif stall_timeout_s is not None and now - since >= stall_timeout_s:
                files = missing() if missing is not None else []
                raise StallError(
                    _("no data for {s:g} s with {n} file(s) still missing: {files}; check "
                      "that a peer holding them is reachable").format(
                        s=stall_timeout_s, n=len(files),
                        files=", ".join(files[:10]) + (" …" if len(files) > 10 else "")))
            await trio.sleep(PROGRESS_INTERVAL_S)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(report)
            await swarm.wait_complete(key)
            nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        known = first_known_error(group)
        if known is None:
            raise
        raise known from group
    if on_progress is not None:
        on_progress(swarm.snapshot(key))
