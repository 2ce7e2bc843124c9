"""plan_release, releases_to_keep, plan_gc (pure)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifest import FileEntry, Kind, Manifest
from p2pdist.store import plan_gc, plan_release, releases_to_keep


def sha(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


def fe(path: str, content: int, size: int = 10) -> FileEntry:
    return FileEntry(path, size, sha(content), bytes(32), Kind.FILM, (), path, 0)


def manifest(version: int, *files: FileEntry) -> Manifest:
    return Manifest("national/winter-2027", version, 0, 1, "t", files, b"")


def test_second_release_reuses_four_of_five() -> None:
    v1 = manifest(1, *(fe(f"f{i}", i, 100 + i) for i in range(5)))
    v2 = manifest(2, *(fe(f"f{i}", i, 100 + i) for i in range(4)), fe("new", 99, 7))
    have = {f.sha256 for f in v1.files}
    plan = plan_release(v2, v2.files, have)
    assert [f.path for f in plan.reuse] == ["f0", "f1", "f2", "f3"]
    assert [f.path for f in plan.fetch] == ["new"]
    assert plan.bytes_to_fetch == 7
    assert plan.bytes_reused == 100 + 101 + 102 + 103
    assert plan.wanted == v2.files


def test_renamed_file_is_reused_by_content() -> None:
    v2 = manifest(2, fe("电影/新名字.mp4", 1))
    assert plan_release(v2, v2.files, {sha(1)}).fetch == ()


def test_plan_keeps_manifest_order_and_only_wanted() -> None:
    m = manifest(1, fe("a", 1), fe("b", 2), fe("c", 3))
    plan = plan_release(m, [m.files[2], m.files[0]], set())
    assert [f.path for f in plan.wanted] == ["a", "c"]
    assert plan.fetch == plan.wanted and plan.reuse == ()


def test_same_content_at_two_paths_is_fetched_as_the_torrent_carries_it() -> None:
    m = manifest(1, fe("a", 1, 5), fe("b", 1, 5))
    assert plan_release(m, m.files, set()).bytes_to_fetch == 10
    assert plan_release(m, m.files, {sha(1)}).bytes_to_fetch == 0


def test_wanted_must_come_from_the_manifest() -> None:
    m = manifest(1, fe("a", 1))
    with pytest.raises(ValueError, match="'x'"):
        plan_release(m, [fe("x", 2)], set())


@given(st.lists(st.integers(0, 6), max_size=8), st.sets(st.integers(0, 6)),
       st.sets(st.integers(0, 7)))
def test_plan_partitions_wanted(contents: list[int], have: set[int], want: set[int]) -> None:
    m = manifest(1, *(fe(f"f{i}", c) for i, c in enumerate(contents)))
    wanted = [f for i, f in enumerate(m.files) if i in want]
    plan = plan_release(m, wanted, {sha(h) for h in have})
    assert set(plan.reuse) | set(plan.fetch) == set(wanted)
    assert not set(plan.reuse) & set(plan.fetch)
    assert all(f.sha256 in {sha(h) for h in have} for f in plan.reuse)
    assert plan.bytes_to_fetch + plan.bytes_reused == sum(f.size for f in wanted)


@pytest.mark.parametrize(
    ("versions", "active", "keep", "expected"),
    [
        ([1, 2, 3, 4], 4, 2, {3, 4}),
        ([1, 2, 3, 4], 2, 2, {2, 3, 4}),  # newer downloads kept, active too
        ([1, 2, 3, 4], 2, 0, {2}),
        ([1, 2, 3], None, 1, {3}),
        ([], None, 2, set()),
        ([5], 5, 2, {5}),
    ],
)
def test_releases_to_keep(
    versions: list[int], active: int | None, keep: int, expected: set[int]
) -> None:
    assert releases_to_keep(versions, active, keep) == expected


def test_releases_to_keep_rejects_negative() -> None:
    with pytest.raises(ValueError):
        releases_to_keep([1], 1, -1)


def test_plan_gc_deletes_only_unreferenced() -> None:
    kept = [manifest(3, fe("a", 1), fe("b", 2)), manifest(4, fe("b", 2), fe("c", 3))]
    assert plan_gc(kept, {sha(n) for n in range(6)}) == {sha(0), sha(4), sha(5)}
    assert plan_gc([], {sha(1)}) == {sha(1)}
    assert plan_gc(kept, set()) == set()


@given(st.lists(st.sets(st.integers(0, 9), max_size=5), max_size=4), st.sets(st.integers(0, 9)))
def test_plan_gc_never_deletes_a_kept_hash(kept: list[set[int]], objects: set[int]) -> None:
    manifests = [manifest(i + 1, *(fe(f"f{c}", c) for c in cs)) for i, cs in enumerate(kept)]
    referenced = {sha(c) for cs in kept for c in cs}
    drop = plan_gc(manifests, {sha(o) for o in objects})
    assert not drop & referenced
    assert drop | ({sha(o) for o in objects} & referenced) == {sha(o) for o in objects}
