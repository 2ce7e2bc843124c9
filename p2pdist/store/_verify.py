"""Streaming SHA-256 checks of release files against the manifest.

The manifest's SHA-256 is the last word on a file: `verify_files` hashes a release whole (the
technician's `verify`, imports from a folder); `check_placed` is the cheaper check after a swarm
download, where every byte was already verified against the signed torrent. Memory stays at one
4 MiB buffer per core whatever the file size; files are hashed on every core at once
(`p2pdist.hashing`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from manifest import FileEntry

from ..fs import translated
from ..hashing import OnBytes, run_hashing, sha256_stream
from ..i18n import _

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes total) after every chunk; it may raise to stop the check."""


def file_matches(path: Path, entry: FileEntry, on_bytes: OnBytes) -> bool:
    """Whether `path` has exactly `entry`'s size and SHA-256, flushed to disk.

    A missing file or a wrong size fails without reading. `on_bytes` gets each chunk's length.
    A matching file is fsynced: the swarm's writes may still sit in the page cache, and a
    release must not be activated on data a power cut would lose.

    Raises:
        StorageError: (or a subclass) the file exists but cannot be read.
    """
    try:
        if path.stat().st_size != entry.size:
            return False
    except FileNotFoundError:
        return False
    with translated(_("read {path}").format(path=path)), open(path, "rb", buffering=0) as f:
        if sha256_stream(f, on_bytes) != entry.sha256:
            return False
        os.fsync(f.fileno())
    return True


def verify_files(
    files: Sequence[tuple[Path, FileEntry]], progress: Progress | None = None
) -> list[FileEntry]:
    """Hash each (path, entry) pair on every core and return the entries whose file does not
    match.

    Progress covers the entries' manifest sizes; a file that fails without being read counts as
    done, so the total is always reached.

    Raises:
        StorageError: (or a subclass) a file cannot be read.
    """
    total = sum(e.size for _p, e in files)
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    def one(item: tuple[Path, FileEntry], counted: OnBytes) -> bool:
        path, entry = item
        read = 0

        def count(n: int) -> None:
            nonlocal read
            read += n
            counted(n)

        ok = file_matches(path, entry, count)
        if read < entry.size:
            # Unread or short files: move the bar to where a good file would have left it.
            counted(entry.size - read)
        return ok

    results = run_hashing(files, one, on_bytes, sizes=[e.size for _p, e in files])
    return [e for (_p, e), ok in zip(files, results, strict=True) if not ok]


def check_placed(
    reused: Sequence[tuple[Path, Path, FileEntry]], fetched: Sequence[tuple[Path, FileEntry]]
) -> list[FileEntry]:
    """The check before activating a release the swarm just completed; the entries that fail.

    Nothing is hashed twice:
    - a reused file that is still a hard link of its object (`(path, object, entry)`) is the
      object, which was verified by its SHA-256 when it entered the store: one stat. One that
      is not (a copy fallback, or replaced meanwhile) is hashed;
    - a fetched file was verified piece by piece by libtorrent against the signed torrent's
      v2 merkle root (itself a SHA-256 content address of the file), so it is only checked for
      its size and flushed to disk (fsync), so a power cut cannot lose what is activated.
    `verify_files` (the technician's `verify`) still hashes everything.

    Raises:
        StorageError: (or a subclass) a file cannot be read or flushed.
    """
    bad: list[FileEntry] = []
    for path, obj, entry in reused:
        if not _same_file(path, obj, entry.size) and not file_matches(path, entry,
                                                                     lambda _n: None):
            bad.append(entry)
    for path, entry in fetched:
        with translated(_("read {path}").format(path=path)):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                bad.append(entry)
                continue
            try:
                if os.fstat(fd).st_size != entry.size:
                    bad.append(entry)
                    continue
                os.fsync(fd)
            finally:
                os.close(fd)
    return bad


def _same_file(path: Path, obj: Path, size: int) -> bool:
    try:
        a, b = path.stat(), obj.stat()
    except FileNotFoundError:
        return False
    return (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev) and a.st_size == size
