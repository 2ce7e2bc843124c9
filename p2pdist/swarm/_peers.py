"""Where each peer sits (a seeder, the LAN, the WAN) and what it delivered.

The swarm learns a peer's place from whoever asks it to dial (`connect_peer` with a source) and
from the LAN set; every payload byte is attributed to one source, so `status` can say how much of
a release came over the site's uplink.
"""

from __future__ import annotations

from p2pdist._libtorrent import lt

from ._classes import IPAddress, LanSet
from ._records import TorrentRecord, parse_ip
from ._snapshot import PeerReading, PeerSource

_NOT_CONNECTED = lt.peer_info.connecting | lt.peer_info.handshake


class PeerBook:
    """Seeder addresses, and the reading of each torrent's peers by source."""

    def __init__(self) -> None:
        self.seeders: set[IPAddress] = set()

    def source_of(self, ip: str, lan: LanSet | None) -> PeerSource:
        """A registered seeder, else a LAN address, else the WAN."""
        addr = parse_ip(ip)
        if addr in self.seeders:
            return PeerSource.SEEDER
        if lan is not None and addr in lan:
            return PeerSource.LAN
        return PeerSource.WAN

    def poll(self, t: TorrentRecord, st: lt.torrent_status, lan: LanSet | None,
             ) -> dict[PeerSource, int]:
        """Fold the peers' payload counters into the ledger; connected peers by source.

        `st` must be read before the peers (see `PayloadLedger.observe`).
        """
        connected = dict.fromkeys(PeerSource, 0)
        readings = []
        for p in t.handle.get_peer_info():
            ip, port = p.ip
            source = self.source_of(ip, lan)
            local = p.local_endpoint()
            readings.append(PeerReading((ip, port), source, p.total_download,
                                        p.payload_down_speed, (str(local[0]), int(local[1]))))
            if not p.flags & _NOT_CONNECTED:
                connected[source] += 1
        t.ledger.observe(st.total_payload_download, readings)
        return connected
