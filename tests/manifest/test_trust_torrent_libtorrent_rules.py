"""The pure torrent check refuses what libtorrent's loader refuses (issue 11 item 2).

Each edited torrent below is first shown to be refused by libtorrent itself, then by
`check_torrent_matches` with a trust error naming the reason; the release's own torrent passes
both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import bencodepy
import pytest
from trust_manifest_builders import Release

from manifest import TorrentMismatchError, check_torrent_matches
from p2pdist._libtorrent import lt


def _edited(release: Release, fn: Callable[[dict[bytes, Any]], None]) -> bytes:
    top = bencodepy.Bencode().decode(release.manifest().torrent)
    fn(top[b"info"])
    return bencodepy.encode(top)


def _pads(info: dict[bytes, Any]) -> list[dict[bytes, Any]]:
    return [f for f in info[b"files"] if b"p" in f.get(b"attr", b"")]


def _short_pieces(info: dict[bytes, Any]) -> None:
    info[b"pieces"] = info[b"pieces"][:-20]


def _long_pieces(info: dict[bytes, Any]) -> None:
    info[b"pieces"] += bytes(20)


def _pad_shorter(info: dict[bytes, Any]) -> None:
    _pads(info)[0][b"length"] -= 1


def _pad_dropped(info: dict[bytes, Any]) -> None:
    info[b"files"].remove(_pads(info)[0])


def _pad_longer(info: dict[bytes, Any]) -> None:
    _pads(info)[0][b"length"] += 16384


def _v1_reordered(info: dict[bytes, Any]) -> None:
    files = info[b"files"]
    files[0], files[2] = files[2], files[0]


def _huge_piece_length(info: dict[bytes, Any]) -> None:
    info[b"piece length"] = 1 << 30


CASES = [
    (_short_pieces, "incorrect number of piece hashes"),
    (_long_pieces, "incorrect number of piece hashes"),
    (_pad_shorter, "v1 and v2 file metadata does not match"),
    (_pad_dropped, "v1 and v2 file metadata does not match"),
    (_pad_longer, "v1 and v2 file metadata does not match"),
    (_v1_reordered, "v1 and v2 file metadata does not match"),
    (_huge_piece_length, "piece length"),
]


def test_the_release_has_pads_and_loads(release: Release) -> None:
    info = bencodepy.Bencode().decode(release.manifest().torrent)[b"info"]
    assert len(_pads(info)) >= 1 and len(info[b"files"]) >= 3
    lt.torrent_info(release.manifest().torrent)
    check_torrent_matches(release.manifest())


@pytest.mark.parametrize(("edit", "reason"), CASES, ids=[c[0].__name__ for c in CASES])
def test_libtorrent_refusals_are_mirrored(release: Release, edit: Any, reason: str) -> None:
    torrent = _edited(release, edit)
    with pytest.raises(RuntimeError):
        lt.torrent_info(torrent)
    with pytest.raises(TorrentMismatchError, match=reason):
        check_torrent_matches(dataclasses.replace(release.manifest(), torrent=torrent))


def test_pad_attribute_in_the_v2_tree_is_refused(release: Release) -> None:
    m = release.manifest()

    def mark(info: dict[bytes, Any]) -> None:
        node = info[b"file tree"]
        for seg in m.files[0].path.split("/"):
            node = node[seg.encode()]
        node[b""][b"attr"] = b"p"

    with pytest.raises(TorrentMismatchError, match="padding"):
        check_torrent_matches(dataclasses.replace(m, torrent=_edited(release, mark)))


@pytest.mark.parametrize("data", [b"l" * 50 + b"e" * 50, b"l" * 41 + b"e" * 41,
                                  b"d" + b"0:le" * 3 + b"e", b"i-0e", b"i01e", b"02:ab",
                                  b"le" * 400_001])
def test_bencode_bounds_and_canonical_form(release: Release, data: bytes) -> None:
    with pytest.raises(TorrentMismatchError):
        check_torrent_matches(dataclasses.replace(release.manifest(), torrent=b"d4:info" + data
                                                  + b"e"))
