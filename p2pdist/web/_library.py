"""What the station's library shows: the titles of the ACTIVE releases, by kind and theme.

A title is known by an id derived from its channel, kind and title (so its URL stays the same
when a new release re-encodes or moves the file), never by a path: the only way from a URL to
the file system is id -> catalog entry of the active release -> `active/<channel>/<path>`, where
the path is one the verified manifest listed (normalized, relative, no ``..``). A file the box
did not fetch (its policy skipped it) is not listed.

The catalog is re-read when an active link changes (one ``readlink`` per channel per request),
so the page follows an update without a restart.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from manifest import FileEntry, Kind, catalog_of

from ..store import Store

ID_HEX = 16
KIND_ORDER = (Kind.FILM, Kind.COURSE, Kind.HANDBOOK, Kind.OTHER)


@dataclass(frozen=True)
class Title:
    """One playable (or readable) item of an active release."""

    id: str
    channel: str
    version: int
    entry: FileEntry

    @property
    def kind(self) -> Kind:
        return self.entry.kind

    @property
    def name(self) -> str:
        return self.entry.title


@dataclass(frozen=True)
class Shelf:
    """One theme of one kind, as the catalog groups it (a file may sit on two shelves)."""

    kind: Kind
    theme: str
    titles: tuple[Title, ...]


def title_id(channel: str, kind: str, title: str) -> str:
    """The stable id of a title (hex, `ID_HEX` digits)."""
    return hashlib.sha256(f"{channel}\n{kind}\n{title}".encode()).hexdigest()[:ID_HEX]


@dataclass(frozen=True)
class Snapshot:
    """The library at one moment: every title, by id, and the shelves."""

    release_titles: tuple[tuple[str, int, str], ...]  # (channel, version, release title)
    titles: dict[str, Title]
    shelves: tuple[Shelf, ...]

    def search(self, text: str) -> list[Title]:
        """Titles whose name contains `text` (NFC, case-folded)."""
        needle = unicodedata.normalize("NFC", text).casefold().strip()
        if not needle:
            return []
        return [t for t in self.titles.values()
                if needle in unicodedata.normalize("NFC", t.name).casefold()]

    def themes(self) -> list[str]:
        return list(dict.fromkeys(s.theme for s in self.shelves if s.theme))

    def kinds(self) -> list[Kind]:
        return [k for k in KIND_ORDER if any(s.kind is k for s in self.shelves)]


class Library:
    """The active releases of the channels a box follows, as titles and shelves."""

    def __init__(self, store: Store, channels: tuple[str, ...]) -> None:
        self.store = store
        self.channels = channels
        self._key: tuple[tuple[str, str], ...] | None = None
        self._snap = Snapshot((), {}, ())

    def _links(self) -> tuple[tuple[str, str], ...]:
        out = []
        for c in self.channels:
            try:
                out.append((c, os.readlink(self.store.active_dir(c))))
            except OSError:
                continue
        return tuple(out)

    def snapshot(self) -> Snapshot:
        """The library now (cached until an active link changes).

        Raises:
            StorageError: a manifest of an active release cannot be read.
        """
        key = self._links()
        if key != self._key:
            self._snap = self._load()
            self._key = key
        return self._snap

    def _load(self) -> Snapshot:
        titles: dict[str, Title] = {}
        shelves: list[Shelf] = []
        releases = []
        for c in self.channels:
            v = self.store.active_version(c)
            if v is None:
                continue
            m = self.store.load_manifest(c, v)
            releases.append((c, v, m.title))
            active = self.store.active_dir(c)
            present = tuple(f for f in m.files if (active / f.path).is_file())
            by_path: dict[str, Title] = {}
            for f in present:
                tid = title_id(c, f.kind.value, f.title)
                if tid in titles:  # two files with one title: the later one by its path
                    tid = title_id(c, f.kind.value, f.path)
                by_path[f.path] = titles[tid] = Title(tid, c, v, f)
            for g in catalog_of(present).groups:
                for kind in g.kinds:
                    shelf = tuple(by_path[f.path] for f in g.files if f.kind is kind)
                    shelves.append(Shelf(kind, g.theme, shelf))
        shelves.sort(key=lambda s: KIND_ORDER.index(s.kind))
        return Snapshot(tuple(releases), titles, tuple(shelves))

    def file_of(self, title: Title) -> Path:
        """Where the title's bytes are: through the active link, resolved when opened."""
        return self.store.active_dir(title.channel) / title.entry.path
