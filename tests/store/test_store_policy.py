"""Policy: parsing and the wanted-file rule (pure)."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifest import FileEntry, Kind, Manifest
from p2pdist.errors import ConfigError
from p2pdist.store import Policy

THEMES = ("喜剧", "战争", "数字生活", "出行")


def fe(path: str, kind: Kind = Kind.FILM, themes: tuple[str, ...] = ("喜剧",)) -> FileEntry:
    return FileEntry(path, 1, hashlib.sha256(path.encode()).digest(), bytes(32), kind, themes,
                     path, 0)


def manifest(*files: FileEntry) -> Manifest:
    return Manifest("national/winter-2027", 1, 0, 1, "t", files, b"")


BUNDLE = manifest(
    fe("课程/微信聊天.mp4", Kind.COURSE, ("数字生活",)),
    fe("课程/12306购票.mp4", Kind.COURSE, ("出行",)),
    fe("手册.pdf", Kind.HANDBOOK, ()),
    fe("电影/过年好.mp4", Kind.FILM, ("喜剧", "战争")),
    fe("电影/战狼.mp4", Kind.FILM, ("战争",)),
    fe("电影/喜剧之王.mp4", Kind.FILM, ("喜剧",)),
)


def paths(policy: Policy) -> list[str]:
    return [f.path for f in policy.wanted(BUNDLE)]


def test_default_wants_everything_in_manifest_order() -> None:
    assert Policy().wanted(BUNDLE) == BUNDLE.files
    assert Policy.parse() == Policy() == Policy.parse("", "  ")


def test_kinds() -> None:
    assert paths(Policy.parse("kinds=course,handbook")) == [
        "课程/微信聊天.mp4", "课程/12306购票.mp4", "手册.pdf"]


def test_themes_select_and_drop_unthemed_files() -> None:
    assert paths(Policy.parse("themes=出行")) == ["课程/12306购票.mp4"]


def test_exclude_keeps_unthemed_files() -> None:
    assert paths(Policy.parse("exclude-themes=喜剧,出行")) == [
        "课程/微信聊天.mp4", "手册.pdf", "电影/过年好.mp4", "电影/战狼.mp4"]


def test_file_in_two_themes_stays_while_either_is_selected() -> None:
    # 《过年好》 is in 喜剧 and 战争: excluding 喜剧 still leaves it in 战争.
    assert "电影/过年好.mp4" in paths(Policy.parse("exclude-themes=喜剧"))
    assert "电影/过年好.mp4" in paths(Policy.parse("themes=战争"))
    assert "电影/过年好.mp4" in paths(Policy.parse("themes=喜剧,战争", "kinds=film"))
    assert "电影/过年好.mp4" not in paths(Policy.parse("exclude-themes=喜剧,战争"))
    assert "电影/过年好.mp4" not in paths(Policy.parse("themes=出行", "exclude-themes=战争"))


def test_kinds_and_themes_combine() -> None:
    assert paths(Policy.parse("kinds=film", "themes=喜剧")) == [
        "电影/过年好.mp4", "电影/喜剧之王.mp4"]


def test_parse_spaces_repeats_and_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Café")
    p = Policy.parse(" kinds = film , course ", "themes=A", f"themes= B ,{decomposed}")
    assert p == Policy(frozenset({Kind.FILM, Kind.COURSE}), frozenset({"A", "B", "Café"}))


@pytest.mark.parametrize(
    ("specs", "needle"),
    [
        (("kinds",), "key=value"),
        (("colour=red",), "key=value"),
        (("kinds=movie",), "'movie' is not one of film, course, handbook, other"),
        (("themes=A,,B",), "empty name"),
        (("kinds=",), "empty name"),
        (("themes=战争", "exclude-themes=战争"), "both wanted and excluded"),
    ],
)
def test_parse_errors_name_the_problem(specs: tuple[str, ...], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        Policy.parse(*specs)


def reference_wants(policy: Policy, f: FileEntry) -> bool:
    """The docstring's rule, written out the long way."""
    kind_ok = policy.kinds is None or f.kind in policy.kinds
    if not f.themes:
        return kind_ok and policy.themes is None
    selected = [t for t in f.themes
                if (policy.themes is None or t in policy.themes)
                and t not in policy.exclude_themes]
    return kind_ok and bool(selected)


theme_sets = st.frozensets(st.sampled_from(THEMES))
policies = st.builds(
    lambda kinds, themes, exclude: Policy(kinds, None if themes is None else themes - exclude,
                                          exclude),
    st.none() | st.frozensets(st.sampled_from(list(Kind))),
    st.none() | theme_sets,
    theme_sets,
)
entries = st.lists(
    st.tuples(st.sampled_from(list(Kind)), st.lists(st.sampled_from(THEMES), unique=True,
                                                   max_size=3)),
    max_size=8,
).map(lambda xs: manifest(*(fe(f"f{i}", k, tuple(t)) for i, (k, t) in enumerate(xs))))


@given(policies, entries)
def test_wanted_follows_the_rule_and_keeps_order(policy: Policy, m: Manifest) -> None:
    got = policy.wanted(m)
    assert got == tuple(f for f in m.files if reference_wants(policy, f))
