"""Check that a manifest's torrent carries exactly the files the manifest lists.

Without this, a signed file list could travel with a torrent for other bytes (mix-and-match).
The torrent must be hybrid v1+v2, named `Manifest.torrent_name`, and both its v2 file tree and
its v1 file list (pad files aside) must hold exactly the manifest's paths and sizes, with each v2
"pieces root" equal to the manifest's merkle root. The bencode is decoded by the bounded,
canonical-only decoder of `_bencode`; any decoding failure is a `TorrentMismatchError`.

Everything libtorrent refuses at `add_torrent` is refused here too (mirroring its
`torrent_info::parse_info_section` and `aux::files_compatible`): piece length rules, the number
of v1 piece hashes, pad files placed and sized exactly as the v2 layout implies, and the v1 and
v2 file lists agreeing index by index.
"""

from __future__ import annotations

from typing import Any

from keys.i18n import _

from ._bencode import bdecode
from ._errors import TorrentMismatchError
from ._model import Manifest

_EMPTY_ROOT = bytes(32)
MAX_PIECE_LENGTH = 1 << 29
"""libtorrent's `file_storage::max_piece_size`."""
MAX_PIECES = 0x200000
"""libtorrent's default `load_torrent_limits::max_pieces`."""


def _decode(torrent: bytes) -> dict[bytes, Any]:
    obj = bdecode(torrent)
    if not isinstance(obj, dict):
        raise TorrentMismatchError(_("the manifest's torrent is not a bencoded dictionary"))
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
    """Collect the v2 files in tree order (the sorted key order libtorrent lays them out in)."""
    if not isinstance(node, dict):
        raise TorrentMismatchError(_("torrent file tree is malformed"))
    for name, child in node.items():
        if not isinstance(name, bytes) or not isinstance(child, dict):
            raise TorrentMismatchError(_("torrent file tree is malformed"))
        if name == b"":
            if len(prefix) == 0 or set(child) - {b"length", b"pieces root", b"attr"}:
                raise TorrentMismatchError(_("torrent file tree has a malformed file entry"))
            attr = child.get(b"attr", b"")
            if not isinstance(attr, bytes):
                raise TorrentMismatchError(_("torrent file tree has a malformed file entry"))
            if b"p" in attr:
                raise TorrentMismatchError(_("torrent file tree marks a file as padding, which "
                                           "libtorrent refuses"))
            length = child.get(b"length")
            root = child.get(b"pieces root", _EMPTY_ROOT if length == 0 else None)
            if (type(length) is not int or length < 0 or not isinstance(root, bytes)
                    or len(root) != 32):
                raise TorrentMismatchError(_("torrent file tree has a malformed file entry"))
            out["/".join(prefix)] = (length, root)
            continue
        _walk_tree(child, [*prefix, _segment(name, "file tree")], out)


_Layout = list[tuple[str | None, int]]
"""Files in torrent order as (path, length); None marks a pad file."""


def _v1_files(info: dict[bytes, Any], layout: _Layout) -> dict[str, int]:
    files = info.get(b"files")
    if not isinstance(files, list):
        raise TorrentMismatchError(_("the torrent has no v1 file list: it must be hybrid v1+v2"))
    out: dict[str, int] = {}
    for entry in files:
        if not isinstance(entry, dict):
            raise TorrentMismatchError(_("torrent v1 file list is malformed"))
        length, path, attr = entry.get(b"length"), entry.get(b"path"), entry.get(b"attr", b"")
        if (type(length) is not int or length < 0 or not isinstance(path, list)
                or not isinstance(attr, bytes)):
            raise TorrentMismatchError(_("torrent v1 file list is malformed"))
        if b"p" in attr:
            layout.append((None, length))
            continue
        segs = [_segment(s, "v1 file list") for s in path if isinstance(s, bytes)]
        if len(segs) != len(path) or not segs:
            raise TorrentMismatchError(_("torrent v1 file list is malformed"))
        key = "/".join(segs)
        if key in out:
            raise TorrentMismatchError(_("torrent v1 file list repeats {key!r}").format(key=key))
        out[key] = length
        layout.append((key, length))
    return out


def _v2_layout(v2: dict[str, tuple[int, bytes]], plen: int) -> _Layout:
    """The layout libtorrent derives from a v2 file tree: each file padded to a piece boundary."""
    out: _Layout = []
    total = 0
    for path, (length, _root) in v2.items():
        out.append((path, length))
        total += length
        if total % plen:
            out.append((None, plen - total % plen))
            total += plen - total % plen
    return out


def _check_layout(v1: _Layout, v2: _Layout) -> int:
    """Mirror libtorrent's `files_compatible`; return the torrent's total size (pads included).

    Non-empty, non-pad files must agree in index, path, size and offset; the file counts and
    total sizes must be equal (a v1 list without the v2 layout's tail pad is accepted, as
    libtorrent accepts it).
    """
    if len(v2) == len(v1) + 1 and v2 and v2[-1][0] is None:
        v2 = v2[:-1]
    if len(v1) != len(v2):
        raise TorrentMismatchError(
            _("the v1 and v2 file metadata does not match: {n_v1} v1 entries (pad "
              "files included), {n_v2} in the v2 layout; a pad file is missing or "
              "extra").format(n_v1=len(v1), n_v2=len(v2)))
    off1 = off2 = 0
    for i, ((p1, n1), (p2, n2)) in enumerate(zip(v1, v2, strict=True)):
        rel1, rel2 = p1 is not None and n1 > 0, p2 is not None and n2 > 0
        if rel1 != rel2 or (rel1 and (p1, n1, off1) != (p2, n2, off2)):
            raise TorrentMismatchError(
                _("the v1 and v2 file metadata does not match at entry {i} ({path1} "
                  "of {n1} bytes at offset {off1}; the v2 tree implies {path2} of "
                  "{n2} bytes at offset {off2})").format(
                    i=i, path1=p1 or _("a pad file"), n1=n1, off1=off1,
                    path2=p2 or _("a pad file"), n2=n2, off2=off2))
        off1 += n1
        off2 += n2
    if off1 != off2:
        raise TorrentMismatchError(
            _("the v1 and v2 file metadata does not match: total {off1} bytes in v1, "
              "{off2} in v2").format(off1=off1, off2=off2))
    return off2


def _check_pieces(info: dict[bytes, Any], total: int, plen: int) -> None:
    n = (total + plen - 1) // plen
    if n > MAX_PIECES:
        raise TorrentMismatchError(
            _("the torrent has {n} pieces; libtorrent loads at most {max_pieces}").format(
                n=n, max_pieces=MAX_PIECES))
    have = len(info[b"pieces"])
    if have != 20 * n:
        raise TorrentMismatchError(
            _("incorrect number of piece hashes: the v1 piece list holds {have} "
              "bytes, but {total} bytes in pieces of {plen} need {n} hashes ({value} "
              "bytes)").format(have=have, total=total, plen=plen, n=n, value=20 * n))


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
    if (type(plen) is not int or plen < 16384 or plen & (plen - 1)
            or plen > MAX_PIECE_LENGTH):
        raise TorrentMismatchError(
            _("the torrent's piece length is not a power of two between 16 KiB and 512 MiB"))
    if info.get(b"name") != manifest.torrent_name.encode():
        raise TorrentMismatchError(
            _("the torrent is named {get!r}, expected {torrent_name!r} for this "
              "channel and version").format(
                get=info.get(b'name'), torrent_name=manifest.torrent_name)
        )
    v2: dict[str, tuple[int, bytes]] = {}
    _walk_tree(info[b"file tree"], [], v2)
    layout: _Layout = []
    v1 = _v1_files(info, layout)
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
    _check_pieces(info, _check_layout(layout, _v2_layout(v2, plen)), plen)
