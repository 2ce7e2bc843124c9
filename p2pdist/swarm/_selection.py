"""Which files of a torrent to fetch: wanted paths to libtorrent file priorities (pure)."""

from __future__ import annotations

from collections.abc import Set

from p2pdist._libtorrent import lt
from p2pdist.i18n import _

SKIP = 0
NORMAL = 4


def file_priorities(ti: lt.torrent_info, wanted_paths: Set[str] | None) -> list[int]:
    """Priorities indexed like `ti.layout()`, pad files included.

    Args:
        ti: the torrent's `lt.torrent_info`.
        wanted_paths: paths relative to the torrent's folder (as `torrent_files()` gives them);
            None wants everything.

    With a selection, pad files get 0: a pad shares the last piece of the file before it, and a
    wanted pad would drag a piece of an unwanted file (and so the file itself) onto the disk.
    Without one, everything (pads too) gets the default: libtorrent drops `seed_mode` as soon as
    any priority is 0.

    Raises:
        ValueError: a wanted path is not in the torrent.
    """
    fs = ti.layout()
    if wanted_paths is None:
        return [NORMAL] * fs.num_files()
    priorities = []
    found: set[str] = set()
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            priorities.append(SKIP)
            continue
        full = fs.file_path(i)
        rel = full.split("/", 1)[1] if "/" in full else full
        if rel in wanted_paths:
            found.add(rel)
            priorities.append(NORMAL)
        else:
            priorities.append(SKIP)
    if missing := set(wanted_paths) - found:
        raise ValueError(
            _("wanted paths not in torrent {name}: {paths}").format(
                name=ti.name(), paths=", ".join(sorted(missing))
            )
        )
    return priorities
