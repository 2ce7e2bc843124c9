"""The fuzz budget shared by every untrusted-entry-point fuzz target (tests/fuzz/).

Under `make test` each target runs one small hypothesis batch. `make fuzz` sets
P2PDIST_FUZZ_SECONDS: each target then runs batch after batch (fresh random examples each
time) until its share of the time is used. Every target asserts that only typed errors escape
and that no call of the code under test grows the process's resident memory by more than
64 MB (see `Meter`); with P2PDIST_FUZZ_REPORT set, one JSON line per target is appended
there (examples run, max RSS growth).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator

from hypothesis import HealthCheck, settings

FUZZ_SECONDS = float(os.environ.get("P2PDIST_FUZZ_SECONDS", "0"))
RSS_LIMIT = 64 * 1024 * 1024

BATCH = settings(
    max_examples=200 if FUZZ_SECONDS else 25,
    deadline=None,
    database=None,
    derandomize=not FUZZ_SECONDS,
    suppress_health_check=list(HealthCheck),
)


def rss() -> int:
    """Resident set size of this process now, in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Meter:
    """Counts examples and the largest RSS growth across one call of the code under test.

    Growth is measured from just before the call (the example's input already built, as a
    daemon holds a request it has read) to just after it. The limit is asserted by `drive`
    once the batch is over: hypothesis would otherwise "shrink" onto an innocent example.
    `overall` is the growth of the whole process since the first example (a leak shows there).
    """

    def __init__(self) -> None:
        self.baseline: int | None = None
        self.examples = 0
        self.max_growth = 0
        self.overall = 0
        self.worst = ""
        self.max_cpu_s = 0.0

    @contextlib.contextmanager
    def measure(self, what: object = None) -> Iterator[None]:
        before = rss()
        cpu = time.process_time()
        if self.baseline is None:
            self.baseline = before
        try:
            yield
        finally:
            after = rss()
            self.max_cpu_s = max(self.max_cpu_s, time.process_time() - cpu)
            self.examples += 1
            self.overall = max(self.overall, after - self.baseline)
            if after - before > self.max_growth:
                self.max_growth = after - before
                self.worst = repr(what)[:120]


def drive(name: str, batch: Callable[[], None], meter: Meter) -> None:
    """Run `batch` (a hypothesis test measuring each call with `meter`) for the budget."""
    start = time.monotonic()
    while True:
        batch()
        if not FUZZ_SECONDS or time.monotonic() - start >= FUZZ_SECONDS:
            break
    assert meter.max_growth <= RSS_LIMIT, (
        f"{name}: RSS grew {meter.max_growth >> 20} MB over the baseline ({meter.worst})")
    report = os.environ.get("P2PDIST_FUZZ_REPORT")
    if report:
        with open(report, "a") as f:
            f.write(json.dumps({"target": name, "examples": meter.examples,
                                "seconds": round(time.monotonic() - start, 1),
                                "max_rss_growth_mb": round(meter.max_growth / 2**20, 1),
                                "process_rss_growth_mb": round(meter.overall / 2**20, 1),
                                "max_cpu_s_per_input": round(meter.max_cpu_s, 2)})
                    + "\n")
