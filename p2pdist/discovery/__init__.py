"""LAN discovery: announce this node by DNS-SD (`_p2pdist._tcp.local.`) and track neighbours.

Neighbours go to the swarm as LAN peers and to the feed client as manifest sources. What they
announce is a hint only: everything fetched because of it is verified by signature. `Advert` and
`NeighbourTable` are pure; `Discovery` and `scan` run python-zeroconf under trio.
"""

from ._advert import SERVICE_TYPE, Advert, BadAdvertError, Role
from ._discovery import Discovery, NeighbourListener, scan
from ._table import ChangeKind, Neighbour, NeighbourChange, NeighbourTable

__all__ = [
    "SERVICE_TYPE",
    "Advert",
    "BadAdvertError",
    "ChangeKind",
    "Discovery",
    "Neighbour",
    "NeighbourChange",
    "NeighbourListener",
    "NeighbourTable",
    "Role",
    "scan",
]
