"""The sample bundle: the campaign's shape, exact sizes, reproducible bytes, variants, safety."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from p2pdist.catalog_file import Catalog, entries_for_files, read_catalog
from p2pdist.errors import ConfigError
from p2pdist.sample import (
    CATALOG_NAME,
    HANDBOOK_PATH,
    MIN_TOTAL_SIZE,
    SampleSummary,
    parse_size,
    write_sample,
)

SIZE = 2_000_000
GUONIANHAO = "电影/新春团聚，最暖人心是感情/过年好.mp4"


def content_files(root: Path) -> dict[str, Path]:
    return {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and p.name != CATALOG_NAME
    }


def digests(root: Path) -> dict[str, str]:
    files = content_files(root)
    return {rel: hashlib.sha256(p.read_bytes()).hexdigest() for rel, p in files.items()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleSummary:
    return write_sample(tmp_path_factory.mktemp("sample") / "bundle", SIZE, seed=7)


@pytest.fixture(scope="module")
def catalog(sample: SampleSummary) -> Catalog:
    return read_catalog(sample.catalog)


def test_summary(sample: SampleSummary) -> None:
    assert sample.catalog == sample.root / CATALOG_NAME
    assert sample.per_kind == {"course": 18, "handbook": 1, "film": 24}
    assert sample.files == 43
    assert sample.total_bytes == SIZE
    assert sample.changed == ()


def test_catalog_matches_the_files_on_disk(sample: SampleSummary, catalog: Catalog) -> None:
    files = content_files(sample.root)
    assert len(files) == sample.files
    assert set(entries_for_files(catalog, files)) == set(files)
    assert catalog.title.startswith("文化年货带回家")


def test_total_size_is_as_requested(sample: SampleSummary) -> None:
    total = sum(p.stat().st_size for p in content_files(sample.root).values())
    assert abs(total - SIZE) <= SIZE // 100
    assert total == SIZE


def test_courses_are_the_campaigns(catalog: Catalog) -> None:
    courses = {p: e for p, e in catalog.entries.items() if e.kind == "course"}
    assert len(courses) == 18
    per_theme = Counter(e.themes for e in courses.values())
    assert per_theme == {
        ("跨越时空拜新年",): 4,
        ("记录美好时刻，共享团聚喜悦",): 5,
        ("便捷回家路，欢乐春节游",): 5,
        ("休闲娱乐，随时随地",): 4,
    }
    for number, (path, e) in enumerate(courses.items(), start=1):
        assert path == f"微课/{e.themes[0]}/{number:02d} {e.title}.mp4"
        assert 8 * 60 <= e.duration <= 12 * 60
    assert sum(e.duration for e in courses.values()) == 180 * 60
    assert courses["微课/跨越时空拜新年/01 微信文字和语音聊天.mp4"].title == "微信文字和语音聊天"
    assert "网上订火车票（12306网站）" in {e.title for e in courses.values()}


def test_films_are_the_campaigns(catalog: Catalog) -> None:
    films = {p: e for p, e in catalog.entries.items() if e.kind == "film"}
    assert len(films) == 24
    listings = Counter(theme for e in films.values() for theme in e.themes)
    assert len(listings) == 5
    assert set(listings.values()) == {5}
    for path, e in films.items():
        assert path == f"电影/{e.themes[0]}/{e.title}.mp4"
        assert 85 * 60 <= e.duration <= 130 * 60
    assert films[GUONIANHAO].themes == ("新春团聚，最暖人心是感情", "峥嵘岁月，父母的青葱年华")
    assert [e.title for e in films.values()].count("过年好") == 1
    # The document's "25 films, about 40 hours" counts 《过年好》 once per theme.
    assert sum(e.duration * len(e.themes) for e in films.values()) == 40 * 3600


def test_handbook_is_a_small_pdf(sample: SampleSummary, catalog: Catalog) -> None:
    e = catalog.entries[HANDBOOK_PATH]
    assert (e.kind, e.duration) == ("handbook", 0)
    assert len(e.themes) == 4
    data = (sample.root / HANDBOOK_PATH).read_bytes()
    assert data.startswith(b"%PDF-1.4\n")
    assert data.endswith(b"%%EOF\n")
    assert 4096 <= len(data) <= SIZE // 100 + 64


def test_video_sizes_follow_duration(sample: SampleSummary, catalog: Catalog) -> None:
    rates = [
        (sample.root / p).stat().st_size / e.duration
        for p, e in catalog.entries.items()
        if e.kind != "handbook"
    ]
    assert max(rates) - min(rates) < 1


def test_same_seed_same_bytes(sample: SampleSummary, tmp_path: Path) -> None:
    again = write_sample(tmp_path / "again", SIZE, seed=7)
    assert digests(again.root) == digests(sample.root)
    other = digests(write_sample(tmp_path / "other", SIZE, seed=8).root)
    first = digests(sample.root)
    assert all(other[p] != first[p] for p in (GUONIANHAO, HANDBOOK_PATH))


def test_change_films_changes_exactly_those(sample: SampleSummary, tmp_path: Path) -> None:
    changed = write_sample(tmp_path / "v2", SIZE, seed=7, change_films=5, variant=2)
    before, after = digests(sample.root), digests(changed.root)
    differ = sorted(p for p in before if before[p] != after[p])
    films = sorted(p for p in before if p.startswith("电影/"))
    assert differ == films[:5] == list(changed.changed)
    v3 = digests(write_sample(tmp_path / "v3", SIZE, seed=7, change_films=5, variant=3).root)
    assert all(v3[p] != after[p] for p in differ)


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    write_sample(tmp_path / "s", SIZE, progress=lambda done, total: seen.append((done, total)))
    assert {total for _, total in seen} == {SIZE}
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1][0] == SIZE


def test_overwrites_an_earlier_sample(tmp_path: Path) -> None:
    out = tmp_path / "s"
    write_sample(out, SIZE, seed=1)
    (out / CATALOG_NAME).unlink()  # an interrupted run leaves no catalog: still a sample
    rewritten = write_sample(out, MIN_TOTAL_SIZE, seed=2)
    assert sum(p.stat().st_size for p in content_files(out).values()) == MIN_TOTAL_SIZE
    assert read_catalog(rewritten.catalog).entries


def test_refuses_a_folder_with_other_files(tmp_path: Path) -> None:
    out = tmp_path / "s"
    (out / "电影").mkdir(parents=True)
    (out / "电影" / "家庭录像.mp4").write_bytes(b"precious")
    expected = r"is not an earlier sample: it holds '电影/家庭录像\.mp4'"
    with pytest.raises(ConfigError, match=expected):
        write_sample(out, SIZE)
    assert (out / "电影" / "家庭录像.mp4").read_bytes() == b"precious"


def test_refuses_a_file_as_folder(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        write_sample(tmp_path / "f", SIZE)


@pytest.mark.parametrize(
    ("size", "change_films", "variant", "expected"),
    [
        (MIN_TOTAL_SIZE - 1, 0, 1, "too small"),
        (SIZE, 25, 1, r"change_films must be 0\.\.24"),
        (SIZE, -1, 1, r"change_films must be 0\.\.24"),
        (SIZE, 1, 0, "variant must be 1 or more"),
    ],
)
def test_bad_arguments(
    tmp_path: Path, size: int, change_films: int, variant: int, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        write_sample(tmp_path / "s", size, change_films=change_films, variant=variant)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("200MB", 200_000_000),
        ("1GB", 1_000_000_000),
        ("1.5 gb", 1_500_000_000),
        ("64MiB", 64 * 2**20),
        ("2kib", 2048),
        ("40TB", 40 * 10**12),
        ("123456", 123456),
        (" 7 B ", 7),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("200M", "not a size"),
        ("", "not a size"),
        ("-5MB", "not a size"),
        ("1e9", "not a size"),
        ("ten MB", "not a size"),
        ("0.5B", "not a whole number of bytes"),
    ],
)
def test_parse_size_refuses(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_size(text)
