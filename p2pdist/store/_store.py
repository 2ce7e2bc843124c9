"""The box's on-disk store: the thin I/O shell that carries out `_plan`'s decisions.

An update moves through the store in this order, and each step leaves the disk in a state the
next start can resume from:

1. `record_manifest` keeps the signed manifest next to its release (gc and resume read it);
2. `prepare_release` checks free space, then hard-links every wanted file the box already holds;
3. the swarm downloads the rest into `save_path` (libtorrent's check accepts the linked files);
4. `verify_release` hashes the wanted files; `quarantine` moves bad ones aside to fetch again;
5. `ingest` links the verified files into objects/ for later releases to reuse;
6. `activate` switches active/<channel> in one rename — the only step the media player sees.

Until step 6 the previous active release is never touched, so a crash anywhere leaves it
complete; the new release's files stay in releases/<channel>/<version> and the steps are simply
run again. One `Store` per data directory, used by one task at a time (the agent).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from threading import Event

import trio

from keys import P2PDistError
from manifest import FileEntry, Manifest, decode_envelope

from ..errors import CorruptStateError, DiskFullError, StorageError
from ..fs import (
    allocated,
    atomic_symlink,
    atomic_write,
    free_bytes,
    human_size,
    place,
    remove_tree,
    same_device,
    translated,
    unlink_counting,
)
from ..i18n import _
from ._layout import (
    TMP_PREFIX,
    Layout,
    channel_conflict,
    is_record_name,
    version_of,
)
from ._plan import ReleasePlan, plan_gc, plan_release, releases_to_keep
from ._policy import Policy
from ._verify import Progress, check_placed, verify_files

DEFAULT_RESERVE = 256 * 1024 * 1024
"""Bytes left free after a release: room for state, resume data and logs on a full box."""
_MAX_CHANNEL_DEPTH = 8
"""Channels have at most 8 segments, so the channel scan never wanders into release folders."""


@dataclass(frozen=True)
class GcReport:
    """What `Store.gc` removed.

    Attributes:
        releases_deleted: (channel, version) of each release removed.
        objects_deleted: how many objects were removed.
        bytes_freed: bytes of files whose last link was removed.
    """

    releases_deleted: tuple[tuple[str, int], ...]
    objects_deleted: int
    bytes_freed: int


class _Abandoned(Exception):
    """Stops a verification thread whose trio caller was cancelled."""


class Store:
    """The data directory of one box (layout in `_layout`)."""

    def __init__(self, data_dir: str | os.PathLike[str], *, reserve: int = DEFAULT_RESERVE):
        """Open (creating if needed) the store in `data_dir`, cleaning up after a crash.

        Args:
            data_dir: the data directory.
            reserve: bytes `prepare_release` leaves free beyond what the release needs.

        Raises:
            StorageError: (or a subclass) the folders cannot be created.
        """
        self._layout = Layout(Path(data_dir))
        self.reserve = reserve
        with translated(_("create the store folders in {path}").format(path=data_dir)):
            for d in self._layout.top_dirs:
                d.mkdir(parents=True, exist_ok=True)
            self._remove_stale_tmp()

    @property
    def data_dir(self) -> Path:
        return self._layout.root

    # -- where things are ----------------------------------------------------------------

    def save_path(self, channel: str, version: int) -> Path:
        """libtorrent's save_path for a release (the torrent's folder is created inside).

        Raises:
            ConfigError: `channel` is not a valid channel name.
        """
        return self._layout.save_path(channel, version)

    def release_dir(self, channel: str, version: int) -> Path:
        """The folder holding a release's files, as the torrent names it.

        Raises:
            ConfigError: `channel` is not a valid channel name.
        """
        return self._layout.release_dir(channel, version)

    def active_dir(self, channel: str) -> Path:
        """The fixed path the media player serves for `channel` (a symlink once activated).

        Raises:
            ConfigError: `channel` is not a valid channel name.
        """
        return self._layout.active_link(channel)

    # -- what is stored ------------------------------------------------------------------

    def channels(self) -> list[str]:
        """Every channel with a recorded release, sorted."""
        found: list[str] = []

        def walk(folder: Path, prefix: str, depth: int) -> None:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
            if prefix and any(is_record_name(e.name) and e.is_file() for e in entries):
                found.append(prefix)
                return
            if depth == _MAX_CHANNEL_DEPTH:
                return
            for e in entries:
                if e.is_dir(follow_symlinks=False) and not e.name.startswith("."):
                    walk(Path(e.path), f"{prefix}/{e.name}" if prefix else e.name, depth + 1)

        with translated(_("list the releases in {path}").format(path=self._layout.releases)):
            walk(self._layout.releases, "", 0)
        return found

    def releases(self, channel: str) -> list[int]:
        """The versions of `channel` with a recorded manifest, oldest first.

        Raises:
            ConfigError: `channel` is not a valid channel name.
        """
        return sorted(v for v, is_record in self._entries(channel) if is_record)

    def record_manifest(self, envelope: bytes, manifest: Manifest) -> None:
        """Keep the signed manifest of a release (written atomically) before preparing it.

        The store needs it to know, after a restart, which hashes each release references
        (gc) and what a half-done release is (resume); keeping the envelope as received lets
        the box re-verify it and hand it to LAN neighbours unchanged.

        Args:
            envelope: the manifest envelope bytes, already verified by the caller.
            manifest: the manifest decoded from them.

        Raises:
            MalformedError: (or another manifest format error) `envelope` is not a manifest.
            ValueError: `envelope` does not carry `manifest`.
            StorageError: another channel on this box is a folder prefix of this one, or the
                write failed (DiskFullError, StoragePermissionError).
        """
        if Manifest.decode_body(decode_envelope(envelope).signed) != manifest:
            raise ValueError(_("the envelope does not carry this manifest"))
        other = channel_conflict(manifest.channel, self.channels())
        if other is not None:
            raise StorageError(
                _("channel {channel} cannot be stored next to channel {other}: one would be a "
                  "folder inside the other under {path}; follow only one of them on this box "
                  "or give each its own data directory").format(
                    channel=manifest.channel, other=other, path=self._layout.releases)
            )
        folder = self._layout.channel_dir(manifest.channel)
        with translated(_("create the folder {path}").format(path=folder)):
            folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self._layout.record_path(manifest.channel, manifest.version), envelope)

    def manifest_envelope(self, channel: str, version: int) -> bytes:
        """The manifest envelope recorded for a release, exactly as received.

        Raises:
            StorageError: no manifest is recorded for that release, or it cannot be read.
        """
        path = self._layout.record_path(channel, version)
        if not path.is_file():
            raise StorageError(
                _("no manifest is recorded for {channel} v{version} (expected {path})")
                .format(channel=channel, version=version, path=path)
            )
        with translated(_("read {path}").format(path=path)):
            return path.read_bytes()

    def load_manifest(self, channel: str, version: int) -> Manifest:
        """The manifest recorded for a release (decoded; signatures were checked on receipt).

        Raises:
            StorageError: no manifest is recorded for that release.
            CorruptStateError: the recorded manifest is damaged or is not that release's.
        """
        path = self._layout.record_path(channel, version)
        data = self.manifest_envelope(channel, version)
        try:
            m = Manifest.decode_body(decode_envelope(data).signed)
        except P2PDistError as e:
            raise CorruptStateError(
                _("the recorded manifest {path} is damaged ({reason}); delete it and the "
                  "folder {folder} so the box fetches that release again").format(
                    path=path, reason=e, folder=self._layout.save_path(channel, version))
            ) from e
        if (m.channel, m.version) != (channel, version):
            raise CorruptStateError(
                _("{path} holds the manifest of {channel} v{version}, not of the release it is "
                  "filed under; delete it").format(path=path, channel=m.channel,
                                                   version=m.version)
            )
        return m

    # -- bringing a release in -----------------------------------------------------------

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

    def add_file(self, manifest: Manifest, entry: FileEntry, source: Path, *, link: bool) -> None:
        """Put `source` in a prepared release as `entry` (a copy unless `link`).

        Used when the bytes come from a folder rather than the swarm: a USB drive or an export
        (copy, the drive goes away), or the origin's publishing folder (link, no second copy).
        The file is checked later by `verify_release` like any downloaded file.

        Raises:
            DiskFullError: the copy ran out of space (the partial copy is removed).
            StorageError: (or a subclass) any other failure.
        """
        dest = self._layout.file_path(manifest, entry)
        with translated(_("create the folder {path}").format(path=dest.parent)):
            dest.parent.mkdir(parents=True, exist_ok=True)
        place(source, dest, link=link)

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

    def activate(self, manifest: Manifest) -> None:
        """Make a verified release the one the media player serves, in one atomic switch.

        Call only once `verify_release` found nothing wrong (it also flushed each file to
        disk, so after a power cut the active release is complete, not just named).

        Args:
            manifest: the release to serve.

        Raises:
            StorageError: (or a subclass) the release folder is missing or the switch failed;
                the previous active release is unchanged.
        """
        layout = self._layout
        release = layout.release_dir(manifest.channel, manifest.version)
        if not release.is_dir():
            raise StorageError(
                _("cannot activate {channel} v{version}: its folder {path} is missing; prepare, "
                  "download and verify the release first").format(
                    channel=manifest.channel, version=manifest.version, path=release)
            )
        link = layout.active_link(manifest.channel)
        with translated(_("create the folder {path}").format(path=link.parent)):
            link.parent.mkdir(parents=True, exist_ok=True)
        atomic_symlink(os.path.relpath(release, link.parent), link)

    def active_version(self, channel: str) -> int | None:
        """The version active/<channel> points to, or None if none was activated.

        Raises:
            ConfigError: `channel` is not a valid channel name.
            CorruptStateError: active/<channel> is not a link to one of its releases.
        """
        link = self._layout.active_link(channel)
        try:
            target = os.readlink(link)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise StorageError(
                    _("could not read {path}: {reason}").format(path=link, reason=e.strerror)
                ) from e
            target = ""
        resolved = Path(os.path.normpath(link.parent / target))
        version = version_of(resolved.parent.name) if target else None
        if version is None or resolved != Path(
            os.path.normpath(self._layout.release_dir(channel, version))
        ):
            raise CorruptStateError(
                _("{path} should be a link to a release of {channel} but is {what}; activate "
                  "a verified release again to repair it").format(
                    path=link, channel=channel,
                    what=repr(target) if target else _("not a link"))
            )
        return version

    # -- cleaning up ---------------------------------------------------------------------

    def gc(self, keep_per_channel: int = 2) -> GcReport:
        """Delete old releases and the objects no remaining release references.

        Per channel, the active release and the newest `keep_per_channel` releases stay (a
        download newer than the active release counts among the newest). Everything is read
        and checked before anything is deleted.

        Args:
            keep_per_channel: newest releases to keep per channel besides the active one.

        Returns:
            What was deleted.

        Raises:
            ValueError: `keep_per_channel` is negative.
            CorruptStateError: a kept release has no readable manifest (nothing is deleted).
            StorageError: (or a subclass) a deletion failed.
        """
        kept: list[Manifest] = []
        doomed: list[tuple[str, int]] = []
        for channel in self.channels():
            entries = self._entries(channel)
            recorded = {v for v, is_record in entries if is_record}
            keep = releases_to_keep(recorded, self.active_version(channel), keep_per_channel)
            for v in sorted(keep):
                if v not in recorded:
                    raise CorruptStateError(
                        _("release {channel} v{version} is active but its manifest {path} is "
                          "missing; activate a newer release before collecting garbage").format(
                            channel=channel, version=v,
                            path=self._layout.record_path(channel, v))
                    )
                kept.append(self.load_manifest(channel, v))
            doomed += [(channel, v) for v in sorted({v for v, _r in entries} - keep)]

        freed = 0
        for channel, version in doomed:
            freed += self._remove_release(channel, version)
        objects = self._objects()
        drop = plan_gc(kept, objects)
        for sha in drop:
            with translated(_("delete {path}").format(path=self._layout.object_path(sha))):
                freed += unlink_counting(self._layout.object_path(sha))
        return GcReport(tuple(doomed), len(drop), freed)

    # -- internals -----------------------------------------------------------------------

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

    def _entries(self, channel: str) -> list[tuple[int, bool]]:
        """(version, is the manifest record) for each release entry of `channel`."""
        folder = self._layout.channel_dir(channel)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            v = version_of(name)
            if v is not None:
                out.append((v, is_record_name(name)))
        return out

    def _remove_release(self, channel: str, version: int) -> int:
        """Delete a release's folder, then its manifest (so a crash leaves it findable)."""
        save = self._layout.save_path(channel, version)
        with translated(_("delete {path}").format(path=save)):
            freed = remove_tree(save)
            self._layout.record_path(channel, version).unlink(missing_ok=True)
        return freed

    def _objects(self) -> set[bytes]:
        out = set()
        for name in os.listdir(self._layout.objects):
            if len(name) == 64:
                try:
                    out.add(bytes.fromhex(name))
                except ValueError:
                    continue
        return out

    def _remove_stale_tmp(self) -> None:
        """Drop temporary links and records a crash left between a write and its rename."""
        for dirpath, dirnames, filenames in os.walk(self._layout.active):
            for name in filenames + dirnames:
                if name.startswith(TMP_PREFIX):
                    os.unlink(Path(dirpath, name))
        for channel in self.channels():
            for name in os.listdir(self._layout.channel_dir(channel)):
                if name.startswith(TMP_PREFIX):
                    os.unlink(self._layout.channel_dir(channel) / name)
