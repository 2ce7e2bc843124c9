"""A window over a large download's files: the first unfinished ones at normal priority, the
rest low, so libtorrent works on a few files at a time.

Why: for a v2 (hybrid) torrent libtorrent keeps a full merkle tree for every file it has begun,
64 bytes per 16 KiB block rounded up to a power of two (a 1.5 GB film: 8 MB), and the block
layer (32 bytes per block) once the file is done. Rarest-first over a 40 GB release begins every
film within seconds, so the trees of the whole release sit on the heap at once: a box's memory
grew ~5.8 MB per GB of release (128 MB anonymous at 10 GB, 76 at 1 GB). With the window only
the files in it have full trees.

Low, not skipped: a peer that holds only pieces of later files (a neighbour ahead, a seeder
still fetching) is still used, so no link idles for the window's sake; libtorrent simply picks
window pieces first whenever a peer has them. Every wanted file is still fetched: the window
changes the order, never the selection. Pure apart from reading the torrent's layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from p2pdist._libtorrent import lt

from ._selection import SKIP

LOW = 1

DEFAULT_WINDOW_BYTES = 2 << 30
"""Unfinished wanted bytes at normal priority: ~12 MB of full trees, and room for hundreds of
pieces, so peers always have something of the window to offer."""


@dataclass
class FileWindow:
    """The window of one torrent: its wanted priorities, and those now applied."""

    base: list[int]
    sizes: list[int]
    pads: list[bool]
    window_bytes: int
    applied: list[int]

    @classmethod
    def of(cls, ti: lt.torrent_info, base: Sequence[int],
           window_bytes: int) -> FileWindow | None:
        """A window over `ti` with wanted priorities `base`, or None when what is wanted fits
        in the window anyway (a small release is fetched as before)."""
        fs = ti.layout()
        sizes = [fs.file_size(i) for i in range(fs.num_files())]
        pads = [bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)
                for i in range(fs.num_files())]
        wanted = sum(s for s, p, pad in zip(sizes, base, pads, strict=True)
                     if p != SKIP and not pad)
        if window_bytes <= 0 or wanted <= window_bytes:
            return None
        w = cls(list(base), sizes, pads, window_bytes, [])
        w.applied = w.priorities([0] * len(sizes))
        return w

    def priorities(self, done: Sequence[int]) -> list[int]:
        """The priorities for bytes `done` per file (libtorrent's file_progress): wanted files
        that are unfinished keep theirs while the window has room (the first always does), the
        later ones go low; finished files keep theirs. A pad file follows the file before it,
        whose last piece it shares (a normal pad would pull that piece, and with it the file's
        whole tree, in early)."""
        out = list(self.base)
        room = self.window_bytes
        before = SKIP
        for i, (p, size, pad) in enumerate(zip(self.base, self.sizes, self.pads, strict=True)):
            if pad:
                out[i] = min(p, before) if p != SKIP else SKIP
                continue
            if p != SKIP and size > 0 and done[i] < size:
                if room > 0:
                    room -= size - done[i]
                else:
                    out[i] = LOW
            before = out[i]
        return out

    def update(self, done: Sequence[int]) -> list[int] | None:
        """The new priorities if progress `done` moves the window, else None."""
        new = self.priorities(done)
        if new == self.applied:
            return None
        self.applied = new
        return new
