"""The one update pipeline of a verified release: plan → reuse → fetch → check → activate → gc.

Every way a release reaches a box runs through `update_release`: the agent, the seeder's
follower and `box fetch` with the swarm as the source (`p2pdist.fetch`), `import` and
`release publish` with a folder as the source (`p2pdist.install`). Only where the missing
bytes come from differs, so the crash-safe order cannot drift between them:

1. the signed manifest is recorded next to its release (gc and resume read it);
2. the store lays out the release, hard-linking every file it already holds, after a space check;
3. the source brings the rest (libtorrent, or a copy from a drive);
4. the files are checked: reused ones by one stat, the source's unverified ones by SHA-256;
   bad files are quarantined and the source asked again (the swarm refetches; a folder cannot);
5. the files are ingested into objects/ and `active` is switched in one rename;
6. old releases are collected.

Killed anywhere before step 5, the previous active release is untouched and the next run
repeats the same steps. The pipeline needs little of the store and the source; both are
narrow `Protocol`s, so it is tested with a real store and a folder, without a network.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import trio

from manifest import FileEntry, Manifest, VerifiedRelease

from .errors import ContentMismatchError
from .i18n import _
from .store import GcReport, Policy, Progress, ReleasePlan

MAX_REPAIRS = 3
"""Rounds of quarantine-and-refetch before a release is declared undeliverable."""

log = logging.getLogger(__name__)


class FetchPhase(enum.StrEnum):
    """The points of the pipeline a caller is told about (`on_phase`)."""

    STARTED = "started"
    DOWNLOADED = "downloaded"
    CHECKED = "checked"
    ACTIVATED = "activated"


class PipelineStore(Protocol):
    """What the pipeline needs of the box's store (`p2pdist.store.Store` is one)."""

    def record_manifest(self, envelope: bytes, manifest: Manifest) -> None: ...
    def prepare_release(self, manifest: Manifest, policy: Policy) -> ReleasePlan: ...
    def save_path(self, channel: str, version: int) -> Path: ...
    async def acheck_fetched(self, manifest: Manifest, plan: ReleasePlan, *,
                             rehash: Set[str] = ..., progress: Progress | None = ...,
                             ) -> list[FileEntry]: ...
    def quarantine(self, manifest: Manifest, entry: FileEntry) -> Path | None: ...
    def ingest(self, manifest: Manifest, wanted: Sequence[FileEntry]) -> int: ...
    def activate(self, manifest: Manifest) -> None: ...
    def gc(self, keep_per_channel: int = 2) -> GcReport: ...


class ContentSource(Protocol):
    """Where the bytes the store does not hold come from: the swarm, or a folder."""

    async def start(self, release: VerifiedRelease, plan: ReleasePlan, save_path: Path) -> None:
        """Begin bringing `plan.fetch` into `save_path` (the swarm adds its torrent here).

        Raises:
            TorrentRefusedError, StorageError, TransferError: the source cannot serve it.
        """

    async def fill(self) -> None:
        """Return once every file of `plan.fetch` is in place (or raise, e.g. StallError)."""

    def unverified(self) -> Set[str]:
        """Paths of fetched files whose bytes nobody in this process verified: hashed in full.

        The swarm's freshly downloaded files passed libtorrent's v2 merkle check against the
        signed torrent; a folder's copies and bytes restored from resume data did not.
        """

    async def refetch(self, bad: Sequence[FileEntry]) -> None:
        """The `bad` files were quarantined: fetch them again, or raise ContentMismatchError
        when this source cannot deliver other bytes (a folder holds the same bad copy)."""


@dataclass(frozen=True)
class Outcome:
    """What the pipeline did with one release (the source adds its own figures)."""

    plan: ReleasePlan
    seconds: float
    repaired_files: tuple[str, ...]
    gc: GcReport | None


async def update_release(
    store: PipelineStore,
    source: ContentSource,
    release: VerifiedRelease,
    *,
    policy: Policy | None = None,
    on_phase: Callable[[FetchPhase], None] | None = None,
    keep_per_channel: int | None = 2,
    progress: Progress | None = None,
) -> Outcome:
    """Bring a verified release in from `source`, check it and make it the active one.

    Args:
        store: the box's store.
        source: where the missing files come from.
        release: the verified manifest (its envelope is recorded for re-verification and gc).
        policy: which files this box wants (default all).
        on_phase: told when the source started (a torrent's peers may be dialled from then),
            when every file is in, when the files passed their check, and when activated.
        keep_per_channel: releases kept per channel by the garbage collection after
            activation (None: no collection).
        progress: (bytes done, bytes total) of the hashing pass (in a worker thread).

    Raises:
        DiskFullError: not enough room for the files to fetch (checked before any is fetched).
        ContentMismatchError: files kept failing their SHA-256 after MAX_REPAIRS refetches,
            or the source cannot deliver good copies (the active release is unchanged).
        StorageError, TrustError, TransferError: as the store and the source raise them.
    """
    t0 = time.monotonic()
    m = release.manifest
    phase = on_phase or (lambda _p: None)
    await trio.to_thread.run_sync(store.record_manifest, release.envelope, m)
    plan: ReleasePlan = await trio.to_thread.run_sync(
        store.prepare_release, m, policy or Policy())
    await source.start(release, plan, store.save_path(m.channel, m.version))
    log.info(_("{channel} v{v}: download started, {n} file(s) wanted, {reused} bytes reused, "
               "{fetch} bytes to fetch").format(channel=m.channel, v=m.version,
                                                n=len(plan.wanted), reused=plan.bytes_reused,
                                                fetch=plan.bytes_to_fetch))
    phase(FetchPhase.STARTED)
    repaired: list[str] = []
    for _round in range(MAX_REPAIRS + 1):
        await source.fill()
        phase(FetchPhase.DOWNLOADED)
        bad = await store.acheck_fetched(m, plan, rehash=source.unverified(), progress=progress)
        if not bad:
            break
        for e in bad:
            await trio.to_thread.run_sync(store.quarantine, m, e)
            repaired.append(e.path)
        await source.refetch(bad)
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
    gc = (await trio.to_thread.run_sync(store.gc, keep_per_channel)
          if keep_per_channel is not None else None)
    return Outcome(plan, time.monotonic() - t0, tuple(repaired), gc)
