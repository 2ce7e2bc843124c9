"""Building and reading hybrid v1+v2 torrents for a release (libtorrent does the hashing).

Hybrid keeps stock BitTorrent clients and HTTP web seeds working (v2-only web seeds fail in
2.1.1), and v2's per-file merkle roots let a new release reuse files the box already holds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._libtorrent import lt
from .errors import TorrentRefusedError
from .i18n import _


@dataclass(frozen=True)
class TorrentFile:
    """A non-pad file of a torrent: its path inside the torrent's folder, size and v2 root."""

    path: str
    size: int
    merkle_root: bytes


def create_hybrid_torrent(
    root_dir: Path,
    name: str,
    files: Sequence[tuple[str, int]],
    *,
    piece_size: int = 0,
    progress: Callable[[int, int], None] | None = None,
    web_seeds: Sequence[str] = (),
) -> bytes:
    """Hash the files under `root_dir` into a hybrid torrent whose folder is called `name`.

    Args:
        root_dir: the release folder on disk (any name).
        name: the torrent's folder name (`Manifest.torrent_name`).
        files: (relative POSIX path, size) of exactly the files to carry.
        piece_size: 0 lets libtorrent choose (128 KiB for 0.1 GB ... 4 MiB for 50 GB).
        progress: called with (pieces done, pieces total) from libtorrent's hashing.
        web_seeds: BEP 19 web seed URLs (`url-list`, outside the info dict: the info-hashes do
            not depend on them); a URL ending in "/" is the folder holding the torrent's folder.

    Returns:
        The bencoded .torrent (with v2 piece layers).
    """
    entries = [lt.create_file_entry(f"{name}/{p}", size) for p, size in files]
    ct = lt.create_torrent(entries, piece_size, 0)  # flags=0: hybrid v1+v2
    ct.set_creator("p2pdist")
    for url in web_seeds:
        ct.add_url_seed(url)
    total = ct.num_pieces()

    def _cb(i: int) -> None:
        if progress is not None:
            progress(i + 1, total)

    # libtorrent reads <parent>/<name>/<path>: give it a parent where <name> leads to root_dir.
    with tempfile.TemporaryDirectory(prefix="p2pdist-build-") as parent:
        (Path(parent) / name).symlink_to(root_dir.resolve(), target_is_directory=True)
        lt.set_piece_hashes(ct, parent, _cb)
    return bytes(lt.bencode(ct.generate()))


def torrent_files(torrent: bytes) -> tuple[str, list[TorrentFile]]:
    """The torrent's name and its non-pad files (path relative to the name), via libtorrent."""
    ti = lt.torrent_info(torrent)
    fs = ti.layout()
    out = []
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        full = fs.file_path(i)
        rel = full.split("/", 1)[1] if "/" in full else full
        out.append(TorrentFile(rel, fs.file_size(i), fs.root(i).to_bytes()))
    return ti.name(), out



@dataclass(frozen=True)
class TorrentIdentity:
    """What a stock BitTorrent client needs to find a release: its two info-hashes (hex) and
    a magnet link carrying both, the name and the web seeds."""

    info_hash_v1: str
    info_hash_v2: str
    magnet: str


def torrent_identity(torrent: bytes) -> TorrentIdentity:
    """The info-hashes and magnet link of a hybrid torrent (libtorrent computes them)."""
    ti = lt.torrent_info(torrent)
    hashes = ti.info_hashes()
    return TorrentIdentity(str(hashes.v1), str(hashes.v2), lt.make_magnet_uri(ti))


def web_seeds_of(torrent: bytes) -> list[str]:
    """The torrent's BEP 19 web seeds (`url-list`: one string or a list of them)."""
    top: Any = lt.bdecode(torrent)
    urls = top.get(b"url-list", []) if isinstance(top, dict) else []
    items = urls if isinstance(urls, list) else [urls]
    return [u.decode("utf-8", "replace") for u in items if isinstance(u, bytes)]


def check_loadable(torrent: bytes) -> None:
    """Refuse a torrent libtorrent will not load, before it reaches `add_torrent`.

    A release is signed over its torrent, so a signature proves nothing about whether
    libtorrent accepts it (e.g. "v1 and v2 file metadata does not match"); checking here turns
    what would fail at every start into a rejection of that one release.

    Raises:
        TorrentRefusedError: libtorrent's parser refused it (its reason is in the message).
    """
    try:
        lt.load_torrent_buffer(torrent)
    except Exception as e:  # libtorrent raises RuntimeError / ValueError / SystemError
        raise TorrentRefusedError(
            _("libtorrent refuses the release's torrent: {reason}").format(reason=e)
        ) from e
