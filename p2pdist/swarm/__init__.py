"""The box's BitTorrent swarm: one libtorrent session driven from trio.

LAN peers trade at full speed in their own peer class while WAN peers follow a time-of-day cap;
resume data is saved periodically and at stop so a killed box continues where it was. See
`Swarm` for the operations and `SwarmConfig` for what can be set.
"""

from ._config import SwarmConfig
from ._errors import UnknownTorrentError
from ._schedule import RateLimit, RateWindow, WanSchedule
from ._snapshot import PeerSource, TorrentSnapshot, TorrentState
from ._swarm import Swarm

__all__ = [
    "PeerSource",
    "RateLimit",
    "RateWindow",
    "Swarm",
    "SwarmConfig",
    "TorrentSnapshot",
    "TorrentState",
    "UnknownTorrentError",
    "WanSchedule",
]
