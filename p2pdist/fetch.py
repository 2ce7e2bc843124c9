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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import trio

from manifest import VerifiedRelease

from .errors import ContentMismatchError, first_known_error
from .i18n import _
from .store import GcReport, Policy, ReleasePlan, Store
from .swarm import PeerSource, Swarm, TorrentSnapshot

MAX_REPAIRS = 3
"""Rounds of quarantine-and-refetch before a release is declared undeliverable."""
PROGRESS_INTERVAL_S = 0.5


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

    Raises:
        DiskFullError: not enough room for the files to fetch (checked before any download).
        ContentMismatchError: files kept failing their SHA-256 after MAX_REPAIRS refetches.
        StorageError, TransferError: as the store and swarm raise them.
    """
    t0 = time.monotonic()
    m = release.manifest
    key = release_key(release)
    await trio.to_thread.run_sync(store.record_manifest, release.envelope, m)
    plan: ReleasePlan = await trio.to_thread.run_sync(
        store.prepare_release, m, policy or Policy()
    )
    await swarm.add_torrent(
        key, m.torrent, store.save_path(m.channel, m.version),
        wanted_paths={e.path for e in plan.wanted}, pex=pex,
        held_paths={e.path for e in plan.reuse},
    )
    phase = on_phase or (lambda _p: None)
    phase(FetchPhase.STARTED)
    for endpoint, source in peers:
        swarm.connect_peer(key, endpoint, source)
    repaired: list[str] = []
    for _round in range(MAX_REPAIRS + 1):
        await _wait_with_progress(swarm, key, on_progress)
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
    await trio.to_thread.run_sync(store.ingest, m, plan.wanted)
    await trio.to_thread.run_sync(store.activate, m)
    phase(FetchPhase.ACTIVATED)
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


async def _wait_with_progress(
    swarm: Swarm, key: str, on_progress: Callable[[TorrentSnapshot], None] | None
) -> None:
    if on_progress is None:
        await swarm.wait_complete(key)
        return
    async def report() -> None:
        while True:
            on_progress(swarm.snapshot(key))
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
    on_progress(swarm.snapshot(key))
