"""Whole-file SHA-256 on every core: the one hashing helper of `release build`, `release verify
--content`, `verify` and `import`.

SHA-256 of one file is sequential, so the work is spread by file: each worker thread hashes
whole files with one reused 4 MiB buffer (hashlib releases the GIL on large updates, so the
threads really run at once; a fresh `bytes` per read would also cost an mmap and page faults
per chunk above malloc's mmap threshold). Files go out largest first, so the last file to end
is a small one and the cores stay busy to the end. Progress is reported from the calling
thread only (callers reach trio or rich from it), fed by the workers through a queue; a
progress callback that raises stops every worker at its next chunk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from io import RawIOBase
from pathlib import Path
from typing import TypeVar

CHUNK = 4 * 1024 * 1024

T = TypeVar("T")
R = TypeVar("R")

OnBytes = Callable[[int], None]
"""Called with the length of each chunk hashed."""

_hashed = 0
_hashed_lock = threading.Lock()


def hashed_bytes() -> int:
    """Bytes this process has hashed through this module (and `count_hashed`) since it began:
    the daemon reports it, so a benchmark can tell its own hashing from libtorrent's reads."""
    return _hashed


def count_hashed(n: int) -> None:
    """Add `n` bytes hashed outside `sha256_stream` (a copy hashed as it is written)."""
    global _hashed
    with _hashed_lock:
        _hashed += n


def cores() -> int:
    """The cores this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def sha256_stream(f: RawIOBase, on_bytes: OnBytes | None = None) -> bytes:
    """SHA-256 of what is left in the open file `f`, read in CHUNK pieces.

    Reading and hashing overlap (`_read_ahead`): on a file not in the page cache one thread
    that reads then hashes leaves the disk idle half the time (610-810 MB/s here for one
    worker, 1.1-1.2 GB/s for two; 1.3-1.7 GB/s with read-ahead, the disk's own 1.2-1.5 GB/s).
    """
    digest = hashlib.sha256()
    with contextlib.closing(_read_ahead(f)) as chunks:
        for chunk in chunks:
            digest.update(chunk)
            count_hashed(len(chunk))
            if on_bytes is not None:
                on_bytes(len(chunk))
    return digest.digest()


def _read_ahead(f: RawIOBase) -> Generator[memoryview, None, None]:
    """The rest of `f` in CHUNK pieces, the next one read by a helper thread while the caller
    works on this one (two buffers; a piece is valid until the next is asked for).

    A file of at most one chunk is read here, without a thread. Read errors reach the caller at
    the chunk they occurred at; closing the generator early stops the reader.
    """
    try:
        left = os.fstat(f.fileno()).st_size - f.tell()
    except (OSError, ValueError):  # not a plain file: read it here, chunk by chunk
        left = -1
    bufs = (bytearray(CHUNK), bytearray(CHUNK))
    if 0 <= left <= CHUNK:
        while n := f.readinto(bufs[0]):
            yield memoryview(bufs[0])[:n]
        return
    filled: queue.SimpleQueue[tuple[int, int] | BaseException] = queue.SimpleQueue()
    free: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    free.put(0)
    free.put(1)

    def reader() -> None:
        try:
            while (i := free.get()) is not None:
                n = f.readinto(bufs[i]) or 0
                filled.put((i, n))
                if n == 0:
                    return
        except BaseException as e:  # handed to the caller's thread
            filled.put(e)

    thread = threading.Thread(target=reader, name="sha256-read", daemon=True)
    thread.start()
    try:
        while True:
            item = filled.get()
            if isinstance(item, BaseException):
                raise item
            i, n = item
            if n == 0:
                return
            yield memoryview(bufs[i])[:n]
            free.put(i)
    finally:
        free.put(None)
        thread.join()


def sha256_file(path: Path, on_bytes: OnBytes | None = None) -> bytes:
    """SHA-256 of the file at `path`. Raises OSError as `open` and `read` do."""
    with open(path, "rb", buffering=0) as f:
        return sha256_stream(f, on_bytes)


def sha256_files(
    paths: Sequence[Path], on_bytes: OnBytes | None = None, *, workers: int | None = None
) -> list[bytes]:
    """SHA-256 of each path, in order, on `workers` threads (default: one per core)."""
    return run_hashing(paths, lambda p, counted: sha256_file(p, counted), on_bytes,
                       sizes=[_size(p) for p in paths], workers=workers)


def run_hashing(
    items: Sequence[T],
    work: Callable[[T, OnBytes], R],
    on_bytes: OnBytes | None = None,
    *,
    sizes: Sequence[int] | None = None,
    workers: int | None = None,
) -> list[R]:
    """`work(item, counted)` for every item on a thread pool; the results in `items`' order.

    `work` calls `counted(n)` after each chunk; those counts reach `on_bytes` on this thread.
    `sizes` (bytes per item) orders the work largest first. An exception from `work` or from
    `on_bytes` stops the other workers at their next chunk and propagates.
    """
    if not items:
        return []
    n_workers = max(1, min(workers or cores(), len(items)))
    order = sorted(range(len(items)), key=lambda i: -(sizes[i] if sizes else 0))
    news: queue.SimpleQueue[int] = queue.SimpleQueue()
    stop = threading.Event()

    def one(i: int) -> R:
        def counted(n: int) -> None:
            if stop.is_set():
                raise _Stopped
            news.put(n)

        return work(items[i], counted)

    with ThreadPoolExecutor(n_workers, thread_name_prefix="sha256") as pool:
        futures = {i: pool.submit(one, i) for i in order}
        try:
            while True:
                try:
                    n = news.get(timeout=0.05)
                except queue.Empty:
                    done = [f for f in futures.values() if f.done()]
                    if len(done) == len(futures):
                        break
                    for f in done:
                        f.result()  # a worker's failure propagates now, stopping the rest
                    continue
                if on_bytes is not None:
                    on_bytes(n)
            while not news.empty():  # counts put just before the last worker ended
                n = news.get()
                if on_bytes is not None:
                    on_bytes(n)
            return [futures[i].result() for i in range(len(items))]
        except BaseException:
            stop.set()
            raise


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class _Stopped(Exception):
    """Another worker or the progress callback failed: this worker stops at its next chunk."""
