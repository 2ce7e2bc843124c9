"""The agent's pure policy: which sources to ask, how long a failing one is left alone, and
whether this box may use the WAN. Values in, values out; the agent's shell does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass, field

from ..backoff import capped_backoff
from ._site import elect
from ._sources import Source

PENALTY_MAX_S = 3600.0
MAX_LAN_SOURCES = 8


@dataclass(frozen=True)
class LanPeer:
    """A LAN neighbour as the agent uses it (from discovery or a configured neighbour)."""

    node_id: str
    site: str
    ip: str
    feed_port: int
    swarm_port: int
    channels: dict[str, int]

    @property
    def feed_url(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"http://{host}:{self.feed_port}"


@dataclass
class SourcePolicy:
    """Penalties with capped back-off per source URL, and the list of sources to ask."""

    penalties: dict[str, float] = field(default_factory=dict)  # url -> until (clock seconds)
    strikes: dict[str, int] = field(default_factory=dict)

    def penalize(self, url: str, base_s: float, now: float) -> float:
        """Leave `url` alone for longer each consecutive time (capped); returns the seconds."""
        strikes = self.strikes.get(url, 0) + 1
        self.strikes[url] = strikes
        seconds = capped_backoff(base_s, strikes, PENALTY_MAX_S)
        self.penalties[url] = now + seconds
        return seconds

    def answered(self, url: str) -> None:
        """A good answer forgets the strikes (the next failure starts at the base again)."""
        self.strikes.pop(url, None)

    def sources(self, seeders: Iterable[str], neighbours: Iterable[LanPeer], channel: str,
                now: float) -> list[Source]:
        """Seeders, then the LAN neighbours holding the channel (newest first, a few), minus
        those still penalized."""
        out = [Source(url, lan=False) for url in seeders]
        lan = sorted((n for n in neighbours if channel in n.channels),
                     key=lambda n: -n.channels.get(channel, 0))
        out += [Source(n.feed_url, lan=True, node_id=n.node_id) for n in lan[:MAX_LAN_SOURCES]]
        return [s for s in out if self.penalties.get(s.url, 0) <= now]


@dataclass
class Demotions:
    """Site boxes passed over in the election for a while because they delivered nothing.

    A box that proves its id but sends no data (a broken disk, a dead uplink, a liar) would
    otherwise hold its site's WAN role forever: every follower waits on it. A follower whose
    download stalls demotes the elected box; every follower sees the same stall, so they agree
    on the next box. The demotion ends by itself (the box may have been only slow)."""

    until: dict[str, float] = field(default_factory=dict)  # node id -> clock seconds

    def demote(self, node_id: str, for_s: float, now: float) -> None:
        self.until[node_id] = now + for_s

    def active(self, now: float) -> set[str]:
        """The ids demoted now (expired ones are forgotten)."""
        for node_id in [n for n, t in self.until.items() if t <= now]:
            del self.until[node_id]
        return set(self.until)


def elected_box(self_id: str, site: str, neighbours: Iterable[LanPeer],
                proven: Set[str], demoted: Set[str] = frozenset()) -> str:
    """The site's WAN box, among neighbours that proved who they are (their feed answered with
    the node id they advertise: a forged mDNS record cannot win) and were not demoted for
    delivering nothing. This box itself is always a candidate."""
    return elect(self_id, [n.node_id for n in neighbours
                           if n.site == site and n.node_id in proven and n.node_id not in demoted])


def may_use_wan(site_mode: str, stalled: bool, elected: str, self_id: str) -> bool:
    """Own-link boxes, the elected box, and any box whose download stalled use the WAN."""
    return site_mode == "own-link" or stalled or elected == self_id
