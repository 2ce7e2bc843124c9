"""The bounded memory of LAN neighbours (pure: plain values in, changes out, time passed in).

Anyone on the LAN can announce records, so every structure here has a fixed ceiling: at most
`capacity` neighbours (the least recently seen is forgotten first) and at most `max_penalties`
penalty records. A neighbour not seen again within `ttl` seconds is dropped, which is how a box
that lost power (and sent no goodbye) leaves the table.

Changes describe the *visible* set, the one `active` returns: a neighbour appears when first seen
or when its penalty ends, is updated when its advert or instance name changes while visible, and
disappears when it says goodbye, expires, is evicted or is penalized. Time must not go backwards
between calls (use a monotonic clock).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass

from ._advert import Advert

DEFAULT_CAPACITY = 256
DEFAULT_TTL_S = 150.0
"""Longer than the 120 s host-record TTL, so one refresh that missed does not drop a live box."""
DEFAULT_PENALTY_S = 60.0
MAX_PENALTY_S = 3600.0
DEFAULT_MAX_PENALTIES = 1024


@dataclass(frozen=True)
class Neighbour:
    """A node seen on the LAN.

    Attributes:
        advert: what it announced (hints only; verify everything fetched from it).
        name: the DNS-SD instance name it announced under.
        first_seen: when it entered the table (monotonic seconds).
        last_seen: when its records were last confirmed (monotonic seconds).
    """

    advert: Advert
    name: str
    first_seen: float
    last_seen: float

    @property
    def node_id(self) -> str:
        """The neighbour's node id."""
        return self.advert.node_id


class ChangeKind(enum.Enum):
    """How the visible set of neighbours changed."""

    APPEARED = "appeared"
    UPDATED = "updated"
    DISAPPEARED = "disappeared"


@dataclass(frozen=True)
class NeighbourChange:
    """One change of the visible set; for DISAPPEARED, `neighbour` is its last known state."""

    kind: ChangeKind
    neighbour: Neighbour


@dataclass(frozen=True)
class _Penalty:
    strikes: int
    until: float


class NeighbourTable:
    """Neighbours by node id, bounded in size, with expiry and penalties.

    Args:
        self_id: our own node id; our own advert (which our browser sees too) is never stored.
        capacity: the most neighbours kept.
        ttl: seconds a neighbour stays without being seen again.
        max_penalties: the most penalty records kept.
        max_penalty: the longest a repeated penalty lasts (seconds).

    Raises:
        ValueError: a limit is not positive.
    """

    def __init__(
        self,
        self_id: str | None = None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        ttl: float = DEFAULT_TTL_S,
        max_penalties: int = DEFAULT_MAX_PENALTIES,
        max_penalty: float = MAX_PENALTY_S,
    ) -> None:
        if capacity < 1 or max_penalties < 1 or ttl <= 0 or max_penalty <= 0:
            raise ValueError("capacity, ttl, max_penalties and max_penalty must be positive")
        self.self_id = self_id
        self.capacity = capacity
        self.ttl = ttl
        self.max_penalties = max_penalties
        self.max_penalty = max_penalty
        # Ordered by last_seen, oldest first: eviction and expiry both take from the front.
        self._entries: OrderedDict[str, Neighbour] = OrderedDict()
        self._penalties: dict[str, _Penalty] = {}
        # Node ids the consumer was told are visible; a subset of _entries' keys.
        self._visible: set[str] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def seen(self, advert: Advert, now: float, name: str = "") -> list[NeighbourChange]:
        """Record that a neighbour announced `advert` (first time or again).

        Args:
            advert: the parsed advert.
            now: monotonic seconds.
            name: the DNS-SD instance name it came under.

        Returns:
            The changes: APPEARED or UPDATED for it (nothing if only confirmed), DISAPPEARED for a
            neighbour evicted to make room.
        """
        node_id = advert.node_id
        if node_id == self.self_id:
            return []
        old = self._entries.pop(node_id, None)
        first = old.first_seen if old is not None else now
        neighbour = Neighbour(advert, name, first, now)
        self._entries[node_id] = neighbour
        changes: list[NeighbourChange] = []
        while len(self._entries) > self.capacity:
            _, evicted = self._entries.popitem(last=False)
            changes.extend(self._hide(evicted))
        if self._penalized(node_id, now):
            return changes
        if node_id not in self._visible:
            self._visible.add(node_id)
            changes.append(NeighbourChange(ChangeKind.APPEARED, neighbour))
        elif old is not None and (old.advert != advert or old.name != name):
            changes.append(NeighbourChange(ChangeKind.UPDATED, neighbour))
        return changes

    def gone(self, node_id: str) -> list[NeighbourChange]:
        """Forget a neighbour that said goodbye (its penalty, if any, is kept).

        Returns:
            DISAPPEARED if it was visible.
        """
        neighbour = self._entries.pop(node_id, None)
        return [] if neighbour is None else self._hide(neighbour)

    def penalize(
        self, node_id: str, now: float, seconds: float = DEFAULT_PENALTY_S
    ) -> list[NeighbourChange]:
        """Ignore a neighbour that served something invalid, for a while.

        The first penalty lasts `seconds`; each further one while the record is kept doubles,
        up to `max_penalty`. A record is forgotten once the neighbour has behaved for
        `max_penalty` after its penalty ended. Penalties outlive goodbyes, so a neighbour
        cannot shed one by re-announcing itself.

        Args:
            node_id: the neighbour's node id (need not be in the table).
            now: monotonic seconds.
            seconds: the first penalty's length.

        Returns:
            DISAPPEARED if it was visible.

        Raises:
            ValueError: `seconds` is not positive.
        """
        if seconds <= 0:
            raise ValueError("a penalty must last a positive number of seconds")
        if node_id == self.self_id:
            return []
        old = self._penalties.pop(node_id, None)
        if old is not None and now > old.until + self.max_penalty:
            old = None
        strikes = 1 if old is None else old.strikes + 1
        length = min(seconds * 2.0 ** min(strikes - 1, 64), self.max_penalty)
        until = max(now + length, old.until if old is not None else now)
        if len(self._penalties) >= self.max_penalties:
            self._forget_penalties()
        self._penalties[node_id] = _Penalty(strikes, until)
        neighbour = self._entries.get(node_id)
        return [] if neighbour is None else self._hide(neighbour)

    def expire(self, now: float) -> list[NeighbourChange]:
        """Drop neighbours not seen within the TTL and end penalties that are over.

        Call it periodically (every second or so); changes that depend only on time are
        reported here.

        Returns:
            DISAPPEARED for expired neighbours, APPEARED for visible-again ones.
        """
        changes: list[NeighbourChange] = []
        while self._entries:
            oldest = next(iter(self._entries.values()))
            if now - oldest.last_seen <= self.ttl:
                break
            del self._entries[oldest.node_id]
            changes.extend(self._hide(oldest))
        for node_id, neighbour in self._entries.items():
            if node_id not in self._visible and not self._penalized(node_id, now):
                self._visible.add(node_id)
                changes.append(NeighbourChange(ChangeKind.APPEARED, neighbour))
        for node_id in [n for n, p in self._penalties.items() if now > p.until + self.max_penalty]:
            del self._penalties[node_id]
        return changes

    def next_change(self) -> float | None:
        """The earliest time `expire` may report a change that depends on time alone: the
        oldest neighbour's TTL ending, or a penalty of a known neighbour ending (None: none
        pending). New records or penalties can only bring it later or add their own."""
        times = [p.until for n, p in self._penalties.items() if n in self._entries]
        if self._entries:
            times.append(next(iter(self._entries.values())).last_seen + self.ttl)
        return min(times, default=None)

    def active(self, now: float) -> list[Neighbour]:
        """Neighbours to use now: seen within the TTL, not penalized, ordered by node id."""
        return sorted(
            (
                n
                for n in self._entries.values()
                if now - n.last_seen <= self.ttl and not self._penalized(n.node_id, now)
            ),
            key=lambda n: n.node_id,
        )

    def get(self, node_id: str) -> Neighbour | None:
        """The neighbour with this node id, penalized or not, or None."""
        return self._entries.get(node_id)

    def node_for_name(self, name: str) -> str | None:
        """The node id last seen under this DNS-SD instance name, or None.

        Goodbye packets carry only the name; the table is small, so a scan is cheap.
        """
        for node_id, neighbour in self._entries.items():
            if neighbour.name == name:
                return node_id
        return None

    def penalties(self, now: float) -> dict[str, float]:
        """Node ids penalized now, with the monotonic time each penalty ends."""
        return {n: p.until for n, p in self._penalties.items() if p.until > now}

    def _penalized(self, node_id: str, now: float) -> bool:
        penalty = self._penalties.get(node_id)
        return penalty is not None and penalty.until > now

    def _hide(self, neighbour: Neighbour) -> list[NeighbourChange]:
        if neighbour.node_id not in self._visible:
            return []
        self._visible.discard(neighbour.node_id)
        return [NeighbourChange(ChangeKind.DISAPPEARED, neighbour)]

    def _forget_penalties(self) -> None:
        """Make room for one penalty record in O(1): drop the one given longest ago.

        Stale records are swept by `expire`; dict order is the order penalties were given.
        """
        del self._penalties[next(iter(self._penalties))]
