"""Prometheus metrics of one seeder, on their own port (`GET /metrics`).

Each service has its own registry (several seeders can run in one test process). The swarm is
sampled from the event loop every few seconds into plain prometheus objects, so the exporter's
HTTP thread only ever reads the registry and never touches libtorrent or trio.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping

import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from p2pdist.checkin import REASONS
from p2pdist.errors import ConfigError
from p2pdist.i18n import _
from p2pdist.swarm import PeerSource, TorrentSnapshot

log = logging.getLogger(__name__)

_PREFIX = "p2pdist_seeder"


class SeederMetrics:
    """Every metric the seeder exports."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.peers = Gauge(f"{_PREFIX}_peers", "Connected peers by source (seeder, lan, wan).",
                           ["source"], registry=r)
        self.received = Counter(f"{_PREFIX}_payload_received_bytes",
                                "Payload bytes downloaded, by the source of the peer.",
                                ["source"], registry=r)
        self.sent = Counter(f"{_PREFIX}_payload_sent_bytes",
                            "Payload bytes uploaded to all peers.", registry=r)
        self.upload_rate = Gauge(f"{_PREFIX}_upload_rate_bytes",
                                 "Payload bytes per second uploaded now.", registry=r)
        self.download_rate = Gauge(f"{_PREFIX}_download_rate_bytes",
                                   "Payload bytes per second downloaded now.", registry=r)
        self.releases = Gauge(f"{_PREFIX}_releases_seeded", "Releases being seeded.",
                              registry=r)
        self.release_version = Gauge(f"{_PREFIX}_release_version",
                                     "The version seeded per channel.", ["channel"], registry=r)
        self.checkins = Counter(f"{_PREFIX}_checkins",
                                "Check-ins taken: accepted (new) or duplicate (a re-send).",
                                ["result"], registry=r)
        self.rejected = Counter(f"{_PREFIX}_checkins_rejected", "Check-ins refused, by reason.",
                                ["reason"], registry=r)
        self.boxes_seen = Gauge(f"{_PREFIX}_boxes_seen", "Boxes that ever checked in.",
                                registry=r)
        self.forward_pending = Gauge(f"{_PREFIX}_forward_pending",
                                     "Accepted check-ins not yet passed to the parent seeder.",
                                     registry=r)
        self.upstream_errors = Counter(f"{_PREFIX}_upstream_errors",
                                       "Failed polls, verifications or fetches from upstream.",
                                       registry=r)
        for source in PeerSource:
            self.peers.labels(str(source))
            self.received.labels(str(source))
        for result in ("accepted", "duplicate"):
            self.checkins.labels(result)
        for reason in REASONS:
            self.rejected.labels(reason)
        self._last: dict[str, TorrentSnapshot] = {}

    def observe(self, snapshots: Mapping[str, TorrentSnapshot]) -> None:
        """Fold one sample of every torrent in the swarm (by key) into the metrics."""
        peers = dict.fromkeys(PeerSource, 0)
        for key, snap in snapshots.items():
            before = self._last.get(key)
            for source in PeerSource:
                peers[source] += snap.peers.get(source, 0)
                self.received.labels(str(source)).inc(_growth(
                    snap.received.get(source, 0), before.received.get(source, 0) if before else 0))
            self.sent.inc(_growth(snap.total_payload_upload,
                                  before.total_payload_upload if before else 0))
        for source, n in peers.items():
            self.peers.labels(str(source)).set(n)
        self.upload_rate.set(sum(s.upload_rate for s in snapshots.values()))
        self.download_rate.set(sum(s.download_rate for s in snapshots.values()))
        self._last = dict(snapshots)


def _growth(now: int, before: int) -> int:
    """Bytes added since the last sample; a smaller total means the torrent was added again
    (its counters restarted from zero)."""
    return now - before if now >= before else now


async def serve_metrics(registry: CollectorRegistry, bind: str, *,
                        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve `registry` at ``http://BIND/metrics`` until cancelled; report the bound port.

    prometheus_client's own server runs in a thread of its own; it only reads the registry.

    Raises:
        ConfigError: `bind` is not IP:PORT or cannot be bound.
    """
    host, _sep, port_text = bind.rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
        port = int(port_text)
        server, _thread = start_http_server(port, host, registry)
    except (ValueError, OSError) as e:
        raise ConfigError(_("cannot listen on {bind} ({err})").format(bind=bind, err=e)) from e
    try:
        log.info(_("metrics serving on port {server_port}").format(server_port=server.server_port))
        task_status.started(server.server_port)
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(server.shutdown)
        server.server_close()
