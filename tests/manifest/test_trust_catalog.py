"""`catalog_of`: a file in two themes shows in both groups but counts once in the totals."""

from __future__ import annotations

from trust_manifest_builders import FILMS, Release

from manifest import FileEntry, Kind, catalog_of


def _entry(path: str, size: int, kind: Kind, themes: tuple[str, ...], duration: int) -> FileEntry:
    return FileEntry(path, size, bytes(32), bytes(32), kind, themes, path, duration)


def test_file_in_two_themes_is_in_both_groups_and_counted_once() -> None:
    both = _entry("电影/过年好.mp4", 1000, Kind.FILM, ("春节", "喜剧"), 90)
    comedy = _entry("电影/笑.mp4", 10, Kind.FILM, ("喜剧",), 30)
    course = _entry("课程/1.mp4", 5, Kind.COURSE, ("春节",), 20)
    untagged = _entry("其他.txt", 1, Kind.OTHER, (), 0)
    cat = catalog_of((both, comedy, course, untagged))

    groups = {g.theme: g for g in cat.groups}
    assert set(groups) == {"春节", "喜剧", ""}
    assert groups["春节"].files == (course, both)  # courses sort before films
    assert groups["喜剧"].files == (comedy, both)  # by path within a kind
    assert groups["春节"].kinds == (Kind.COURSE, Kind.FILM)
    assert groups["春节"].size == 1005 and groups["喜剧"].size == 1010
    assert groups["春节"].duration == 110 and groups["喜剧"].duration == 120
    assert groups[""].files == (untagged,)

    assert len(cat.files) == 4
    assert cat.size == 1016  # not 2016: the two-theme film counts once
    assert cat.duration == 140
    assert cat.count(Kind.FILM) == 2
    assert cat.count(Kind.COURSE) == 1
    assert cat.count(Kind.HANDBOOK) == 0
    assert sum(len(g.files) for g in cat.groups) == 5


def test_catalog_of_a_manifest(release: Release) -> None:
    m = release.manifest()
    cat = catalog_of(m)
    assert cat.size == m.total_size
    assert len(cat.files) == len(m.files)
    groups = {g.theme: g for g in cat.groups}
    assert m.file(FILMS) in groups["喜剧"].files
    assert m.file(FILMS) in groups["春节"].files
