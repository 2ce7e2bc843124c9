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


def torrent_paths(ti: lt.torrent_info) -> frozenset[str]:
    """Every file path of the torrent, relative to its folder (pad files left out)."""
    fs = ti.layout()
    out = set()
    for i in range(fs.num_files()):
        if not fs.file_flags(i) & lt.file_storage.flag_pad_file:
            full = fs.file_path(i)
            out.add(full.split("/", 1)[1] if "/" in full else full)
    return frozenset(out)


def pieces_on_disk(ti: lt.torrent_info, save_path: Path, paths: Set[str]) -> set[int]:
    """Indexes of pieces lying wholly in one of `paths` (with its pad file) whose bytes on disk
    match the torrent's v1 piece hash. Missing or short files give none of their pieces."""
    fs = ti.layout()
    piece_len = ti.piece_length()
    total = fs.total_size()
    found: set[int] = set()
    for i in range(fs.num_files()):
        size = fs.file_size(i)
        if size == 0 or fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        full = fs.file_path(i)
        rel = full.split("/", 1)[1] if "/" in full else full
        if rel not in paths:
            continue
        offset = fs.file_offset(i)
        if offset % piece_len:
            continue  # not piece-aligned (a v1-only torrent): its edge pieces are shared
        path = save_path / full
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            on_disk = os.fstat(fd).st_size
            first = offset // piece_len
            for p in range(first, (offset + size - 1) // piece_len + 1):
                start = (p - first) * piece_len
                length = min(piece_len, size - start)
                if start + length > on_disk:
                    break
                data = os.pread(fd, length, start)
                if len(data) != length or not any(data[:: 4096]):
                    continue  # short, or a hole never written (zeros: not fetched)
                # The piece's v1 hash covers the file's tail and the zeros of the pad after it.
                piece_end = min((p + 1) * piece_len, total)
                digest = hashlib.sha1(data)
                digest.update(bytes(piece_end - p * piece_len - length))
                if digest.digest() == ti.hash_for_piece(p):
                    found.add(p)
        finally:
            os.close(fd)
    return found
