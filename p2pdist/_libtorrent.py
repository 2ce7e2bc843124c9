"""The one import of libtorrent in the project, with a version check (deluge's `_libtorrent`).

Every other module does ``from p2pdist._libtorrent import lt``. libtorrent 2.1 is required: the
torrent-creation API (`lt.create_torrent(entries, ...)`), v2 merkle trees and the settings this
project relies on were measured on 2.1.1 (see shared/NOTES-libtorrent.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import locale
import sys

from .i18n import _


def _utf8_ctype() -> None:
    """File names reach libtorrent as UTF-8; under LC_ALL=C (a bare systemd unit, a cron job,
    `LC_ALL=C` in a shell) its C++ side converts them with the C locale's ASCII and fails on
    every Chinese name ("No such file or directory"). Python itself runs in UTF-8 there
    (PEP 538/540), so the process's character type is set to match before libtorrent loads."""
    if (locale.getlocale(locale.LC_CTYPE)[1] or "").replace("-", "").lower() == "utf8":
        return
    for name in ("C.UTF-8", "C.utf8", "en_US.UTF-8"):
        with contextlib.suppress(locale.Error):
            locale.setlocale(locale.LC_CTYPE, name)
            return


_utf8_ctype()

import libtorrent as lt  # noqa: E402  (after the locale: see _utf8_ctype)

REQUIRED = (2, 1)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".")[:2] if x.isdigit())


if _version_tuple(lt.__version__) != REQUIRED:
    raise ImportError(
        _("p2pdist needs libtorrent {required}.{required2}.x, found {version}; "
          "reinstall with `pip install 'libtorrent>=2.1.1,<2.2'`").format(
            required=REQUIRED[0], required2=REQUIRED[1], version=lt.__version__)
    )

M_ARENA_MAX = -8
M_MMAP_THRESHOLD = -3
MALLOC_ARENAS = 2
MMAP_THRESHOLD = 256 * 1024
"""Allocations from this size up get their own mapping, returned to the system when freed."""


def _bound_malloc() -> None:
    """glibc malloc policy for a long-running swarm process, set before libtorrent's threads.

    Two arenas: glibc gives each allocating thread its own arena (up to 8 per core) and rarely
    hands their freed memory back; two are what a 2-core box needs (as MALLOC_ARENA_MAX=2).

    A fixed mmap threshold: glibc's default one moves up to the size of every large block freed
    (up to 32 MB), after which blocks of that size come from the heap instead of their own
    mapping. Each resume checkpoint of a v2 torrent copies its merkle trees (~4 MB per GB of
    content, several MB per file) and frees them; with the moving threshold those blocks
    fragmented the heap and a box's RSS grew with the bytes downloaded (plain libtorrent with
    checkpoints every 0.2 %: 79 -> 198 MB over 2.4 GB; with the threshold fixed at 256 KiB:
    79 -> 114 MB, the same as with no checkpoints at all). malloc_trim after each checkpoint
    did not help (178 MB): the holes sit between live blocks.
    """
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to set
        libc = ctypes.CDLL(name)
        libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


_bound_malloc()

__all__ = ["lt"]
