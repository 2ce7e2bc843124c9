"""What a seeder serves on its feed: the same API as a box, with role "seeder".

Boxes and lower seeders poll it exactly as they poll a neighbour: trust roots, the newest
manifest per channel, and the check-in intake. The newest release offered is the active one or,
once its torrent is in the swarm, the one the seeder is fetching from upstream: downstream boxes
start on it at once and take each piece as the seeder gets it (BitTorrent serves a partial
torrent), instead of waiting for the seeder's whole fetch. For a 40 GB release on a 20 Mbit/s
origin link that wait is hours; cut through, a province's update takes about as long as the
slower of its two links, not their sum. A fetch that fails is offered no more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from p2pdist.boxstate import BoxState
from p2pdist.store import Store
from p2pdist.wakeup import Wakeup

from ._intake import CheckinIntake


class SeederFeedSource:
    """`p2pdist.feeds.FeedSource` for a seeder."""

    def __init__(self, node_id: str, store: Store, state: BoxState, channels: tuple[str, ...],
                 swarm_port: Callable[[], int], intake: CheckinIntake,
                 fetching: Callable[[], Mapping[str, int]], changes: Wakeup) -> None:
        self.node_id = node_id
        self.changes = changes  # set by the service when what it offers changes
        self.fetching = fetching  # channel -> version being fetched, its torrent in the swarm
        self.store = store
        self.state = state
        self.channels = channels
        self.swarm_port = swarm_port
        self.intake = intake

    def offered(self, channel: str) -> int | None:
        """The version offered for `channel`: the newer of the active and the fetching one."""
        versions = [v for v in (self.store.active_version(channel),
                                self.fetching().get(channel)) if v is not None]
        return max(versions) if versions else None

    def info(self) -> Mapping[str, Any]:
        held = {c: v for c in self.channels if (v := self.offered(c)) is not None}
        roots = self.state.root_files()
        return {"api": 1, "node_id": self.node_id, "role": "seeder", "channels": held,
                "swarm_port": self.swarm_port(), "root_version": roots[-1][0] if roots else 0}

    async def changed(self, timeout_s: float) -> None:
        await self.changes.wait(timeout_s)

    def root(self, version: int) -> bytes | None:
        for v, path in self.state.root_files():
            if v == version:
                return path.read_bytes()
        return None

    def manifest(self, channel: str) -> bytes | None:
        if channel not in self.channels:
            return None
        v = self.offered(channel)
        return self.store.manifest_envelope(channel, v) if v is not None else None

    def checkin(self, body: bytes, peer: str) -> tuple[int, Mapping[str, Any]] | None:
        return self.intake.take(body, peer)
