"""Capped exponential back-off: the one formula every retry and penalty in the project uses.

A box may stay offline for months; with hourly retries an uncapped ``base * 2 ** (n - 1)``
overflows a float after 1,024 failures. The exponent is bounded before it is raised, so any
number of consecutive failures gives a finite wait no longer than `cap_s`.
"""

from __future__ import annotations

_MAX_EXPONENT = 62


def capped_backoff(base_s: float, failures: int, cap_s: float) -> float:
    """Seconds to wait after `failures` consecutive failures (1 → `base_s`), at most `cap_s`."""
    if failures <= 0:
        return 0.0
    exponent = min(failures - 1, _MAX_EXPONENT)
    return float(min(cap_s, base_s * 2.0 ** exponent))
