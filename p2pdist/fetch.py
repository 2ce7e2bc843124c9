"""Fetching one verified release through the swarm into the store: the box's update path.

Order matters for crash safety (see `p2pdist.store`): record the manifest, lay out the release
reusing held files, let libtorrent fetch the rest, check the files (reused ones by a stat,
fetched ones by size and fsync: libtorrent verified them against the signed v2 merkle roots),
and only then ingest and switch `active`. Killed anywhere, the next run repeats the same steps:
linked files stay, libtorrent resumes from its resume data (or rechecks what is on disk), and
the previous active release is untouched until the final switch.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import trio

from manifest import FileEntry, Manifest, VerifiedRelease

from .backoff import Redial
from .errors import ContentMismatchError, StallError, TorrentRefusedError, first_known_error
from .i18n import _
from .store import GcReport, Policy, ReleasePlan, Store
from .swarm import PeerSource, Swarm, TorrentSnapshot

MAX_REPAIRS = 3
"""Rounds of quarantine-and-refetch before a release is declared undeliverable."""
PROGRESS_INTERVAL_S = 0.5
PROGRESS_LOG_S = 60.0

log = logging.getLogger(__name__)


class FetchPhase(enum.StrEnum):
    STARTED = "started"
    DOWNLOADED = "downloaded"
    CHECKED = "checked"
    ACTIVATED = "activated"


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


async def fetch_release(
    swarm: Swarm,
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
        on_phase: told when the torrent is added (peers may be connected from then on), when
            every piece is in, when the files passed their SHA-256 check, and when activated.
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
    t0 = time.monotonic()
    m = release.manifest
    key = release_key(release)
    await trio.to_thread.run_sync(store.record_manifest, release.envelope, m)
    plan: ReleasePlan = await trio.to_thread.run_sync(
        store.prepare_release, m, policy or Policy()
    )
    try:
        await swarm.add_torrent(
            key, m.torrent, store.save_path(m.channel, m.version),
            wanted_paths={e.path for e in plan.wanted}, pex=pex,
            held_paths={e.path for e in plan.reuse},
        )
    except ValueError as refused:
        raise TorrentRefusedError(
            _("{channel} v{v} cannot be fetched: {err}").format(
                channel=m.channel, v=m.version, err=refused)) from refused
    phase = on_phase or (lambda _p: None)
    log.info(_("{channel} v{v}: download started, {n} file(s) wanted, {reused} bytes reused, "
               "{fetch} bytes to fetch").format(channel=m.channel, v=m.version,
                                                n=len(plan.wanted), reused=plan.bytes_reused,
                                                fetch=plan.bytes_to_fetch))
    phase(FetchPhase.STARTED)
    for endpoint, source in peers:
        swarm.connect_peer(key, endpoint, source)
    repaired: list[str] = []
    for _round in range(MAX_REPAIRS + 1):
        await _wait_with_progress(swarm, key, on_progress, stall_timeout_s,
                                  lambda: missing_files(store, m, plan.wanted),
                                  Progress(f"{m.channel} v{m.version}"), peers)
        phase(FetchPhase.DOWNLOADED)
        bad = await store.acheck_fetched(m, plan, rehash=swarm.resumed_paths(key))
        if not bad:
            break
        for e in bad:
            await trio.to_thread.run_sync(store.quarantine, m, e)
            repaired.append(e.path)
        await swarm.recheck(key)
    else:
        raise ContentMismatchError(
            _("{n} file(s) of {channel} v{v} kept failing their SHA-256 after {r} refetches "
              "(e.g. {path}); a peer may be serving bad data that matches the torrent but not "
              "the manifest").format(n=len(bad), channel=m.channel, v=m.version,
                                     r=MAX_REPAIRS, path=bad[0].path))
    phase(FetchPhase.CHECKED)
    log.info(_("{channel} v{v}: every wanted file matched its SHA-256").format(
        channel=m.channel, v=m.version))
    await trio.to_thread.run_sync(store.ingest, m, plan.wanted)
    await trio.to_thread.run_sync(store.activate, m)
    phase(FetchPhase.ACTIVATED)
    log.info(_("{channel} v{v}: activated after {s:.1f} s").format(
        channel=m.channel, v=m.version, s=time.monotonic() - t0))
    gc = await trio.to_thread.run_sync(store.gc, keep_per_channel)
    snap = swarm.snapshot(key)
    return FetchReport(
        channel=m.channel,
        version=m.version,
        seconds=time.monotonic() - t0,
        bytes_wanted=sum(e.size for e in plan.wanted),
        bytes_reused=plan.bytes_reused,
        received={str(k): v for k, v in snap.received.items()},
        payload_download=snap.total_payload_download,
        repaired_files=tuple(repaired),
        gc=gc,
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
    swarm: Swarm, key: str, on_progress: Callable[[TorrentSnapshot], None] | None,
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
