"""Check that a manifest's torrent carries exactly the files the manifest lists.

Without this, a signed file list could travel with a torrent for other bytes (mix-and-match).
The torrent must be hybrid v1+v2, named `Manifest.torrent_name`, and both its v2 file tree and
its v1 file list (pad files aside) must hold exactly the manifest's paths and sizes, with each v2
"pieces root" equal to the manifest's merkle root. The bencode is decoded by `bencodepy` with a
depth cap; any decoding failure is a `TorrentMismatchError`.
"""

from __future__ import annotations

from typing import Any

import bencodepy

from keys.i18n import _

from ._errors import TorrentMismatchError
from ._model import Manifest

_MAX_DEPTH = 40
_EMPTY_ROOT = bytes(32)


def _decode(torrent: bytes) -> dict[bytes, Any]:
    try:
        obj = bencodepy.Bencode(max_depth=_MAX_DEPTH).decode(torrent)
    except Exception as e:  # bencodepy raises several types for bad input
        raise TorrentMismatchError(
            _("the manifest's torrent is not valid bencode ({e})").format(e=e)) from e
    if not isinstance(obj, dict):
        raise TorrentMismatchError(_("the manifest's torrent is not a bencoded dictionary"))
    # libtorrent refuses unsorted or repeated keys; bencodepy accepts them. Requiring the
    # canonical re-encoding makes this check at least as strict as the loader that follows.
    if bencodepy.encode(obj) != torrent:
        raise TorrentMismatchError(_("the manifest's torrent is not canonical bencode (unsorted or "
                                   "repeated keys, or non-minimal integers)"))
    return obj


def _segment(raw: bytes, what: str) -> str:
    """One path segment of the torrent, held to the manifest's own segment rules."""
    try:
        seg = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TorrentMismatchError(
            _("torrent {what} has a non-UTF-8 name").format(what=what)) from None
    if seg in ("", ".", "..") or "/" in seg or "\\" in seg or "\0" in seg:
        raise TorrentMismatchError(
            _("torrent {what} has an unsafe name {seg!r}").format(what=what, seg=seg))
    return seg


def _walk_tree(node: Any, prefix: list[str], out: dict[str, tuple[int, bytes]]) -> None:
    if not isinstance(node, dict):
        raise TorrentMismatchError(_("torrent file tree is malformed"))
    for name, child in node.items():
        if not isinstance(name, bytes) or not isinstance(child, dict):
            raise TorrentMismatchError(_("torrent file tree is malformed"))
        if name == b"":
            if len(prefix) == 0 or set(child) - {b"length", b"pieces root", b"attr"}:
                raise TorrentMismatchError(_("torrent file tree has a malformed file entry"))
            length = child.get(b"length")
            root = child.get(b"pieces root", _EMPTY_ROOT if length == 0 else None)
            if type(length) is not int or not isinstance(root, bytes) or len(root) != 32:
                raise TorrentMismatchError(_("torrent file tree has a malformed file entry"))
            out["/".join(prefix)] = (length, root)
            continue
        _walk_tree(child, [*prefix, _segment(name, "file tree")], out)


def _v1_files(info: dict[bytes, Any]) -> dict[str, int]:
    files = info.get(b"files")
    if not isinstance(files, list):
        raise TorrentMismatchError(_("the torrent has no v1 file list: it must be hybrid v1+v2"))
    out: dict[str, int] = {}
    for entry in files:
        if not isinstance(entry, dict):
            raise TorrentMismatchError(_("torrent v1 file list is malformed"))
        length, path, attr = entry.get(b"length"), entry.get(b"path"), entry.get(b"attr", b"")
        if type(length) is not int or not isinstance(path, list) or not isinstance(attr, bytes):
            raise TorrentMismatchError(_("torrent v1 file list is malformed"))
        if b"p" in attr:
            continue
        segs = [_segment(s, "v1 file list") for s in path if isinstance(s, bytes)]
        if len(segs) != len(path) or not segs:
            raise TorrentMismatchError(_("torrent v1 file list is malformed"))
        key = "/".join(segs)
        if key in out:
            raise TorrentMismatchError(_("torrent v1 file list repeats {key!r}").format(key=key))
        out[key] = length
    return out


def check_torrent_matches(manifest: Manifest) -> None:
    """Raise TorrentMismatchError unless the torrent carries exactly the manifest's files."""
    top = _decode(manifest.torrent)
    info = top.get(b"info")
    if not isinstance(info, dict):
        raise TorrentMismatchError(_("the manifest's torrent has no info dictionary"))
    if info.get(b"meta version") != 2 or not isinstance(info.get(b"file tree"), dict):
        raise TorrentMismatchError(_("the torrent has no v2 file tree: it must be hybrid v1+v2"))
    if not isinstance(info.get(b"pieces"), bytes):
        raise TorrentMismatchError(
            _("the torrent has no v1 piece hashes: it must be hybrid v1+v2"))
    plen = info.get(b"piece length")
    if type(plen) is not int or plen < 16384 or plen & (plen - 1):
        raise TorrentMismatchError(_("the torrent's piece length is not a power of two >= 16 KiB"))
    if info.get(b"name") != manifest.torrent_name.encode():
        raise TorrentMismatchError(
            _("the torrent is named {get!r}, expected {torrent_name!r} for this "
              "channel and version").format(
                get=info.get(b'name'), torrent_name=manifest.torrent_name)
        )
    v2: dict[str, tuple[int, bytes]] = {}
    _walk_tree(info[b"file tree"], [], v2)
    v1 = _v1_files(info)
    listed = {f.path: f for f in manifest.files}
    for what, paths in (("v2 file tree", set(v2)), ("v1 file list", set(v1))):
        if paths != set(listed):
            extra = sorted(paths - set(listed))[:3]
            missing = sorted(set(listed) - paths)[:3]
            raise TorrentMismatchError(
                _("the torrent's {what} does not match the manifest's files (only in "
                  "torrent: {extra}, only in manifest: {missing})").format(
                    what=what, extra=extra, missing=missing)
            )
    for path, f in listed.items():
        length, root = v2[path]
        for what, n in (("v2 file tree", length), ("v1 file list", v1[path])):
            if n != f.size:
                raise TorrentMismatchError(
                    _("{path!r}: the torrent's {what} says {n} bytes, the manifest {size}").format(
                        path=path, what=what, n=n, size=f.size)
                )
        if root != f.merkle_root:
            raise TorrentMismatchError(
                _("{path!r}: the torrent's merkle root differs from the manifest's").format(
                    path=path)
            )
