"""Builders for the manifest tests: real keys, roots, release folders, torrents and envelopes.

Imported by the test modules of this folder (pytest puts the folder on sys.path; the name is
unique so it cannot clash with another folder's helper).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from keys import Envelope, Root, SigningKey, TrustError, encode
from manifest import FileEntry, Kind, Manifest, make_files, torrent_name_for
from p2pdist._libtorrent import lt
from p2pdist.torrent import create_hybrid_torrent, torrent_files
from tests.fuzz_strategies import leaves, msgpack_objects, mutations  # noqa: F401  (re-exported)

NOW = 1_800_000_000
"""The box clock in every test: 2027-01-15 08:00:00 UTC."""
DAY = 86_400
CREATED = NOW - DAY
EXPIRES = NOW + 30 * DAY
CHANNEL = "province/hunan"
VERSION = 3

FILMS = "电影/过年好.mp4"
LESSON = "课程/第一课 开学.mp4"
HANDBOOK = "handbook.pdf"
EMPTY = "说明/空.txt"


def _content(seed: str, size: int) -> bytes:
    block = hashlib.sha256(seed.encode()).digest()
    return (block * (size // 32 + 1))[:size]


RELEASE_FILES: dict[str, bytes] = {
    FILMS: _content("film", 70_000),
    LESSON: _content("lesson", 40_000),
    HANDBOOK: _content("handbook", 1_000),
    EMPTY: b"",
}


@dataclass(frozen=True)
class Cast:
    """Keys: a root key, a national release key, two Hunan release keys, and an outsider."""

    root: SigningKey
    national: SigningKey
    hunan1: SigningKey
    hunan2: SigningKey
    outsider: SigningKey


@functools.cache
def cast() -> Cast:
    return Cast(*(SigningKey.generate() for _ in range(5)))


def make_root(hunan_threshold: int = 1, version: int = 1, with_hunan1: bool = True) -> Root:
    """Roles: `national` (national key) for national/, `hunan` for province/hunan/."""
    c = cast()
    hunan = [c.hunan1, c.hunan2] if with_hunan1 else [c.hunan2]
    return Root.new(
        version=version,
        created=CREATED,
        expires=NOW + 365 * DAY,
        root_keys=[c.root.public],
        root_threshold=1,
        release_roles=[
            ("national", [c.national.public], 1, ["national/"]),
            ("hunan", [k.public for k in hunan], hunan_threshold, ["province/hunan/"]),
        ],
    )


def sign_bytes(body: bytes, *signers: SigningKey) -> bytes:
    env = Envelope(body)
    for k in signers:
        env = env.sign(k)
    return env.encode()


def sign_obj(obj: Any, *signers: SigningKey) -> bytes:
    return sign_bytes(encode(obj), *signers)


def body_of(m: Manifest) -> dict[str, Any]:
    out = msgpack.unpackb(m.encode_body(), raw=False)
    assert isinstance(out, dict)
    return out


def raw_map(pairs: Sequence[tuple[Any, Any]]) -> bytes:
    """A msgpack map written pair by pair, so it can hold a key twice (dicts cannot)."""
    packer = msgpack.Packer(use_bin_type=True)
    out: bytes = packer.pack_map_header(len(pairs))
    for k, v in pairs:
        out += packer.pack(k) + packer.pack(v)
    return out


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def lt_torrent(root_dir: Path, name: str, files: Sequence[tuple[str, int]], flags: int) -> bytes:
    """Like `create_hybrid_torrent`, with libtorrent creation flags (v1_only, v2_only)."""
    entries = [lt.create_file_entry(f"{name}/{p}", size) for p, size in files]
    ct = lt.create_torrent(entries, 0, flags)
    with tempfile.TemporaryDirectory(prefix="p2pdist-test-") as parent:
        (Path(parent) / name).symlink_to(root_dir.resolve(), target_is_directory=True)
        lt.set_piece_hashes(ct, parent)
    return bytes(lt.bencode(ct.generate()))


class Release:
    """A release folder on disk, with torrents built on demand (cached by name).

    A plain class with a short repr, so hypothesis reports stay readable.
    """

    def __init__(self, root_dir: Path, files: dict[str, bytes]) -> None:
        self.root_dir = root_dir
        self.files = files
        self._torrents: dict[str, bytes] = {}
        self._entries: tuple[FileEntry, ...] = ()

    def __repr__(self) -> str:
        return f"Release({str(self.root_dir)!r})"

    @property
    def listing(self) -> list[tuple[str, int]]:
        return [(p, len(d)) for p, d in sorted(self.files.items())]

    def torrent(self, name: str) -> bytes:
        if name not in self._torrents:
            self._torrents[name] = create_hybrid_torrent(self.root_dir, name, self.listing)
        return self._torrents[name]

    def entries(self) -> tuple[FileEntry, ...]:
        if not self._entries:
            self._entries = self._make_entries()
        return self._entries

    def _make_entries(self) -> tuple[FileEntry, ...]:
        _, tfiles = torrent_files(self.torrent("entries"))
        roots = {t.path: t.merkle_root for t in tfiles}
        out = []
        for path, data in self.files.items():
            kind = Kind.FILM if path.endswith(".mp4") else Kind.HANDBOOK
            themes = ("春节", "喜剧") if path == FILMS else ("春节",)
            out.append(
                FileEntry(path, len(data), hashlib.sha256(data).digest(), roots[path], kind,
                          themes, path.rsplit("/", 1)[-1], 90 if kind is Kind.FILM else 0)
            )
        return make_files(out)

    def manifest(self, channel: str = CHANNEL, version: int = VERSION, **changes: Any) -> Manifest:
        """A valid manifest of this release (torrent named for `channel` and `version`)."""
        m = Manifest(
            channel=channel,
            version=version,
            created=CREATED,
            expires=EXPIRES,
            title="湖南 冬季 2027",
            files=self.entries(),
            torrent=self.torrent(torrent_name_for(channel, version)),
        )
        return dataclasses.replace(m, **changes)


def only_trust_errors(fn: Callable[..., Any], *args: Any) -> Any:
    """Call `fn`; a TrustError is fine (None), anything else escapes to fail the test."""
    with contextlib.suppress(TrustError):
        return fn(*args)
    return None
