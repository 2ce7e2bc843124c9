"""The torrent check is at least as strict as libtorrent: canonical bencode, safe segments, and a
missing pieces root only for empty files."""

from __future__ import annotations

import dataclasses
from typing import Any

import bencodepy
import pytest
from trust_manifest_builders import Release

from manifest import TorrentMismatchError, check_torrent_matches


def _edit(release: Release, fn: Any) -> bytes:
    m = release.manifest()
    top = bencodepy.Bencode().decode(m.torrent)
    fn(top[b"info"])
    return bencodepy.encode(top)


def test_non_canonical_bencode_is_refused(release: Release) -> None:
    m = release.manifest()
    # same dictionary, keys out of order: 'info' moved before 'created by'
    top = bencodepy.Bencode().decode(m.torrent)
    body = b"".join(bencodepy.encode(k) + bencodepy.encode(v) for k, v in
                    sorted(top.items(), key=lambda kv: kv[0] != b"info"))
    shuffled = b"d" + body + b"e"
    assert shuffled != m.torrent
    with pytest.raises(TorrentMismatchError, match="canonical"):
        check_torrent_matches(dataclasses.replace(m, torrent=shuffled))


def test_segment_with_a_slash_is_refused(release: Release) -> None:
    m = release.manifest()
    nested = next(f.path for f in m.files if "/" in f.path)
    first, rest = nested.split("/", 1)

    def flatten(info: dict[bytes, Any]) -> None:
        tree = info[b"file tree"]
        sub = tree.pop(first.encode())
        tree[f"{first}/{rest}".encode()] = sub[rest.split("/")[0].encode()] \
            if "/" not in rest else sub
        for entry in info[b"files"]:
            if entry[b"path"][:1] == [first.encode()] and b"attr" not in entry:
                entry[b"path"] = [nested.encode()]

    with pytest.raises(TorrentMismatchError, match="unsafe name"):
        check_torrent_matches(dataclasses.replace(m, torrent=_edit(release, flatten)))


def test_missing_pieces_root_of_a_non_empty_file_is_refused(release: Release) -> None:
    m = release.manifest()
    victim = next(f for f in m.files if f.size > 0)

    def drop_root(info: dict[bytes, Any]) -> None:
        node = info[b"file tree"]
        for seg in victim.path.split("/"):
            node = node[seg.encode()]
        del node[b""][b"pieces root"]

    with pytest.raises(TorrentMismatchError, match="malformed file entry"):
        check_torrent_matches(dataclasses.replace(m, torrent=_edit(release, drop_root)))
