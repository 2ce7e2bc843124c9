"""Which box of a LAN site fetches from the WAN (pure).

Boxes that find each other on one LAN usually share the station's single uplink. If every box
pulled from the WAN, the uplink would carry ~1.9 copies (measured); if one box pulls and the others
take from it at LAN speed, ~1.07. Every box computes the same answer from the same neighbour set:
the smallest node id among the site's live boxes. When that box goes away its advert expires and
the next smallest takes over; a box that stalls stops advertising progress and is passed over
the same way (see `Stall` in `_supervise`).
"""

from __future__ import annotations

from collections.abc import Iterable


def elect(self_id: str, site_members: Iterable[str]) -> str:
    """The node id that pulls from the WAN for this site (ourselves included)."""
    return min([self_id, *site_members])
