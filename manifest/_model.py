"""The release manifest: what a release is, and its msgpack body encoding.

The manifest names every file (path, size, SHA-256, BitTorrent v2 merkle root, catalog data),
carries the hybrid v1+v2 torrent for exactly those files, and lists seeder endpoints. It is signed
as an envelope (see `keys.Envelope`); decoding here only checks the format, `verify_manifest`
checks trust.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from keys import (
    Envelope,
    Fields,
    MalformedError,
    SigningKey,
    UnknownFormatError,
    decode_strict,
    is_valid_channel,
)
from keys import encode as _encode
from keys.i18n import _

from . import _limits as L
from ._errors import TooManyFilesError
from ._paths import check_paths

MANIFEST_TYPE = "p2pdist/manifest"
MANIFEST_FORMAT = 1


class Kind(enum.StrEnum):
    FILM = "film"
    COURSE = "course"
    HANDBOOK = "handbook"
    OTHER = "other"


@dataclass(frozen=True)
class FileEntry:
    """One file of a release, as listed by the manifest.

    `path` is relative to the release root, POSIX, NFC. `merkle_root` is the file's BitTorrent v2
    "pieces root" (32 zero bytes for an empty file). A file may belong to several themes.
    """

    path: str
    size: int
    sha256: bytes
    merkle_root: bytes
    kind: Kind
    themes: tuple[str, ...]
    title: str
    duration: int

    def to_obj(self) -> dict[str, object]:
        return {
            "path": self.path,
            "size": self.size,
            "sha256": self.sha256,
            "merkle_root": self.merkle_root,
            "kind": self.kind.value,
            "themes": list(self.themes),
            "title": self.title,
            "duration": self.duration,
        }


@dataclass(frozen=True)
class SeederEndpoint:
    """Where a seeder answers: its feed URL and (optionally) its BitTorrent address host:port."""

    feed: str
    swarm: str = ""

    def to_obj(self) -> dict[str, object]:
        return {"feed": self.feed, "swarm": self.swarm}


@dataclass(frozen=True)
class Manifest:
    channel: str
    version: int
    created: int
    expires: int
    title: str
    files: tuple[FileEntry, ...]
    torrent: bytes
    seeders: tuple[SeederEndpoint, ...] = ()

    @property
    def torrent_name(self) -> str:
        """The torrent's folder name, fixed by channel and version (checked on verification)."""
        return torrent_name_for(self.channel, self.version)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, path: str) -> FileEntry:
        for f in self.files:
            if f.path == path:
                return f
        raise KeyError(path)

    def encode_body(self) -> bytes:
        return _encode(
            {
                "type": MANIFEST_TYPE,
                "format": MANIFEST_FORMAT,
                "channel": self.channel,
                "version": self.version,
                "created": self.created,
                "expires": self.expires,
                "title": self.title,
                "files": [f.to_obj() for f in self.files],
                "torrent": self.torrent,
                "seeders": [s.to_obj() for s in self.seeders],
            }
        )

    def to_envelope(self) -> Envelope:
        """An unsigned envelope around this manifest's body (sign it with `.sign(key)`)."""
        return Envelope(self.encode_body())

    def sign(self, *keys: SigningKey) -> bytes:
        """Convenience for tools and tests: the envelope bytes signed by `keys`."""
        env = self.to_envelope()
        for k in keys:
            env = env.sign(k)
        return env.encode()

    @classmethod
    def decode_body(cls, body: bytes) -> Manifest:
        """Decode and check the format of a manifest body (not its signatures).

        Raises:
            UnknownFormatError, MalformedError, BadPathError, PathCollisionError,
            TooManyFilesError.
        """
        f = Fields(decode_strict(body, "manifest"), "manifest")
        if f.text("type", 64) != MANIFEST_TYPE:
            raise MalformedError(
                _("not a release manifest (type is not {manifest_type!r})").format(
                    manifest_type=MANIFEST_TYPE))
        fmt = f.integer("format")
        if fmt != MANIFEST_FORMAT:
            raise UnknownFormatError(
                _("manifest format {fmt} is not supported (this software reads "
                  "{manifest_format}); update p2pdist").format(
                    fmt=fmt, manifest_format=MANIFEST_FORMAT)
            )
        channel = f.text("channel", 128)
        if not is_valid_channel(channel):
            raise MalformedError(
                _("manifest.channel {channel!r} is not a valid channel name").format(
                    channel=channel))
        version = f.integer("version", 1)
        created = f.integer("created")
        expires = f.integer("expires")
        if expires <= created:
            raise MalformedError(_("manifest expires before it was created"))
        title = f.text("title", L.MAX_TITLE)
        raw_files = f.array("files", 2**32)
        if len(raw_files) > L.MAX_FILES:
            raise TooManyFilesError(
                _("manifest lists {n_raw_files} files; the limit is {max_files}").format(
                    n_raw_files=len(raw_files), max_files=L.MAX_FILES)
            )
        files = tuple(_decode_file(i, o) for i, o in enumerate(raw_files))
        if not files:
            raise MalformedError(_("manifest lists no files"))
        check_paths([x.path for x in files])
        torrent = f.binary("torrent", max_len=L.MAX_TORRENT_BYTES)
        seeders = []
        for i, s in enumerate(f.array("seeders", L.MAX_SEEDERS)):
            sf = Fields(s, f"manifest.seeders[{i}]")
            seeders.append(SeederEndpoint(sf.text("feed", L.MAX_URL), sf.text("swarm", L.MAX_URL)))
            sf.done()
        f.done()
        return cls(channel, version, created, expires, title, files, torrent, tuple(seeders))


def _decode_file(i: int, obj: object) -> FileEntry:
    what = f"manifest.files[{i}]"
    f = Fields(obj, what)
    path = f.text("path", L.MAX_PATH_CHARS)
    size = f.integer("size", 0, L.MAX_FILE_SIZE)
    sha = f.binary("sha256", 32)
    merkle = f.binary("merkle_root", 32)
    kind_s = f.text("kind", 16)
    try:
        kind = Kind(kind_s)
    except ValueError:
        raise MalformedError(
            _("{what}.kind {kind_s!r} is not one of {items}").format(
                what=what, kind_s=kind_s, items=', '.join(k.value for k in Kind))
        ) from None
    themes = tuple(f.texts("themes", L.MAX_THEMES, L.MAX_THEME))
    if len(set(themes)) != len(themes):
        raise MalformedError(_("{what}.themes lists a theme twice").format(what=what))
    title = f.text("title", L.MAX_TITLE)
    duration = f.integer("duration", 0, L.MAX_DURATION_S)
    f.done()
    return FileEntry(path, size, sha, merkle, kind, themes, title, duration)


def torrent_name_for(channel: str, version: int) -> str:
    return f"{channel.replace('/', '_')}_v{version}"


def make_files(entries: Sequence[FileEntry]) -> tuple[FileEntry, ...]:
    """Files in the canonical order (by path), as `release build` writes them."""
    return tuple(sorted(entries, key=lambda e: e.path))
