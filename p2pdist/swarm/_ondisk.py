"""Pieces already on disk in files the caller does not vouch for: checked here, by their v1
SHA-1, so a torrent added with `held_paths` (which tells libtorrent which pieces it has, and so
stops it from checking the disk) still keeps what partial files hold.

The case that matters: a 40 GB release half downloaded when a newer one appears. BitTorrent
fetches pieces of every file at once, so at 50 % almost every film is partial, not complete; the
supervisor moves each partial file whose content the new release also has into the new
release's folder, and its good pieces are found here instead of fetched again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Set
from pathlib import Path

from p2pdist._libtorrent import lt

from ._selection import TorrentFile, torrent_files


def torrent_paths(ti: lt.torrent_info) -> frozenset[str]:
    """Every file path of the torrent, relative to its folder (pad files left out)."""
    return frozenset(f.path for f in torrent_files(ti))


def pieces_on_disk(ti: lt.torrent_info, save_path: Path, paths: Set[str]) -> set[int]:
    """Indexes of pieces lying wholly in one of `paths` (with its pad file) whose bytes on disk
    match the torrent's v1 piece hash. Missing or short files give none of their pieces."""
    piece_len = ti.piece_length()
    total = ti.layout().total_size()
    found: set[int] = set()
    for f in torrent_files(ti):
        if f.size == 0 or f.path not in paths:
            continue
        if f.offset % piece_len:
            continue  # not piece-aligned (a v1-only torrent): its edge pieces are shared
        try:
            fd = os.open(save_path / f.full, os.O_RDONLY)
        except OSError:
            continue
        try:
            found |= _good_pieces(ti, fd, f, piece_len, total)
        finally:
            os.close(fd)
    return found


def _good_pieces(ti: lt.torrent_info, fd: int, f: TorrentFile, piece_len: int,
                 total: int) -> set[int]:
    on_disk = os.fstat(fd).st_size
    first = f.offset // piece_len
    good = set()
    for p in range(first, (f.offset + f.size - 1) // piece_len + 1):
        start = (p - first) * piece_len
        length = min(piece_len, f.size - start)
        if start + length > on_disk:
            break
        data = os.pread(fd, length, start)
        if len(data) != length or not any(data[::4096]):
            continue  # short, or a hole never written (zeros: not fetched)
        # The piece's v1 hash covers the file's tail and the zeros of the pad after it.
        digest = hashlib.sha1(data)
        digest.update(bytes(min((p + 1) * piece_len, total) - p * piece_len - length))
        if digest.digest() == ti.hash_for_piece(p):
            good.add(p)
    return good
