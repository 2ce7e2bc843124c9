"""What a seeder serves on its feed: the same API as a box, with role "seeder".

Boxes and lower seeders poll it exactly as they poll a neighbour: trust roots, the newest
manifest per channel, and the check-in intake. Only releases the seeder holds completely
(active) are offered, so whoever is told a version here can get every piece of it here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from p2pdist.boxstate import BoxState
from p2pdist.store import Store

from ._intake import CheckinIntake


class SeederFeedSource:
    """`p2pdist.feeds.FeedSource` for a seeder."""

    def __init__(self, node_id: str, store: Store, state: BoxState, channels: tuple[str, ...],
                 swarm_port: Callable[[], int], intake: CheckinIntake) -> None:
        self.node_id = node_id
        self.store = store
        self.state = state
        self.channels = channels
        self.swarm_port = swarm_port
        self.intake = intake

    def info(self) -> Mapping[str, Any]:
        held = {c: v for c in self.channels if (v := self.store.active_version(c)) is not None}
        roots = self.state.root_files()
        return {"api": 1, "node_id": self.node_id, "role": "seeder", "channels": held,
                "swarm_port": self.swarm_port(), "root_version": roots[-1][0] if roots else 0}

    def root(self, version: int) -> bytes | None:
        for v, path in self.state.root_files():
            if v == version:
                return path.read_bytes()
        return None

    def manifest(self, channel: str) -> bytes | None:
        if channel not in self.channels:
            return None
        v = self.store.active_version(channel)
        return self.store.manifest_envelope(channel, v) if v is not None else None

    def checkin(self, body: bytes, peer: str) -> tuple[int, Mapping[str, Any]] | None:
        return self.intake.take(body, peer)
