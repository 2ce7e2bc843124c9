"""The libtorrent settings this project runs with, and the session factory.

libtorrent's defaults reach out to the internet (public DHT routers, UPnP, NAT-PMP, LSD) and
are tuned for desktops; `session_settings` starts from safe values and takes every address from
`SwarmConfig`. The numbers are the measured ones in shared/NOTES-libtorrent.md and
NOTES-testbed.md.
"""

from __future__ import annotations

import os

from p2pdist._libtorrent import lt
from p2pdist.allocator import tune_for_daemon

from ._config import SwarmConfig

ALERT_MASK = (
    lt.alert_category.error
    | lt.alert_category.status
    | lt.alert_category.storage
    | lt.alert_category.peer  # peer_ban_alert
    | lt.alert_category.connect  # peer_disconnected_alert, for the payload ledger
    | lt.alert_category.performance_warning
)

# A dial made before the other side listens would otherwise wait out the 60 s default.
MIN_RECONNECT_TIME_S = 1
PEER_CONNECT_TIMEOUT_S = 3
TICK_INTERVAL_MS = 100


def session_settings(
    config: SwarmConfig, *, upload_limit: int, download_limit: int
) -> lt.settings_pack:
    """The settings pack for `config`; the WAN caps (bytes/s, 0 = unlimited) as given."""
    nodes = ",".join(_host_port(h, p) for h, p in config.dht_bootstrap_nodes)
    settings: lt.settings_pack = {
        "listen_interfaces": config.listen_interfaces,
        "outgoing_interfaces": config.effective_outgoing_interfaces(),
        "enable_dht": bool(nodes),
        "dht_bootstrap_nodes": nodes,
        "enable_lsd": config.enable_lsd,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": config.enable_utp,
        "enable_outgoing_utp": config.enable_utp,
        "alert_mask": ALERT_MASK,
        "max_queued_disk_bytes": config.max_queued_disk_bytes,
        # Memory for small boxes: bounded per-peer buffers and disk threads (see SwarmConfig).
        "max_peer_recv_buffer_size": 512 * 1024,
        "send_buffer_watermark": 256 * 1024,
        "checking_mem_usage": 256,
        "aio_threads": 2,
        # Write received blocks with pwrite rather than through a shared mapping of the files:
        # mapped dirty pages count in the process's resident set (a box downloading from a LAN
        # peer peaked at 166 MB RSS with mmap writes), and the page cache holds them anyway.
        "disk_write_mode": lt.mmap_write_mode_t.always_pwrite,
        "hashing_threads": len(os.sched_getaffinity(0)),
        "min_reconnect_time": MIN_RECONNECT_TIME_S,
        "peer_connect_timeout": PEER_CONNECT_TIMEOUT_S,
        # Rate-limit quota is handed out every tick: 100 ms instead of 500 ms makes capped WAN
        # links see small bursts rather than half a second of traffic at once.
        "tick_interval": TICK_INTERVAL_MS,
        # Let the peer classes decide who is limited, not libtorrent's idea of "local".
        "ignore_limits_on_local_network": False,
        "connections_limit": config.connections_limit,
        "allow_multiple_connections_per_ip": config.allow_multiple_connections_per_ip,
        "upload_rate_limit": upload_limit,
        "download_rate_limit": download_limit,
    }
    if nodes:
        # A private DHT: every node may be on one /24 or in private space, which the public-
        # internet defaults treat as suspicious and drop from routing tables.
        settings["dht_restrict_routing_ips"] = False
        settings["dht_restrict_search_ips"] = False
        settings["dht_ignore_dark_internet"] = False
        settings["dht_enforce_node_id"] = False
        settings["dht_prefer_verified_node_ids"] = False
    return settings


def open_session(config: SwarmConfig, *, upload_limit: int, download_limit: int) -> lt.session:
    """A session with the default plugins (ut_metadata, ut_pex and smart_ban, which bans the
    peer whose blocks made a piece fail) and `session_settings`."""
    settings = session_settings(config, upload_limit=upload_limit, download_limit=download_limit)
    tune_for_daemon()  # before libtorrent's threads allocate: see p2pdist.allocator
    ses = lt.session(settings, lt.session_flags_t.add_default_plugins)
    for host, port in config.dht_bootstrap_nodes:
        ses.add_dht_node((host, port))
    return ses


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
