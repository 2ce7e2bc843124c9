"""The swarm's configuration: every address it uses and every limit, validated up front."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from p2pdist.errors import ConfigError
from p2pdist.i18n import _

from ._bans import DEFAULT_BAN_S
from ._classes import IPNetwork
from ._schedule import WanSchedule

MiB = 1 << 20


@dataclass(frozen=True)
class SwarmConfig:
    """How the box's libtorrent session talks to the world.

    Nothing reaches outside unless asked: no public DHT routers, no UPnP or NAT-PMP, no local
    service discovery unless `enable_lsd`.

    Attributes:
        listen_interfaces: libtorrent syntax, e.g. "0.0.0.0:6881" or "127.0.0.1:0" (port 0 picks
            a free port; read `Swarm.listen_port`).
        resume_dir: where `<key>.resume` files live.
        outgoing_interfaces: address(es) outgoing connections come from; None means the listen
            addresses, so peers see one address per box (bans and LAN classes are per address).
        lan_subnets: CIDR blocks whose peers are LAN (unlimited); everything else is WAN.
        wan_schedule: caps for WAN peers by time of day (default: unlimited).
        enable_lsd: BEP 14 local service discovery (multicast on the LAN).
        dht_bootstrap_nodes: (host, port) of DHT nodes, normally the seeders. Empty turns the
            DHT off; otherwise a private DHT is joined with the public-internet sanity limits
            relaxed (all nodes may share a /24 or sit in private ranges).
        max_queued_disk_bytes: bytes waiting for the disk; small keeps small boxes' memory
            low (4 MiB measured at 42-45 MB peak RSS, same speed as 100 MiB).
        resume_interval_s: longest time between checkpoints of a changed torrent.
        resume_budget_fraction: a torrent also checkpoints each time this fraction of its
            wanted bytes was verified since the last one (what a kill can lose at most).
        connections_limit: peer connections for the whole session.
        connections_per_torrent: peer connections per torrent.
        enable_utp: uTP as well as TCP. uTP backs off when the line is busy, which suits a
            station's shared uplink, but libtorrent's uTP is CPU-bound: a 200 MB fetch on
            loopback took 24.7 s with uTP and 1.9 s with TCP only here. Off by default; the WAN
            schedule caps protect a shared uplink instead.
        allow_multiple_connections_per_ip: boxes behind one NAT share an address as the seeder
            sees them; keep True so they can all connect.
        shutdown_timeout_s: bound on saving resume data when the swarm stops.
        ban_s: how long an address whose peer sent data failing a hash check stays blocked,
            on every port.
    """

    listen_interfaces: str
    resume_dir: Path
    outgoing_interfaces: str | None = None
    lan_subnets: tuple[str, ...] = ()
    wan_schedule: WanSchedule = field(default_factory=WanSchedule)
    enable_lsd: bool = False
    dht_bootstrap_nodes: tuple[tuple[str, int], ...] = ()
    max_queued_disk_bytes: int = 4 * MiB
    resume_interval_s: float = 30.0
    resume_budget_fraction: float = 0.002
    connections_limit: int = 200
    connections_per_torrent: int = 100
    enable_utp: bool = False
    allow_multiple_connections_per_ip: bool = True
    shutdown_timeout_s: float = 10.0
    ban_s: float = DEFAULT_BAN_S

    def __post_init__(self) -> None:
        self.lan_networks()  # fail at construction, not when the swarm starts
        if not self.listen_interfaces.strip():
            raise ConfigError(_("listen_interfaces is empty; give e.g. '0.0.0.0:6881'"))
        for name in ("max_queued_disk_bytes", "connections_limit", "connections_per_torrent"):
            if getattr(self, name) <= 0:
                raise ConfigError(_("{name} must be positive").format(name=name))
        if not 0 < self.resume_budget_fraction <= 1:
            raise ConfigError(_("resume_budget_fraction must be in (0, 1]"))
        if self.ban_s <= 0:
            raise ConfigError(_("ban_s must be positive"))
        if self.resume_interval_s <= 0 or self.shutdown_timeout_s <= 0:
            raise ConfigError(_("resume_interval_s and shutdown_timeout_s must be positive"))

    def lan_networks(self) -> list[IPNetwork]:
        """`lan_subnets` parsed.

        Raises:
            ConfigError: a subnet is not CIDR notation.
        """
        out: list[IPNetwork] = []
        for text in self.lan_subnets:
            try:
                out.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError as e:
                raise ConfigError(
                    _("lan_subnets: {text!r} is not a subnet like 192.168.1.0/24 ({e})").format(
                        text=text, e=e
                    )
                ) from e
        return out

    def effective_outgoing_interfaces(self) -> str:
        """`outgoing_interfaces`, or the specific addresses of `listen_interfaces`."""
        if self.outgoing_interfaces is not None:
            return self.outgoing_interfaces
        hosts = []
        for item in self.listen_interfaces.split(","):
            host = item.strip().rpartition(":")[0].strip("[]")
            try:
                if not ipaddress.ip_address(host).is_unspecified:
                    hosts.append(host)
            except ValueError:
                hosts.append(host)  # a device name such as "eth0" works here too
        return ",".join(hosts)
