"""File-system primitives on the ground floor of p2pdist, each crash-safe and each turning
`OSError` into the storage error family with a message a technician can act on.

Nothing here knows about releases; the store composes these steps, and every other module that
writes a state file (`atomic_write`) or places a file (`place`) uses them from here.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DiskFullError, StorageError, StoragePermissionError
from .i18n import _

TMP_PREFIX = ".p2pdist-tmp-"
"""Temporary files start with this; the store's sweep removes leftovers after a crash."""

COPY_CHUNK = 1024 * 1024
_FULL = {errno.ENOSPC, errno.EDQUOT}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def tmp_name(name: str) -> str:
    """A short, fixed temporary name for `name` in the same folder.

    Fixed, so a retry after a crash reuses (and so cleans up) the same name; short, so a
    255-byte Chinese file name still fits.
    """
    return TMP_PREFIX + hashlib.sha256(name.encode()).hexdigest()[:16]


def human_size(n: float) -> str:
    """`n` bytes in binary units, e.g. ``1.5 GiB``."""
    if n < 1024:
        return f"{n:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} TiB"


def storage_error(e: OSError, action: str) -> StorageError:
    """The storage error for `e`, raised while doing `action` (a phrase naming paths)."""
    if e.errno in _FULL:
        return DiskFullError(
            _("could not {action}: the disk is full; free space in the data directory "
              "(old releases, other files) and retry").format(action=action)
        )
    if e.errno in _DENIED:
        return StoragePermissionError(
            _("could not {action}: {reason}; make sure the disk is mounted read-write and the "
              "p2pdist user owns the data directory").format(action=action, reason=e.strerror)
        )
    return StorageError(
        _("could not {action}: {reason}").format(action=action, reason=e.strerror or e)
    )


@contextmanager
def translated(action: str) -> Iterator[None]:
    """Raise any `OSError` in the block as the matching `StorageError`, chained."""
    try:
        yield
    except OSError as e:
        raise storage_error(e, action) from e


def fsync_dir(path: Path) -> None:
    """Make a rename or link in `path` durable (a renamed entry lives in its folder)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file.

    Raises:
        StorageError: (or a subclass) the write failed; `path` is unchanged.
    """
    tmp = path.with_name(tmp_name(path.name))
    with translated(_("write {path}").format(path=path)):
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)


def atomic_symlink(target: str, link: Path) -> None:
    """Point `link` at `target`, replacing any old link in one step (symlink + rename).

    Readers see the old target or the new one, never no link. A crash between the two steps
    leaves only a temporary link, which the next attempt replaces.

    Raises:
        StorageError: (or a subclass) the switch failed; `link` is unchanged.
    """
    tmp = link.with_name(tmp_name(link.name))
    with translated(_("switch {link} to {target}").format(link=link, target=target)):
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        try:
            os.replace(tmp, link)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(link.parent)


OnChunk = Callable[[memoryview], None]
"""Called with each chunk a copy wrote, in order (to hash the bytes while they pass)."""


def place(source: Path, dest: Path, *, link: bool = True, on_chunk: OnChunk | None = None) -> bool:
    """Make `dest` hold `source`'s content: a hard link, or a copy across file systems (or
    always a copy when `link` is False, for sources that may change or go away, like a USB drive).

    An existing `dest` is replaced in one rename, so a reader never sees a half file; if it is
    already `source` itself nothing happens. A copy passes every chunk it wrote to `on_chunk`
    (not called for a link).

    Returns:
        True if `dest` is a hard link to `source`, False if it had to be a copy.

    Raises:
        DiskFullError: the copy ran out of space (the partial copy is removed).
        StorageError: (or a subclass) any other failure; `dest` is unchanged.
    """
    size = source.stat().st_size
    action = _("link or copy {source} ({size}) to {dest}").format(
        source=source, size=human_size(size), dest=dest
    )
    with translated(action):
        if dest.exists() and os.path.samefile(source, dest):
            return True
        tmp = dest.with_name(tmp_name(dest.name))
        tmp.unlink(missing_ok=True)
        try:
            linked = False
            if link:
                try:
                    os.link(source, tmp)
                    linked = True
                except OSError as e:
                    if e.errno not in (errno.EXDEV, errno.EPERM):
                        raise
            if not linked:
                _copy(source, tmp, on_chunk)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return linked


def _copy(source: Path, dest: Path, on_chunk: OnChunk | None) -> None:
    buf = bytearray(COPY_CHUNK)
    view = memoryview(buf)
    with open(source, "rb", buffering=0) as src, open(dest, "wb", buffering=0) as out:
        while n := src.readinto(buf):
            chunk = view[:n]
            while chunk:
                chunk = chunk[out.write(chunk):]
            if on_chunk is not None:
                on_chunk(view[:n])
        os.fsync(out.fileno())
    shutil.copystat(source, dest)


def same_device(a: Path, b: Path) -> bool:
    """Whether hard links can join `a` and `b` (both must exist)."""
    return a.stat().st_dev == b.stat().st_dev


def allocated(path: Path, size: int) -> int:
    """Bytes of `path` already on disk, at most `size` (0 if missing).

    A resumed download's files are partly written (and often sparse); counting their allocated
    blocks keeps the free-space check from demanding the whole release again.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        return 0
    return min(size, st.st_blocks * 512)


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system holding `path`."""
    return shutil.disk_usage(path).free


def unlink_counting(path: Path) -> int:
    """Remove `path`; return its size if that was its last link (the bytes really freed)."""
    st = path.lstat()
    path.unlink()
    return st.st_size if st.st_nlink == 1 else 0


def remove_tree(root: Path) -> int:
    """Delete `root` and everything in it (if it exists); return the bytes really freed."""
    if not root.is_dir():
        return 0
    freed = 0
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames:
            freed += unlink_counting(Path(dirpath, name))
        for name in dirnames:
            sub = Path(dirpath, name)
            if sub.is_symlink():
                sub.unlink()
            else:
                sub.rmdir()
    root.rmdir()
    return freed


__all__ = [
    "COPY_CHUNK",
    "TMP_PREFIX",
    "allocated",
    "atomic_symlink",
    "atomic_write",
    "free_bytes",
    "fsync_dir",
    "human_size",
    "place",
    "remove_tree",
    "same_device",
    "storage_error",
    "tmp_name",
    "translated",
    "unlink_counting",
]
