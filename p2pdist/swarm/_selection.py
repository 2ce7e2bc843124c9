"""Which files of a torrent to fetch: wanted paths to libtorrent file priorities (pure)."""

from __future__ import annotations

from collections.abc import Iterator, Set
from dataclasses import dataclass

from p2pdist._libtorrent import lt
from p2pdist.i18n import _

SKIP = 0
NORMAL = 4


@dataclass(frozen=True)
class TorrentFile:
    """A file of a torrent (never a pad file), where it lies in the torrent's bytes."""

    path: str  # relative to the torrent's folder
    full: str  # with the torrent's folder, as libtorrent stores it under the save path
    size: int
    offset: int


def torrent_files(ti: lt.torrent_info) -> Iterator[TorrentFile]:
    """The torrent's files in order, pad files left out."""
    fs = ti.layout()
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        full = fs.file_path(i)
        yield TorrentFile(full.split("/", 1)[1] if "/" in full else full, full,
                          fs.file_size(i), fs.file_offset(i))


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


def pieces_held(ti: lt.torrent_info, held_paths: Set[str]) -> list[bool]:
    """Which pieces lie wholly in files the caller already holds verified (or pad files).

    For v2 and hybrid torrents every file starts on a piece boundary, so a held file's pieces
    are exactly its own; a piece shared with a file not held (v1 edge pieces) is not claimed.
    Marking these as had spares libtorrent hashing files the store already verified by their
    SHA-256: a reused file costs one stat, not a read.
    """
    held = [True] * ti.num_pieces()
    piece_len = ti.piece_length()
    for f in torrent_files(ti):
        if f.size == 0 or f.path in held_paths:
            continue
        for p in range(f.offset // piece_len, (f.offset + f.size - 1) // piece_len + 1):
            held[p] = False
    return held


def paths_with_pieces(ti: lt.torrent_info, have: list[bool]) -> frozenset[str]:
    """Paths (relative to the torrent's folder) of files with at least one piece in `have`."""
    if not any(have):
        return frozenset()
    piece_len = ti.piece_length()
    out: set[str] = set()
    for f in torrent_files(ti):
        if f.size == 0:
            continue
        first, last = f.offset // piece_len, (f.offset + f.size - 1) // piece_len
        if any(have[p] for p in range(first, min(last + 1, len(have)))):
            out.add(f.path)
    return frozenset(out)
