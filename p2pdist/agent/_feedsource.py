"""What a box serves on its feed: its trust roots and the newest manifest it holds per channel.

Neighbours update from this exactly as from a seeder. A manifest is served as soon as the box
recorded it (before its download finished) so neighbours can start trading pieces at once; what
they get is verified by them anyway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..boxstate import BoxState
from ..store import Store
from ..wakeup import Wakeup


class BoxFeedSource:
    """`p2pdist.feeds.FeedSource` for a box."""

    def __init__(self, node_id: str, store: Store, state: BoxState, channels: tuple[str, ...],
                 swarm_port: int, changes: Wakeup) -> None:
        self.node_id = node_id
        self.changes = changes  # set by the agent when it records a release
        self.store = store
        self.state = state
        self.channels = channels
        self.swarm_port = swarm_port

    def latest(self, channel: str) -> int | None:
        versions = self.store.releases(channel)
        return max(versions) if versions else None

    def info(self) -> Mapping[str, Any]:
        chans = {c: v for c in self.channels if (v := self.latest(c)) is not None}
        roots = self.state.root_files()
        return {"api": 1, "node_id": self.node_id, "role": "box", "channels": chans,
                "swarm_port": self.swarm_port, "root_version": roots[-1][0] if roots else 0}

    async def changed(self, timeout_s: float) -> None:
        await self.changes.wait(timeout_s)

    def root(self, version: int) -> bytes | None:
        for v, path in self.state.root_files():
            if v == version:
                return path.read_bytes()
        return None

    def manifest(self, channel: str) -> bytes | None:
        v = self.latest(channel)
        return self.store.manifest_envelope(channel, v) if v is not None else None

    def checkin(self, body: bytes, peer: str) -> tuple[int, Mapping[str, Any]] | None:
        return None
