"""LAN and WAN peer classes: which peers the WAN caps apply to.

libtorrent's own default puts every private range in an unlimited "local" class, which would
exempt a township's WAN peers behind carrier NAT too. We replace that with our own rule: peers in
the configured LAN subnets, plus neighbours registered at run time (found by zeroconf), go to an
unlimited "lan" class; everyone else stays in the global class, which carries the WAN caps.
`LanSet` is the pure membership rule; `PeerClasses` installs it into a session.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from p2pdist._libtorrent import lt

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_ALL_V4 = ("0.0.0.0", "255.255.255.255")
_ALL_V6 = ("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
_BLOCKED = 1  # lt.ip_filter's access flag for a blocked range


class LanSet:
    """Subnets and single addresses that count as LAN (pure)."""

    def __init__(self, subnets: Iterable[IPNetwork] = ()) -> None:
        self._subnets = tuple(subnets)
        self._hosts: set[IPAddress] = set()

    def add_host(self, ip: IPAddress) -> bool:
        """Register one address as LAN; True if that changed the set."""
        if ip in self._hosts:
            return False
        self._hosts.add(ip)
        return True

    def __contains__(self, ip: object) -> bool:
        if not isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return ip in self._hosts or any(ip in net for net in self._subnets)

    def ranges(self) -> list[tuple[str, str]]:
        """(first, last) address ranges of every LAN rule, subnets first."""
        out = [(str(net[0]), str(net[-1])) for net in self._subnets]
        out.extend((str(ip), str(ip)) for ip in sorted(self._hosts, key=lambda a: (a.version, a)))
        return out


class PeerClasses:
    """The session's "lan" peer class and the address filter that assigns it.

    A changed filter applies to connections made after the change; established connections
    keep their class, so register LAN neighbours before connecting to them.
    """

    def __init__(self, ses: lt.session, lan: LanSet) -> None:
        self._ses = ses
        self.lan = lan
        self._lan_class = ses.create_peer_class("lan")
        info = ses.get_peer_class(self._lan_class)
        info["label"] = "lan"
        info["upload_limit"] = 0  # unlimited
        info["download_limit"] = 0
        # LAN boxes always get unchoked: a site's neighbours should trade at wire speed.
        info["ignore_unchoke_slots"] = True
        ses.set_peer_class(self._lan_class, info)
        self.wan_allowed = True
        self.banned: list[str] = []
        """Addresses blocked whatever else allows them (see `_bans`)."""
        self.install()

    def add_host(self, ip: IPAddress) -> None:
        """Count `ip` as LAN from now on (rebuilds the filter only if the set changed)."""
        if self.lan.add_host(ip):
            self.install()

    def set_wan_allowed(self, allowed: bool) -> None:
        """Allow or forbid every connection outside the LAN set.

        libtorrent's IP filter refuses new connections and drops existing ones that it now
        blocks, so a box that loses its site's election stops using the shared uplink at once.
        """
        if allowed != self.wan_allowed:
            self.wan_allowed = allowed
            self.install()

    def install(self) -> None:
        """Build the class filter from the LAN set and hand it to the session."""
        wan = 1 << self._ses.global_peer_class_id
        lan = 1 << self._lan_class
        f = lt.ip_filter()
        f.add_rule(*_ALL_V4, wan)
        f.add_rule(*_ALL_V6, wan)
        for first, last in self.lan.ranges():
            f.add_rule(first, last, lan)
        self._ses.set_peer_class_filter(f)
        access = lt.ip_filter()
        if not self.wan_allowed:
            access.add_rule(*_ALL_V4, _BLOCKED)
            access.add_rule(*_ALL_V6, _BLOCKED)
            for first, last in self.lan.ranges():
                access.add_rule(first, last, 0)
        for ip in self.banned:
            access.add_rule(ip, ip, _BLOCKED)
        self._ses.set_ip_filter(access)
