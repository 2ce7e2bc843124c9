"""What the swarm reports about one torrent, and the per-source byte ledger behind it (pure).

libtorrent counts payload per connection and forgets it when the peer disconnects. The benchmark
and the rollout report need "how much came from the LAN, the WAN, the seeders" over the whole
download, so `PayloadLedger` folds per-peer counters into per-source totals, one reading at a
time, and uses the torrent's own total to account for peers that left between readings.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class PeerSource(enum.StrEnum):
    """Where a peer sits, for attribution: a LAN neighbour, a WAN peer, or a seeder."""

    LAN = "lan"
    WAN = "wan"
    SEEDER = "seeder"


class TorrentState(enum.StrEnum):
    """A torrent's state, coarser than libtorrent's."""

    CHECKING = "checking"
    DOWNLOADING = "downloading"
    SEEDING = "seeding"  # every wanted byte is here (also for a partial selection)
    PAUSED = "paused"
    ERROR = "error"


@dataclass(frozen=True)
class TorrentSnapshot:
    """One torrent at one moment. Byte counts are payload (no protocol overhead).

    Attributes:
        key: the caller's name for the torrent.
        state: see `TorrentState`.
        bytes_done: wanted bytes verified on disk.
        bytes_wanted: bytes of the wanted files (all files unless a selection was given).
        download_rate: payload bytes per second received now.
        upload_rate: payload bytes per second sent now.
        peers: connected peers by source.
        received: payload bytes received from each source since this process added the torrent.
        total_payload_download: payload received since added (this process).
        total_payload_upload: payload sent since added (this process).
        total_failed_bytes: bytes discarded because their piece failed its hash check.
        hash_failures: pieces that failed their hash check.
        peer_bans: peers banned for sending bad data.
        file_checks: times the files on disk were hashed because resume data was missing,
            invalid or did not match the files.
        dial_failures: dials to a peer that never connected (refused, unreachable, timed out):
            a source that is down shows here while the box keeps trying it.
        error: what went wrong, for a technician; None when healthy.
    """

    key: str
    state: TorrentState
    bytes_done: int
    bytes_wanted: int
    download_rate: int
    upload_rate: int
    peers: Mapping[PeerSource, int]
    received: Mapping[PeerSource, int]
    total_payload_download: int
    total_payload_upload: int
    total_failed_bytes: int
    hash_failures: int
    peer_bans: int
    file_checks: int
    dial_failures: int
    error: str | None


Endpoint = tuple[str, int]


@dataclass(frozen=True)
class PeerReading:
    """One peer connection in one reading: payload received on this connection so far.

    `local` is this side's end of the TCP connection: with `endpoint` it names one connection,
    so two connections to one peer (or a reconnect from the same address) never share a count.
    """

    endpoint: Endpoint
    source: PeerSource
    total: int
    rate: int
    local: Endpoint = ("", 0)

    @property
    def connection(self) -> tuple[Endpoint, Endpoint]:
        return (self.endpoint, self.local)


class PayloadLedger:
    """Per-source payload totals from successive readings of the per-connection counters.

    Each byte is counted once: a connection's counter only grows, so each reading adds its
    growth since the connection's previous reading; a connection seen for the first time adds
    its whole counter. Bytes a peer sent between the last reading and its disconnect show up
    only in the torrent's total; that remainder goes to the peers that left, split by their
    last seen rates. The sum over sources never exceeds the torrent's own total (read before
    the peers), so the ledger agrees with libtorrent's count and with the sender's.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[Endpoint, Endpoint], PeerReading] = {}
        self._gone: list[PeerReading] = []
        self._received = dict.fromkeys(PeerSource, 0)

    def settled(self) -> bool:
        """No connection is being followed and nothing waits to be attributed: a reading of a
        torrent that receives nothing (it is complete) would add nothing."""
        return not self._last and not self._gone

    def left(self, endpoint: Endpoint, source: PeerSource) -> None:
        """A peer disconnected (possibly before any reading saw it)."""
        gone = [c for c, p in self._last.items() if p.endpoint == endpoint]
        for c in gone:
            self._gone.append(self._last.pop(c))
        if not gone:
            self._gone.append(PeerReading(endpoint, source, 0, 0))

    def observe(self, torrent_total: int, peers: Iterable[PeerReading]) -> None:
        """Fold one reading.

        Args:
            torrent_total: the torrent's payload received, read *before* the peers, so that it
                never includes bytes the peer counters do not yet show.
            peers: every peer connection now.
        """
        current: dict[tuple[Endpoint, Endpoint], PeerReading] = {}
        for p in peers:
            seen = current.get(p.connection)
            # libtorrent may list a connection twice while it is set up: keep the larger count.
            if seen is None or p.total > seen.total:
                current[p.connection] = p
        counted = sum(self._received.values())
        for c, p in current.items():
            previous = self._last.get(c)
            before = previous.total if previous is not None else 0
            if p.total < before:
                before = 0  # a smaller counter is a new connection on the same addresses
            # Never count past the torrent's own total: what a peer counter shows beyond it
            # is counted by the next reading.
            growth = min(p.total - before, max(0, torrent_total - counted))
            if before + growth < p.total:
                current[c] = PeerReading(p.endpoint, p.source, before + growth, p.rate, p.local)
            self._received[p.source] += growth
            counted += growth
        departed = [p for c, p in self._last.items() if c not in current]
        departed.extend(self._gone)
        self._last = current
        remainder = torrent_total - counted
        if departed and remainder > 0:
            self._attribute(remainder, departed)
            self._gone.clear()
        if remainder <= 0:
            self._gone.clear()

    def _attribute(self, amount: int, departed: list[PeerReading]) -> None:
        weights = [max(p.rate, 0) for p in departed]
        total_weight = sum(weights)
        if total_weight == 0:
            weights, total_weight = [1] * len(departed), len(departed)
        shares = [amount * w // total_weight for w in weights]
        shares[weights.index(max(weights))] += amount - sum(shares)
        for p, share in zip(departed, shares, strict=True):
            self._received[p.source] += share

    @property
    def received(self) -> dict[PeerSource, int]:
        """A copy of the totals by source."""
        return dict(self._received)
