"""The data directory's path scheme (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pdist.errors import ConfigError
from p2pdist.store._layout import (
    TMP_PREFIX,
    Layout,
    channel_conflict,
    is_record_name,
    tmp_name,
    version_of,
)


def test_paths_nest_channels() -> None:
    lay = Layout(Path("/d"))
    assert lay.save_path("national/winter-2027", 3) == Path("/d/releases/national/winter-2027/3")
    assert lay.release_dir("national/winter-2027", 3) == Path(
        "/d/releases/national/winter-2027/3/national_winter-2027_v3")
    assert lay.record_path("national/winter-2027", 3) == Path(
        "/d/releases/national/winter-2027/3.manifest")
    assert lay.active_link("national/winter-2027") == Path("/d/active/national/winter-2027")
    assert lay.object_path(b"\xab" * 32) == Path("/d/objects/" + "ab" * 32)


@pytest.mark.parametrize("bad", ["../etc", "/abs", "National", "a//b", "a/", "", "a/../b"])
def test_bad_channels_are_refused(bad: str) -> None:
    lay = Layout(Path("/d"))
    with pytest.raises(ConfigError, match="not a channel name"):
        lay.save_path(bad, 1)
    with pytest.raises(ConfigError):
        lay.active_link(bad)


def test_channel_conflict() -> None:
    known = ["national/winter-2027", "province/hunan"]
    assert channel_conflict("national", known) == "national/winter-2027"
    assert channel_conflict("province/hunan/changsha", known) == "province/hunan"
    assert channel_conflict("national/winter-2027", known) is None
    assert channel_conflict("national/winter", known) is None
    assert channel_conflict("province/huna", known) is None


@pytest.mark.parametrize(
    ("name", "version", "record"),
    [("3", 3, False), ("3.manifest", 3, True), ("12", 12, False), ("03", None, False),
     ("0", None, False), ("x.manifest", None, False), ("winter", None, False),
     (".p2pdist-tmp-1", None, False)],
)
def test_version_names(name: str, version: int | None, record: bool) -> None:
    assert version_of(name) == version
    assert is_record_name(name) is record


def test_tmp_name_is_fixed_short_and_hidden() -> None:
    long_name = "过" * 85  # 255 UTF-8 bytes
    assert tmp_name(long_name) == tmp_name(long_name) != tmp_name("other")
    assert tmp_name(long_name).startswith(TMP_PREFIX)
    assert len(tmp_name(long_name).encode()) < 40
