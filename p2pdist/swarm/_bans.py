"""Bans that hold for an address, however many ports its peer uses.

libtorrent bans the peer entry (address *and* port) that sent data failing a hash check, so a
liar reconnecting from a new port starts afresh: field checks saw hundreds of connections and
tens of MB of garbage from one address. On each `peer_ban_alert` the swarm records the address
here; `PeerClasses` then blocks every address of `BanTable.addresses()` in the session's IP
filter (which also drops its live connections), and lifts the block when the ban expires.
This table is the pure part: times are given, never read.
"""

from __future__ import annotations

from ..i18n import _

DEFAULT_BAN_S = 3600.0
"""An hour: long enough that a lying box costs a station at most a couple of pieces per hour,
short enough that a box whose disk was repaired is heard again the same day."""


class BanTable:
    """Banned addresses and when each ban ends."""

    def __init__(self, ban_s: float = DEFAULT_BAN_S) -> None:
        if ban_s <= 0:
            raise ValueError(_("ban_s must be positive"))
        self.ban_s = ban_s
        self._until: dict[str, float] = {}

    def ban(self, ip: str, now: float) -> bool:
        """Ban `ip` until `now` + ban time; True when it was not banned before (filter changes)."""
        new = ip not in self._until
        self._until[ip] = now + self.ban_s
        return new

    def expire(self, now: float) -> list[str]:
        """Lift the bans that ended at `now`; return the addresses set free."""
        freed = [ip for ip, until in self._until.items() if until <= now]
        for ip in freed:
            del self._until[ip]
        return freed

    def addresses(self) -> list[str]:
        """Every banned address, sorted (for a stable filter)."""
        return sorted(self._until)

    def __contains__(self, ip: object) -> bool:
        return ip in self._until
