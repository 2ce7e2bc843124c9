"""Bringing a release into the store: lay it out reusing held files (after a space check),
take files from a folder, check and quarantine what arrived, and ingest it into objects/.

Steps 2, 4 and 5 of the update order in `_store`; the swarm or a folder fills in step 3.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence, Set
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from threading import Event

import trio

from manifest import FileEntry, Manifest

from ..errors import DiskFullError
from ..fs import allocated, free_bytes, human_size, place, same_device, translated
from ..hashing import OnBytes, count_hashed
from ..i18n import _
from ._plan import ReleasePlan, plan_release
from ._policy import Policy
from ._records import _Records
from ._verify import Progress, check_placed, verify_files


class _Abandoned(Exception):
    """Stops a verification thread whose trio caller was cancelled."""


class _Intake(_Records):
    """The store's side of an update before activation."""

    reserve: int

    def prepare_release(self, manifest: Manifest, policy: Policy) -> ReleasePlan:
        """Lay out a recorded release: check free space, then link in every file already held.

        Safe to call again for a half-done release: linked files stay, partly downloaded
        files count only for their missing bytes in the space check.

        Args:
            manifest: the release, recorded with `record_manifest`.
            policy: which of its files this box wants.

        Returns:
            The plan: wanted files, those linked from objects/, those the swarm must fetch.

        Raises:
            RuntimeError: the manifest was not recorded first.
            DiskFullError: the files to fetch (or copy) plus the reserve do not fit; nothing
                was written.
            StorageError: (or a subclass) linking or copying failed.
        """
        layout = self._layout
        if not layout.record_path(manifest.channel, manifest.version).is_file():
            raise RuntimeError("record_manifest() must be called before prepare_release()")
        wanted = policy.wanted(manifest)
        have = {e.sha256 for e in wanted if layout.object_path(e.sha256).is_file()}
        plan = plan_release(manifest, wanted, have)
        self._check_space(manifest, plan)
        release = layout.release_dir(manifest.channel, manifest.version)
        with translated(_("create the folder {path}").format(path=release)):
            release.mkdir(parents=True, exist_ok=True)
        for e in plan.reuse:
            dest = layout.file_path(manifest, e)
            with translated(_("create the folder {path}").format(path=dest.parent)):
                dest.parent.mkdir(parents=True, exist_ok=True)
            place(layout.object_path(e.sha256), dest)
        return plan

    def add_file(self, manifest: Manifest, entry: FileEntry, source: Path, *,
                 link: bool, on_bytes: OnBytes | None = None) -> bytes | None:
        """Put `source` in a prepared release as `entry` (a copy unless `link`).

        Used when the bytes come from a folder rather than the swarm: a USB drive or an export
        (copy, the drive goes away), or the origin's publishing folder (link, no second copy).
        A copy is hashed as it is written, so the drive is read once: the SHA-256 of the bytes
        written is returned (None for a link, which the caller still has to hash);
        `on_bytes` is called (in this thread) with the length of each chunk copied.

        Raises:
            DiskFullError: the copy ran out of space (the partial copy is removed).
            StorageError: (or a subclass) any other failure.
        """
        dest = self._layout.file_path(manifest, entry)
        with translated(_("create the folder {path}").format(path=dest.parent)):
            dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()

        def on_chunk(chunk: memoryview) -> None:
            digest.update(chunk)
            count_hashed(len(chunk))
            if on_bytes is not None:
                on_bytes(len(chunk))

        if place(source, dest, link=link, on_chunk=on_chunk):
            return None
        return digest.digest()

    def verify_release(
        self, manifest: Manifest, wanted: Sequence[FileEntry], progress: Progress | None = None
    ) -> list[FileEntry]:
        """Hash every wanted file of a release against the manifest (one file per core).

        Blocking: run it in a worker thread (see `averify_release`).

        Args:
            manifest: the release.
            wanted: the files to check (usually `ReleasePlan.wanted`).
            progress: called with (bytes done, bytes total) after each chunk; an exception
                it raises stops the check and propagates.

        Returns:
            The files that are missing, of the wrong size or of the wrong SHA-256.

        Raises:
            StorageError: (or a subclass) a file exists but cannot be read.
        """
        layout = self._layout
        return verify_files([(layout.file_path(manifest, e), e) for e in wanted], progress)

    async def averify_release(
        self, manifest: Manifest, wanted: Sequence[FileEntry], progress: Progress | None = None
    ) -> list[FileEntry]:
        """`verify_release` in a worker thread; cancelling stops it at the next chunk.

        `progress` runs in the worker thread (use `trio.from_thread` to reach trio objects).
        """
        abandoned = Event()

        def report(done: int, total: int) -> None:
            if abandoned.is_set():
                raise _Abandoned
            if progress is not None:
                progress(done, total)

        try:
            return await trio.to_thread.run_sync(
                partial(self.verify_release, manifest, wanted, report), abandon_on_cancel=True
            )
        finally:
            abandoned.set()

    async def acheck_fetched(self, manifest: Manifest, plan: ReleasePlan, *,
                             rehash: Set[str] = frozenset(),
                             progress: Progress | None = None) -> list[FileEntry]:
        """The check after a source completed `plan`, in a worker thread: reused files by one
        stat, fetched files by size and fsync (see `check_placed`), fetched files in `rehash`
        (bytes nobody in this process verified: restored from resume data, copied from a
        drive) by SHA-256, with `progress` over that hashing; the entries that fail."""
        layout = self._layout
        reused = [(layout.file_path(manifest, e), layout.object_path(e.sha256), e)
                  for e in plan.reuse]
        again = [e for e in plan.fetch if e.path in rehash]
        fetched = [(layout.file_path(manifest, e), e) for e in plan.fetch if e.path not in rehash]

        def check() -> list[FileEntry]:
            bad = verify_files([(layout.file_path(manifest, e), e) for e in again], progress)
            return bad + check_placed(reused, fetched)

        return await trio.to_thread.run_sync(check)

    def quarantine(self, manifest: Manifest, entry: FileEntry) -> Path | None:
        """Move a file that failed verification out of its release, so it is fetched again.

        It goes to quarantine/<UTC time>/<torrent name>/<path> for diagnosis. If the file was
        a link to objects/<sha256>, that object is bad too and is dropped.

        Args:
            manifest: the release.
            entry: the file that failed.

        Returns:
            Where the file went, or None if there was no file.

        Raises:
            StorageError: (or a subclass) the move failed.
        """
        layout = self._layout
        source = layout.file_path(manifest, entry)
        if not source.exists():
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        dest = layout.quarantine / stamp / manifest.torrent_name / entry.path
        obj = layout.object_path(entry.sha256)
        with translated(_("move {source} to {dest}").format(source=source, dest=dest)):
            if obj.exists() and os.path.samefile(obj, source):
                obj.unlink()
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, dest)
        return dest

    def ingest(self, manifest: Manifest, wanted: Sequence[FileEntry]) -> int:
        """Link each verified file into objects/<sha256> for later releases to reuse.

        An object that already exists is kept, and a release file holding the same content
        as a separate copy is replaced by a link to it, so the box keeps one copy. When
        objects/ and releases/ are on different file systems nothing is linked (a copy would
        double the space); later releases then download those files again.

        Args:
            manifest: the release, whose `wanted` files passed `verify_release`.
            wanted: the verified files.

        Returns:
            How many objects were added.

        Raises:
            StorageError: (or a subclass) a file is missing or linking failed.
        """
        layout = self._layout
        release = layout.release_dir(manifest.channel, manifest.version)
        with translated(_("open {path}").format(path=release)):
            if not same_device(layout.objects, release):
                return 0
        added = 0
        for e in wanted:
            source, obj = layout.file_path(manifest, e), layout.object_path(e.sha256)
            with translated(_("add {source} to {objects}").format(source=source,
                                                                   objects=layout.objects)):
                try:
                    os.link(source, obj)
                    added += 1
                except FileExistsError:
                    place(obj, source)
        return added

    def _check_space(self, manifest: Manifest, plan: ReleasePlan) -> None:
        layout = self._layout
        probe = layout.save_path(manifest.channel, manifest.version)
        while not probe.exists():
            probe = probe.parent
        to_write = list(plan.fetch)
        if not same_device(layout.objects, probe):
            to_write += plan.reuse  # linking fails across file systems: they will be copied
        need = sum(e.size - allocated(layout.file_path(manifest, e), e.size) for e in to_write)
        free = free_bytes(probe)
        if need + self.reserve > free:
            raise DiskFullError(
                _("release {channel} v{version} needs {need} more on the disk holding {path} "
                  "and p2pdist keeps {reserve} free, but only {free} is free: free at least "
                  "{short} (old releases, other files) or choose a policy that wants fewer "
                  "files").format(
                    channel=manifest.channel, version=manifest.version, need=human_size(need),
                    path=probe, reserve=human_size(self.reserve), free=human_size(free),
                    short=human_size(need + self.reserve - free))
            )
