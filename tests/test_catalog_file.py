"""The catalog file: valid files parse, each kind of mistake gives its own actionable message."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from p2pdist.catalog_file import (
    Catalog,
    CatalogEntry,
    dump_catalog,
    entries_for_files,
    parse_catalog,
    read_catalog,
)
from p2pdist.errors import ConfigError

COURSE = "微课/跨越时空拜新年/01 微信文字和语音聊天.mp4"
FILM = "电影/新春团聚，最暖人心是感情/过年好.mp4"

GOOD = f"""
title = "文化年货带回家 · 2027 冬季"

[[file]]
path = "{COURSE}"
kind = "course"
themes = ["跨越时空拜新年"]
title = "微信文字和语音聊天"
duration = 600

[[file]]
path = "{FILM}"
kind = "film"
themes = ["新春团聚，最暖人心是感情", "峥嵘岁月，父母的青葱年华"]
title = "过年好"
duration = 5760
"""


def entry(at: str, **fields: str) -> str:
    """One [[file]] table for path `at` with valid defaults, each field overridable by raw TOML
    text ("" leaves the field out)."""
    values = {
        "path": f'"{at}"',
        "kind": '"film"',
        "themes": '["喜剧"]',
        "title": '"港囧"',
        "duration": "6240",
    } | fields
    return "[[file]]\n" + "".join(f"{k} = {v}\n" for k, v in values.items() if v) + "\n"


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "catalog.toml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def error_of(tmp_path: Path, text: str | bytes) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_catalog(path)
    message = str(info.value)
    assert str(path) in message
    return message


def test_reads_the_documented_format(tmp_path: Path) -> None:
    catalog = read_catalog(write(tmp_path, GOOD))
    assert catalog.title == "文化年货带回家 · 2027 冬季"
    assert catalog.source == str(tmp_path / "catalog.toml")
    assert list(catalog.entries) == [COURSE, FILM]
    assert catalog.entries[COURSE] == CatalogEntry(
        "course", ("跨越时空拜新年",), "微信文字和语音聊天", 600
    )
    assert catalog.entries[FILM].themes == ("新春团聚，最暖人心是感情", "峥嵘岁月，父母的青葱年华")


def test_title_is_optional_and_every_kind_is_accepted(tmp_path: Path) -> None:
    text = "".join(
        entry(f"{kind}.bin", kind=f'"{kind}"') for kind in ("film", "course", "handbook", "other")
    )
    catalog = read_catalog(write(tmp_path, text))
    assert catalog.title == ""
    assert [e.kind for e in catalog.entries.values()] == ["film", "course", "handbook", "other"]


def test_paths_titles_and_themes_are_nfc_normalized(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café")
    assert nfd != "café"
    text = entry(f"电影/{nfd}.mp4", title=f'"{nfd}"', themes=f'["{nfd}"]')
    catalog = read_catalog(write(tmp_path, text))
    assert list(catalog.entries) == ["电影/café.mp4"]
    assert catalog.entries["电影/café.mp4"].title == "café"
    assert catalog.entries["电影/café.mp4"].themes == ("café",)


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'title = "x"\n\n[[file]]\npath = \n')
    assert "not valid TOML" in message
    assert "line 4" in message


def test_not_utf8(tmp_path: Path) -> None:
    assert "not UTF-8" in error_of(tmp_path, 'title = "\xff"'.encode("latin-1"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read catalog .*nope\.toml"):
        read_catalog(tmp_path / "nope.toml")


def test_unknown_kind(tmp_path: Path) -> None:
    message = error_of(tmp_path, entry("a.mp4") + entry("b.mp4", kind='"movie"'))
    assert "[[file]] #2 ('b.mp4')" in message
    assert "kind 'movie' is not one of film, course, handbook, other" in message


def test_duplicate_path(tmp_path: Path) -> None:
    message = error_of(tmp_path, entry("a.mp4") + entry("b.mp4") + entry("a.mp4"))
    assert "[[file]] #3" in message
    assert "path 'a.mp4' is already listed by [[file]] #1" in message


def test_paths_equal_after_nfc_are_a_collision(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "café.mp4")
    message = error_of(tmp_path, entry("café.mp4") + entry(nfd))
    assert "[[file]] #2" in message
    assert "same name after Unicode NFC normalization" in message


@pytest.mark.parametrize("field", ["path", "kind", "themes", "title", "duration"])
def test_missing_field(tmp_path: Path, field: str) -> None:
    message = error_of(tmp_path, entry("a.mp4") + entry("b.mp4", **{field: ""}))
    assert "[[file]] #2" in message
    assert f"missing {field!r}" in message


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("duration", '"96 min"', "'duration' must be a whole number of seconds, not a string"),
        ("duration", "5760.5", "'duration' must be a whole number of seconds, not a number"),
        ("duration", "true", "'duration' must be a whole number of seconds, not a boolean"),
        ("themes", '"喜剧"', "'themes' must be a list of strings, not a string"),
        ("themes", "[1]", "'themes' must be a list of strings, not a list"),
        ("title", "42", "'title' must be a string, not an integer"),
        ("kind", '["film"]', "'kind' must be a string, not a list"),
        ("path", "{ a = 1 }", "'path' must be a string, not a table"),
    ],
)
def test_wrong_type(tmp_path: Path, field: str, value: str, expected: str) -> None:
    message = error_of(tmp_path, entry("a.mp4", **{field: value}))
    assert "[[file]] #1" in message
    assert expected in message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"themes": "[]"}, "'themes' is empty"),
        ({"themes": '["喜剧", "喜剧"]'}, "'themes' lists a theme twice"),
        ({"themes": '[" "]'}, "'themes' contains an empty theme"),
        ({"title": '""'}, "'title' is empty"),
        ({"duration": "-1"}, "'duration' is negative"),
        ({"theme": '"喜剧"'}, "unknown key 'theme'"),
    ],
)
def test_bad_values(tmp_path: Path, fields: dict[str, str], expected: str) -> None:
    message = error_of(tmp_path, entry("a.mp4", **fields))
    assert "[[file]] #1 ('a.mp4')" in message
    assert expected in message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/srv/a.mp4", "path is absolute"),
        ("电影\\\\a.mp4", "backslash"),
        ("电影/../a.mp4", "empty, '.' or '..' part"),
        ("./a.mp4", "empty, '.' or '..' part"),
        ("电影//a.mp4", "empty, '.' or '..' part"),
        ("电影/", "empty, '.' or '..' part"),
    ],
)
def test_bad_path_shape(tmp_path: Path, path: str, expected: str) -> None:
    assert expected in error_of(tmp_path, entry(path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title = 3\n" + entry("a.mp4"), "'title' must be a string"),
        ('title = "x"\n', "lists no files"),
        ('file = "a.mp4"\n', "'file' must be [[file]] tables"),
        (entry("a.mp4").replace("[[file]]", "[[files]]"), "unknown top-level key 'files'"),
    ],
)
def test_bad_top_level(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(tmp_path, text)


def test_dump_round_trips_awkward_text() -> None:
    catalog = Catalog(
        'say "hi" \\ ok\x7f',
        {
            'a/"quoted".mp4': CatalogEntry("other", ("t\tab", "新春"), "line\nbreak", 0),
            FILM: CatalogEntry("film", ("新春团聚，最暖人心是感情",), "过年好", 5760),
        },
    )
    again = parse_catalog(dump_catalog(catalog).encode("utf-8"))
    assert (again.title, again.entries) == (catalog.title, catalog.entries)


def test_entries_for_files_pairs_every_file(tmp_path: Path) -> None:
    catalog = read_catalog(write(tmp_path, GOOD))
    disk = [FILM, unicodedata.normalize("NFD", COURSE)]
    found = entries_for_files(catalog, disk)
    assert list(found) == disk
    assert found[FILM].title == "过年好"
    assert found[disk[1]].kind == "course"


def test_entries_for_files_names_both_sides(tmp_path: Path) -> None:
    catalog = read_catalog(write(tmp_path, GOOD))
    with pytest.raises(ConfigError) as info:
        entries_for_files(catalog, [FILM, "电影/多余.mp4", "x.mp4"])
    message = str(info.value)
    assert message.startswith(str(tmp_path / "catalog.toml"))
    assert "2 files have no catalog entry: '电影/多余.mp4', 'x.mp4'" in message
    assert f"1 catalog entry has no file: {COURSE!r}" in message


def test_entries_for_files_shortens_long_lists() -> None:
    catalog = Catalog("", {"a.mp4": CatalogEntry("film", ("t",), "a", 1)})
    with pytest.raises(ConfigError) as info:
        entries_for_files(catalog, ["a.mp4", *(f"{i}.mp4" for i in range(8))])
    shown = "'0.mp4', '1.mp4', '2.mp4', '3.mp4', '4.mp4' and 3 more"
    assert f"8 files have no catalog entry: {shown}" in str(info.value)
    assert "catalog entry has no file" not in str(info.value)
