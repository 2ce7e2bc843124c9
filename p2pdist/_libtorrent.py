"""The one import of libtorrent in the project, with a version check (deluge's `_libtorrent`).

Every other module does ``from p2pdist._libtorrent import lt``. libtorrent 2.1 is required: the
torrent-creation API (`lt.create_torrent(entries, ...)`), v2 merkle trees and the settings this
project relies on were measured on 2.1.1 (see shared/NOTES-libtorrent.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys

import libtorrent as lt

REQUIRED = (2, 1)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".")[:2] if x.isdigit())


if _version_tuple(lt.__version__) != REQUIRED:
    raise ImportError(
        f"p2pdist needs libtorrent {REQUIRED[0]}.{REQUIRED[1]}.x, found {lt.__version__}; "
        "reinstall with `pip install 'libtorrent>=2.1.1,<2.2'`"
    )

M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def _bound_malloc_arenas() -> None:
    """At most two glibc malloc arenas for the process, before libtorrent starts its threads.

    glibc gives each thread that allocates its own arena (up to 8 per core) and rarely hands
    their freed memory back: a box downloading 10 GB from a LAN peer grew to 330 MB of
    anonymous memory at a flat rate with libtorrent's bounded buffers. Two arenas are what a
    2-core box needs (as MALLOC_ARENA_MAX=2 would set).
    """
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):  # not glibc: no arenas to bound
        ctypes.CDLL(name).mallopt(M_ARENA_MAX, MALLOC_ARENAS)


_bound_malloc_arenas()

__all__ = ["lt"]
