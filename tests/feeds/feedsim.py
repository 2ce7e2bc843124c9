"""The feed tests' simulator: an in-memory FeedSource (tuf's repository simulator) and raw HTTP.

The real server and client run over real HTTP on 127.0.0.1; only the data behind them lives here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import trio

from p2pdist.feeds import FeedInfo
from p2pdist.wakeup import Wakeup

Handler = Callable[[trio.SocketStream, bytes], Awaitable[None]]
StartRaw = Callable[[Handler], Awaitable[str]]

CHANNEL = "national/winter-2027"


@dataclass
class MemorySource:
    """A FeedSource over dicts; records check-ins, or takes none when `checkin_answer` is None."""

    roots: dict[int, bytes] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)
    checkin_answer: tuple[int, Mapping[str, Any]] | None = (200, {"ok": True})
    checkins: list[tuple[bytes, str]] = field(default_factory=list)
    fail_info: int = 0
    version: int = 7
    changes: Wakeup = field(default_factory=Wakeup)

    def offer(self, version: int) -> None:
        """Offer another version of every channel, answering held /info requests."""
        self.version = version
        self.changes.set()

    async def changed(self, timeout_s: float) -> None:
        await self.changes.wait(timeout_s)

    def info(self) -> Mapping[str, Any]:
        if self.fail_info:
            self.fail_info -= 1
            raise RuntimeError("source broke")
        return FeedInfo(
            node_id="box-湖南-01",
            role="box",
            channels={c: self.version for c in self.manifests},
            swarm_port=6881,
            root_version=max(self.roots, default=1),
        ).to_json()

    def root(self, version: int) -> bytes | None:
        return self.roots.get(version)

    def manifest(self, channel: str) -> bytes | None:
        return self.manifests.get(channel)

    def checkin(self, body: bytes, peer: str) -> tuple[int, Mapping[str, Any]] | None:
        if self.checkin_answer is None:
            return None
        self.checkins.append((body, peer))
        return self.checkin_answer


async def read_head(stream: trio.SocketStream) -> bytes:
    """The request line and headers (hostile servers never read bodies)."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = await stream.receive_some()
        if not chunk:
            break
        data += chunk
    return data


async def raw_request(url: str, data: bytes, read_limit: int = 65536) -> tuple[int, bytes]:
    """Send raw bytes to an HTTP server and return the status and the body of its answer."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        await stream.send_all(data)
        answer = b""
        while len(answer) < read_limit:
            try:
                chunk = await stream.receive_some()
            except trio.BrokenResourceError:
                break
            if not chunk:
                break
            answer += chunk
            head, sep, body = answer.partition(b"\r\n\r\n")
            if sep and b"content-length: " + str(len(body)).encode() in head.lower():
                break
    status_line = answer.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), answer.partition(b"\r\n\r\n")[2]
