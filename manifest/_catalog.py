"""The catalog view of a release: files grouped by theme, with counts, sizes and durations.

A file may belong to several themes (《过年好》 does); it is counted in each theme's group but
once in the totals, because the store keeps one copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._model import FileEntry, Kind, Manifest


@dataclass(frozen=True)
class ThemeGroup:
    theme: str
    kinds: tuple[Kind, ...]
    files: tuple[FileEntry, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def duration(self) -> int:
        return sum(f.duration for f in self.files)


@dataclass(frozen=True)
class Catalog:
    groups: tuple[ThemeGroup, ...]
    files: tuple[FileEntry, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def duration(self) -> int:
        return sum(f.duration for f in self.files)

    def count(self, kind: Kind) -> int:
        return sum(1 for f in self.files if f.kind is kind)


_KIND_ORDER = {Kind.COURSE: 0, Kind.HANDBOOK: 1, Kind.FILM: 2, Kind.OTHER: 3}


def catalog_of(files: tuple[FileEntry, ...] | Manifest) -> Catalog:
    """Group files by theme, in order of kind then first appearance."""
    entries = files.files if isinstance(files, Manifest) else files
    by_theme: dict[str, list[FileEntry]] = {}
    for f in sorted(entries, key=lambda f: (_KIND_ORDER[f.kind], f.path)):
        for t in f.themes or ("",):
            by_theme.setdefault(t, []).append(f)
    groups = tuple(
        ThemeGroup(t, tuple(dict.fromkeys(f.kind for f in fs)), tuple(fs))
        for t, fs in by_theme.items()
    )
    return Catalog(groups, tuple(entries))
