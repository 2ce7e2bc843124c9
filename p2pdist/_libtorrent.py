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
