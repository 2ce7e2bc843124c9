"""A folder as the pipeline's source: a USB drive, an export, the origin's publishing folder.

Trust never comes from where the bytes are: the manifest was verified against the trust root
before this runs, and every copied file is hashed against it (`unverified` is every fetched
file) before the release is activated. Files the store already holds are reused, so importing
a newer release copies only what changed. The steps are the one pipeline's
(`p2pdist.pipeline.update_release`); only the copying is here.
"""

from __future__ import annotations

import stat
import threading
from collections.abc import Awaitable, Callable, Sequence, Set
from dataclasses import dataclass
from functools import partial, wraps
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

import trio

from manifest import FileEntry, Manifest, VerifiedRelease

from .errors import ContentMismatchError, first_known_error
from .hashing import OnBytes, cores
from .i18n import _
from .pipeline import PipelineStore, update_release
from .store import Policy, Progress, ReleasePlan

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class InstallReport:
    channel: str
    version: int
    files: int
    bytes_copied: int
    bytes_reused: int


class FolderStore(PipelineStore, Protocol):
    """A pipeline store that can also take a file from a folder (`Store.add_file`)."""

    def add_file(self, manifest: Manifest, entry: FileEntry, source: Path, *,
                 link: bool, on_bytes: OnBytes | None = None) -> bytes | None: ...


class FolderSource:
    """The pipeline's source when the files sit at their manifest paths in `folder`.

    A copied file is hashed as it is written (the drive is read once); one whose SHA-256
    matched the manifest needs no second pass. Linked files, and copies that did not match,
    are `unverified`: the pipeline hashes them (and quarantines the bad ones).
    """

    def __init__(self, store: FolderStore, folder: Path, *, link: bool = False,
                 progress: Progress | None = None) -> None:
        self.store = store
        self.folder = folder
        self.link = link
        self.progress = progress
        self._manifest: Manifest | None = None
        self._fetch: Sequence[FileEntry] = ()
        self._unverified: set[str] = set()

    async def start(self, release: VerifiedRelease, plan: ReleasePlan, save_path: Path) -> None:
        self._manifest, self._fetch = release.manifest, plan.fetch
        self._unverified = {e.path for e in plan.fetch}
        for e in plan.fetch:  # refused before anything is copied
            self._checked(e)

    async def fill(self) -> None:
        """Copy every file to fetch, one per core at once (largest first), each hashed as it
        is written: one thread copying and hashing left the disk idle while it hashed (349 MB/s
        at 10 GB here, where the disk copies 1 GB/s)."""
        m = self._manifest
        assert m is not None, "start() first"
        total, done = sum(e.size for e in self._fetch), 0
        lock = threading.Lock()

        def copied(n: int) -> None:  # in a copying thread, as `Progress` may be called
            nonlocal done
            with lock:
                done += n
                if self.progress is not None:
                    self.progress(done, total)

        limiter = trio.CapacityLimiter(cores())

        async def copy(e: FileEntry) -> None:
            digest = await trio.to_thread.run_sync(partial(
                self.store.add_file, m, e, self._checked(e), link=self.link, on_bytes=copied),
                limiter=limiter)
            if digest == e.sha256:
                self._unverified.discard(e.path)

        try:  # the first failure cancels the other copies
            async with trio.open_nursery() as nursery:
                for e in sorted(self._fetch, key=lambda e: -e.size):
                    nursery.start_soon(copy, e)
        except BaseExceptionGroup as group:
            known = first_known_error(group)
            if known is None:
                raise
            raise known from group

    def unverified(self) -> Set[str]:
        return frozenset(self._unverified)

    async def refetch(self, bad: Sequence[FileEntry]) -> None:
        raise ContentMismatchError(
            _("{n} file(s) from {folder} do not match the signed manifest, e.g. {path}; they "
              "were set aside, the active release is unchanged").format(
                  n=len(bad), folder=self.folder, path=bad[0].path))

    def _checked(self, e: FileEntry) -> Path:
        """The file for `e` in the folder, refused unless it is a regular file of the
        manifest's size (a sparse terabyte or a symlink out of the drive costs nothing)."""
        src = self.folder / e.path
        if not src.is_file():
            raise ContentMismatchError(
                _("{path} is missing from {folder}; the release cannot be installed from it")
                .format(path=e.path, folder=self.folder))
        st = src.stat() if self.link else src.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size != e.size:
            raise ContentMismatchError(
                _("{path} in {folder} is not a regular file of {size} bytes as the manifest "
                  "says; the release cannot be installed from it").format(
                    path=e.path, folder=self.folder, size=e.size))
        return src


async def ainstall_from_folder(
    store: FolderStore,
    release: VerifiedRelease,
    folder: Path,
    *,
    policy: Policy | None = None,
    link: bool = False,
    progress: Progress | None = None,
    keep_per_channel: int | None = 2,
) -> InstallReport:
    """Copy (or link) a release's files from `folder` into the store, check, activate, gc.

    Args:
        store: the box's store.
        release: the verified manifest.
        folder: holds the files at their manifest paths.
        policy: which files this box wants (default: all).
        link: hard-link instead of copy (the origin publishing its own folder).
        progress: (bytes done, bytes total) of the copy (hashed as it is written), or of
            the hashing pass when linking; each byte counts once (a 10 GB release once showed
            20 GB).
        keep_per_channel: as `update_release` takes it.

    Raises:
        ContentMismatchError: a file is missing or differs from the manifest (it is
            quarantined; the previous active release stays).
        DiskFullError, StorageError: as the store raises them; nothing is activated.
    """
    source = FolderSource(store, folder, link=link, progress=progress)
    done = await update_release(store, source, release,
                                policy=policy, progress=progress,
                                keep_per_channel=keep_per_channel)
    m = release.manifest
    return InstallReport(m.channel, m.version, len(done.plan.wanted), done.plan.bytes_to_fetch,
                         done.plan.bytes_reused)


def _blocking(f: Callable[P, Awaitable[T]]) -> Callable[P, T]:
    """`f` for synchronous callers (the CLI): runs it in its own trio loop."""
    @wraps(f)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        return trio.run(partial(f, *args, **kwargs))
    return run


install_from_folder = _blocking(ainstall_from_folder)
"""`ainstall_from_folder` for synchronous callers (the CLI); not from inside trio."""
