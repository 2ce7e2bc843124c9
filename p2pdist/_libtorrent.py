"""The one import of libtorrent in the project, with a version check (deluge's `_libtorrent`).

Every other module does ``from p2pdist._libtorrent import lt``. libtorrent 2.1 is required: the
torrent-creation API (`lt.create_torrent(entries, ...)`), v2 merkle trees and the settings this
project relies on were measured on 2.1.1 (see shared/NOTES-libtorrent.md).
"""

from __future__ import annotations

import libtorrent as lt

from .i18n import _

REQUIRED = (2, 1)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split(".")[:2] if x.isdigit())


if _version_tuple(lt.__version__) != REQUIRED:
    raise ImportError(
        _("p2pdist needs libtorrent {required}.{required2}.x, found {version}; "
          "reinstall with `pip install 'libtorrent>=2.1.1,<2.2'`").format(
            required=REQUIRED[0], required2=REQUIRED[1], version=lt.__version__)
    )

__all__ = ["lt"]
