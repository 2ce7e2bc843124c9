"""The one bounded reader for files whose bytes are not trusted yet (USB exports, CLI arguments).

A USB stick is anyone's: where a manifest should be there may be a symlink to `/dev/zero`, a
FIFO that never answers, a directory, or a sparse file of a terabyte. So the file is opened
without blocking (a FIFO cannot hang the open) and, for exports, without following a final
symlink; only a regular file is read, and never more than `limit` + 1 bytes, so the cost of a
hostile file is bounded before any decoder sees it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from keys import SizeLimitError

from .errors import ConfigError
from .i18n import _


class NotRegularFileError(ConfigError):
    """A document was expected in a regular file, but the path names something else."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return _("a directory")
    if stat.S_ISFIFO(mode):
        return _("a FIFO (named pipe)")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device")
    if stat.S_ISSOCK(mode):
        return _("a socket")
    return _("not a regular file")


def read_bounded(path: Path, limit: int, what: str, *, follow_symlinks: bool = False) -> bytes:
    """The bytes of the regular file `path`, refusing anything larger than `limit`.

    `follow_symlinks` is for paths a technician typed; files found on an export never follow a
    final symlink. Whatever the path is, this reads at most `limit` + 1 bytes.

    Raises:
        NotRegularFileError: `path` is a symlink (when not followed), directory, FIFO, device.
        SizeLimitError: the file holds more than `limit` bytes (checked before reading it all).
        ConfigError: the file cannot be opened or read (the OS reason is named).
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if not follow_symlinks and path.is_symlink():
            raise NotRegularFileError(
                _("{what} {path} is a symlink; copy the file itself").format(
                    what=what, path=path)) from e
        raise ConfigError(_("cannot read {what} {path}: {err}").format(
            what=what, path=path, err=e.strerror)) from e
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(
                _("{what} {path} is {kind}, not a regular file").format(
                    what=what, path=path, kind=_kind(st.st_mode)))
        if st.st_size > limit:
            raise SizeLimitError(
                _("{what} {path} is {size} bytes; the limit is {limit} (checked before "
                  "reading)").format(what=what, path=path, size=st.st_size, limit=limit))
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as e:
        raise ConfigError(_("cannot read {what} {path}: {err}").format(
            what=what, path=path, err=e.strerror)) from e
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise SizeLimitError(_("{what} {path} is larger than the limit of {limit} bytes").format(
            what=what, path=path, limit=limit))
    return data
