"""Which box of a LAN site fetches from the WAN (pure).

Boxes that find each other on one LAN usually share the station's single uplink. If every box
pulled from the WAN, the uplink would carry ~1.9 copies (measured); if one box pulls and the others
take from it at LAN speed, ~1.07. Every box computes the same answer from the same neighbour set:
the smallest node id among the site's live boxes. When that box goes away its advert expires and
the next smallest takes over; a box that stalls stops advertising progress and is passed over
the same way (see `StallWatch`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


def elect(self_id: str, site_members: Iterable[str]) -> str:
    """The node id that pulls from the WAN for this site (ourselves included)."""
    return min([self_id, *site_members])


@dataclass
class StallWatch:
    """Detects a download that makes no progress for `limit_s` seconds (pure, fed by the shell).

    A non-elected box uses it on its own LAN download: if nothing arrives for a while although
    the release is not complete, the elected box is not delivering, so this box pulls from the WAN
    itself.
    """

    limit_s: float = 60.0
    _last_bytes: int = -1
    _since: float = 0.0

    def observe(self, bytes_done: int, now: float) -> bool:
        """Record progress; True when stalled for longer than the limit."""
        if bytes_done != self._last_bytes:
            self._last_bytes = bytes_done
            self._since = now
            return False
        return now - self._since >= self.limit_s
