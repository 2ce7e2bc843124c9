"""`check_path` / `check_paths`: the path rules on their own, and a containment property."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manifest import BadPathError, PathCollisionError, check_path, check_paths

GOOD = [
    "a.mp4",
    "电影/过年好.mp4",
    "课程/第一课 开学.mp4",
    "手册/《安全用电》（2027版）.pdf",
    "a/b/c/d.e.f",
    "名字-with_mixed 123/文件",
    "é.mp4",  # precomposed: NFC
    "x" * 255,
    "电" * 85,
    "/".join(["d"] * 16),
    "a" * 200 + "/" + "b" * 200 + "/" + "c" * 200 + "/" + "d" * 200 + "/" + "e" * 220,
]

BAD = [
    ("", "empty file path"),
    ("/a", "absolute"),
    ("//a", "absolute"),
    ("..", "'..'"),
    ("a/..", "'..'"),
    ("a/../b", "'..'"),
    (".", "'.'"),
    ("./a", "'.'"),
    ("a//b", "empty segment"),
    ("a/", "empty segment"),
    ("a\\b", "backslash"),
    ("..\\a", "backslash"),
    ("a\x00", "U\\+0000"),
    ("a\tb", "U\\+0009"),
    ("a\x1b[31m", "U\\+001B"),
    ("a\x85b", "U\\+0085"),
    ("a\u2029", "U\\+2029"),
    ("e\u0301", "NFC"),
    ("\u1100\u1161", "NFC"),  # conjoining jamo: NFC composes them
    ("C:/a", "FAT"),
    ("a?", "FAT"),
    ('a"b', "FAT"),
    (".git/config", "starting with '.'"),
    ("a/.b", "starting with '.'"),
    ("a.", "end in '.'"),
    ("a /b", "end in '.'"),
    ("x" * 256, "255 bytes"),
    ("电" * 86, "255 bytes"),
    ("/".join(["d"] * 17), "deeper"),
    ("a/" * 600 + "b", "longer than 1024"),
]


@pytest.mark.parametrize("path", GOOD)
def test_good_paths(path: str) -> None:
    check_path(path)


def test_good_paths_together() -> None:
    check_paths(GOOD)


@pytest.mark.parametrize(("path", "phrase"), BAD)
def test_bad_paths(path: str, phrase: str) -> None:
    with pytest.raises(BadPathError, match=phrase):
        check_path(path)
    with pytest.raises(BadPathError, match=phrase):
        check_paths(["ok.mp4", path])


@pytest.mark.parametrize(
    "paths",
    [
        ["a", "a"],
        ["a/b.mp4", "A/B.MP4"],
        ["Straße/x", "STRASSE/x"],
        ["ǅ", "ǆ"],  # titlecase vs lowercase digraph
        ["a", "a/b"],
        ["a/b", "a"],
        ["A", "a/b"],
        ["x/电影", "x/电影/1.mp4"],
    ],
)
def test_collisions(paths: list[str]) -> None:
    with pytest.raises(PathCollisionError):
        check_paths(paths)


def test_no_collision_between_siblings() -> None:
    check_paths(["a", "ab", "a.mp4", "a b/c", "abc/c", "电影/a", "电影a/a"])


# --- property: an accepted path stays inside the release folder ---------------------------------

_ALPHABET = st.sampled_from(
    ["a", "B", "z", "0", ".", "..", "/", "\\", " ", "-", "_", "电", "影", "é", "e\u0301",
     "\u0301", "\x00", "\x7f", "\n", ":", "~", "$", "ß", "K", "İ", "\ufeff", "\u202e"]
)
_paths = st.one_of(
    st.lists(_ALPHABET, max_size=30).map("".join),
    st.text(max_size=40),
    st.lists(
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
        min_size=1, max_size=6,
    ).map("/".join),
)


@settings(max_examples=300, deadline=None)
@given(_paths)
def test_accepted_paths_stay_inside_the_folder(path: str) -> None:
    try:
        check_path(path)
    except BadPathError:
        return
    base = "/tmp/p2pdist-release"
    joined = os.path.normpath(os.path.join(base, path))
    assert joined.startswith(base + "/")
    assert os.path.commonpath([base, joined]) == base
    assert Path(joined).relative_to(base).as_posix() == path  # nothing was normalized away
    assert unicodedata.is_normalized("NFC", path)
    assert ".." not in path.split("/") and not path.startswith("/")
