"""The torrent a manifest carries must hold exactly the files it lists (no mix-and-match).

The hostile torrents are real ones made by libtorrent from other folders on disk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bencodepy
import pytest
from trust_manifest_builders import (
    CHANNEL,
    EMPTY,
    FILMS,
    HANDBOOK,
    NOW,
    RELEASE_FILES,
    VERSION,
    Cast,
    Release,
    lt_torrent,
    write_tree,
)

from keys import Root
from manifest import (
    Manifest,
    TorrentMismatchError,
    check_torrent_matches,
    torrent_name_for,
    verify_manifest,
)
from p2pdist._libtorrent import lt
from p2pdist.torrent import create_hybrid_torrent

NAME = torrent_name_for(CHANNEL, VERSION)


@pytest.fixture(scope="session")
def other_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Folders that differ from the release in one way each."""
    base = tmp_path_factory.mktemp("variants")
    other = {"别的/电影.mp4": b"x" * 5000, "readme.txt": b"hello"}
    resized = dict(RELEASE_FILES, **{HANDBOOK: RELEASE_FILES[HANDBOOK] + b"!"})
    changed = dict(RELEASE_FILES, **{FILMS: bytes(len(RELEASE_FILES[FILMS]))})
    extra = dict(RELEASE_FILES, **{"extra.mp4": b"e" * 100})
    missing = {k: v for k, v in RELEASE_FILES.items() if k != HANDBOOK}
    return {
        name: write_tree(base / name, files)
        for name, files in [("other", other), ("resized", resized), ("changed", changed),
                            ("extra", extra), ("missing", missing)]
    }


def _hybrid(root_dir: Path, name: str = NAME) -> bytes:
    files = sorted(
        (p.relative_to(root_dir).as_posix(), p.stat().st_size)
        for p in root_dir.rglob("*")
        if p.is_file()
    )
    return create_hybrid_torrent(root_dir, name, files)


def _verify(m: Manifest, root: Root, c: Cast) -> None:
    verify_manifest(m.sign(c.hunan1), root, None, NOW)


def test_the_release_torrent_matches(release: Release) -> None:
    check_torrent_matches(release.manifest())


@pytest.mark.parametrize(
    ("variant", "phrase"),
    [
        ("other", "does not match the manifest's files"),
        ("extra", r"only in torrent: \['extra.mp4'\]"),
        ("missing", r"only in manifest: \['handbook.pdf'\]"),
        ("resized", "says 1001 bytes, the manifest 1000"),
        ("changed", "merkle root differs"),
    ],
)
def test_real_torrent_of_other_files(
    release: Release, root: Root, c: Cast, other_dirs: dict[str, Path], variant: str,
    phrase: str,
) -> None:
    m = release.manifest(torrent=_hybrid(other_dirs[variant]))
    with pytest.raises(TorrentMismatchError, match=phrase):
        _verify(m, root, c)


def test_manifest_size_changed(release: Release, root: Root, c: Cast) -> None:
    m = release.manifest()
    files = tuple(dataclasses.replace(f, size=f.size + 1) if f.path == FILMS else f
                  for f in m.files)
    with pytest.raises(TorrentMismatchError, match="bytes, the manifest"):
        _verify(dataclasses.replace(m, files=files), root, c)


@pytest.mark.parametrize("path", [FILMS, EMPTY])
def test_manifest_merkle_root_changed(release: Release, root: Root, c: Cast, path: str) -> None:
    m = release.manifest()
    files = tuple(
        dataclasses.replace(f, merkle_root=bytes([f.merkle_root[0] ^ 1]) + f.merkle_root[1:])
        if f.path == path else f
        for f in m.files
    )
    with pytest.raises(TorrentMismatchError, match="merkle root differs"):
        _verify(dataclasses.replace(m, files=files), root, c)


def test_manifest_sha256_is_not_the_torrents_business(
    release: Release, root: Root, c: Cast
) -> None:
    # sha256 is checked against the bytes later, by the store; the torrent check ignores it
    m = release.manifest()
    files = (dataclasses.replace(m.files[0], sha256=bytes(32)), *m.files[1:])
    _verify(dataclasses.replace(m, files=files), root, c)


@pytest.mark.parametrize(
    "name", ["province_hunan_v2", "province_hunan_v4", "national_v3", "Province_Hunan_v3", "files"]
)
def test_torrent_named_wrongly(release: Release, root: Root, c: Cast, name: str) -> None:
    m = release.manifest(torrent=release.torrent(name))
    with pytest.raises(TorrentMismatchError, match=f"expected '{NAME}'"):
        _verify(m, root, c)


def test_torrent_of_another_version_reused(release: Release, root: Root, c: Cast) -> None:
    m = release.manifest(version=VERSION + 1, torrent=release.torrent(NAME))
    with pytest.raises(TorrentMismatchError, match="for this channel and version"):
        _verify(m, root, c)


@pytest.mark.parametrize(
    ("flag", "phrase"),
    [("v2_only", "no v1 piece hashes"), ("v1_only", "no v2 file tree")],
)
def test_non_hybrid_torrents(
    release: Release, root: Root, c: Cast, flag: str, phrase: str
) -> None:
    torrent = lt_torrent(release.root_dir, NAME, release.listing, getattr(lt.create_torrent, flag))
    with pytest.raises(TorrentMismatchError, match=phrase):
        _verify(release.manifest(torrent=torrent), root, c)


@pytest.mark.parametrize(
    "torrent",
    [b"", b"garbage", b"\x00" * 64, b"d4:infoi1ee", b"le", b"i42e", b"d4:info" + b"l" * 1000],
)
def test_garbage_torrent_bytes(release: Release, root: Root, c: Cast, torrent: bytes) -> None:
    with pytest.raises(TorrentMismatchError):
        _verify(release.manifest(torrent=torrent), root, c)


def test_truncated_real_torrent(release: Release, root: Root, c: Cast) -> None:
    good = release.torrent(NAME)
    for cut in (1, len(good) // 2, len(good) - 1):
        with pytest.raises(TorrentMismatchError):
            _verify(release.manifest(torrent=good[:cut]), root, c)


# --- hand-edited torrents: v1 and v2 views that disagree ----------------------------------------


def _edit_v1(torrent: bytes, edit: Callable[[list[dict[bytes, Any]]], None]) -> bytes:
    top = bencodepy.decode(torrent)
    edit(top[b"info"][b"files"])
    out = bencodepy.encode(top)
    assert isinstance(out, bytes)
    return out


def _is(entry: dict[bytes, Any], path: str) -> bool:
    return bool(entry[b"path"] == [s.encode() for s in path.split("/")])


def _grow(files: list[dict[bytes, Any]]) -> None:
    for e in files:
        if _is(e, HANDBOOK):
            e[b"length"] += 1


def _drop(files: list[dict[bytes, Any]]) -> None:
    files[:] = [e for e in files if not _is(e, HANDBOOK)]


def _rename(files: list[dict[bytes, Any]]) -> None:
    for e in files:
        if _is(e, HANDBOOK):
            e[b"path"] = [b"other.pdf"]


def _repeat(files: list[dict[bytes, Any]]) -> None:
    files.append(next(e for e in files if _is(e, HANDBOOK)))


def _hide_as_pad(files: list[dict[bytes, Any]]) -> None:
    for e in files:
        if _is(e, HANDBOOK):
            e[b"attr"] = b"p"


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        (_grow, "the manifest 1000"),
        (_drop, "v1 file list does not match"),
        (_rename, "v1 file list does not match"),
        (_repeat, "repeats 'handbook.pdf'"),
        (_hide_as_pad, "v1 file list does not match"),
    ],
)
def test_v1_file_list_disagreeing_with_v2_tree(
    release: Release, root: Root, c: Cast,
    edit: Callable[[list[dict[bytes, Any]]], None], phrase: str,
) -> None:
    torrent = _edit_v1(release.torrent(NAME), edit)
    with pytest.raises(TorrentMismatchError, match=phrase):
        _verify(release.manifest(torrent=torrent), root, c)
