"""The one whole-file SHA-256 helper: right digests in order, progress on the caller's thread,
every core used, and a failure anywhere stops the rest."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from p2pdist.hashing import CHUNK, run_hashing, sha256_file, sha256_files


def _files(tmp_path: Path, sizes: list[int]) -> list[Path]:
    out = []
    for i, size in enumerate(sizes):
        p = tmp_path / f"f{i}"
        p.write_bytes(os.urandom(size))
        out.append(p)
    return out


def test_digests_come_back_in_the_order_given_whatever_order_they_ran(tmp_path: Path) -> None:
    # Sizes around the chunk edges; the largest is hashed first, the result order is the input's.
    paths = _files(tmp_path, [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5, 17])
    want = [hashlib.sha256(p.read_bytes()).digest() for p in paths]
    assert sha256_files(paths) == want
    assert [sha256_file(p) for p in paths] == want


def test_progress_counts_every_byte_once_on_the_calling_thread(tmp_path: Path) -> None:
    paths = _files(tmp_path, [2 * CHUNK + 3, CHUNK, 5, 0])
    caller = threading.get_ident()
    seen: list[int] = []
    threads: set[int] = set()

    def on_bytes(n: int) -> None:
        seen.append(n)
        threads.add(threading.get_ident())

    sha256_files(paths, on_bytes)
    assert sum(seen) == sum(p.stat().st_size for p in paths)
    assert threads == {caller}


def test_files_are_hashed_on_more_than_one_thread_at_once(tmp_path: Path) -> None:
    # Each worker waits (bounded) until another is inside its work: with one worker this fails.
    inside = threading.Barrier(2, timeout=30)

    def work(p: Path, counted: object) -> bytes:
        inside.wait()
        return sha256_file(p)

    paths = _files(tmp_path, [10, 20])
    assert run_hashing(paths, work, workers=2) == [hashlib.sha256(p.read_bytes()).digest()
                                                   for p in paths]


def test_an_unreadable_file_raises_and_stops_the_others(tmp_path: Path) -> None:
    paths = _files(tmp_path, [8 * CHUNK, 8 * CHUNK])
    missing = tmp_path / "gone"
    with pytest.raises(FileNotFoundError):
        sha256_files([*paths, missing])


def test_a_progress_callback_that_raises_stops_the_hashing(tmp_path: Path) -> None:
    paths = _files(tmp_path, [6 * CHUNK, 6 * CHUNK])
    calls = 0

    class Enough(Exception):
        pass

    def on_bytes(n: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Enough

    with pytest.raises(Enough):
        sha256_files(paths, on_bytes)
    assert calls == 2


def test_no_files_is_no_work() -> None:
    assert sha256_files([]) == []


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 3 * CHUNK - 7])
def test_read_ahead_gives_the_digest_of_every_byte(tmp_path: Path, size: int) -> None:
    p = tmp_path / "f"
    data = os.urandom(size)
    p.write_bytes(data)
    counted: list[int] = []
    assert sha256_file(p, counted.append) == hashlib.sha256(data).digest()
    assert sum(counted) == size


def test_a_caller_that_stops_early_stops_the_reader_thread(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(os.urandom(4 * CHUNK))

    class Enough(Exception):
        pass

    def stop(_n: int) -> None:
        raise Enough

    with pytest.raises(Enough):
        sha256_file(p, stop)
    assert not [t for t in threading.enumerate() if t.name == "sha256-read"]
