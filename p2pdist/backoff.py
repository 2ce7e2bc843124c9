"""Capped exponential back-off: the one formula every retry and penalty in the project uses.

A box may stay offline for months; with hourly retries an uncapped ``base * 2 ** (n - 1)``
overflows a float after 1,024 failures. The exponent is bounded before it is raised, so any
number of consecutive failures gives a finite wait no longer than `cap_s`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_MAX_EXPONENT = 62


def capped_backoff(base_s: float, failures: int, cap_s: float) -> float:
    """Seconds to wait after `failures` consecutive failures (1 → `base_s`), at most `cap_s`."""
    if failures <= 0:
        return 0.0
    exponent = min(failures - 1, _MAX_EXPONENT)
    return float(min(cap_s, base_s * 2.0 ** exponent))


REDIAL_BASE_S = 2.0
REDIAL_MAX_S = 15.0
"""A returning seeder is dialled again within this long (issue 16.2 asks for ≤ 30 s)."""


@dataclass
class Redial:
    """When to dial each known endpoint again while pieces are missing (capped back-off).

    libtorrent ignores a dial to a peer it is already connected to, so redialling a live peer
    costs nothing; a peer that went away and came back is picked up at the next due time.
    """

    _tries: dict[tuple[str, int], int] = field(default_factory=dict)
    _due: dict[tuple[str, int], float] = field(default_factory=dict)

    def due(self, endpoints: list[tuple[str, int]], now: float) -> list[tuple[str, int]]:
        """The endpoints to dial now; each dialled one gets its next time."""
        out = []
        for ep in endpoints:
            if self._due.get(ep, 0.0) <= now:
                tries = self._tries.get(ep, 0) + 1
                self._tries[ep] = tries
                self._due[ep] = now + capped_backoff(REDIAL_BASE_S, tries, REDIAL_MAX_S)
                out.append(ep)
        return out

    def next_at(self) -> float | None:
        return min(self._due.values()) if self._due else None
