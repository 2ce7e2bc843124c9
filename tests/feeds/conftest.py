"""Fixtures: an in-memory feed source served for real, and tiny raw-TCP hostile servers."""

from __future__ import annotations

from functools import partial

import pytest
import trio
from feedsim import CHANNEL, Handler, MemorySource, StartRaw, read_head

from p2pdist.feeds import serve_feed


@pytest.fixture
def source() -> MemorySource:
    return MemorySource(
        roots={1: b"root-v1", 2: b"root-v2", 3: b"root-v3"},
        manifests={CHANNEL: b"\x00signed manifest\xff"},
    )


@pytest.fixture
async def feed_url(source: MemorySource, nursery: trio.Nursery) -> str:
    port = await nursery.start(serve_feed, source, "127.0.0.1:0")
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def start_raw(nursery: trio.Nursery) -> StartRaw:
    """Start a raw TCP server on 127.0.0.1 whose handler gets each connection after its head."""

    async def start(handler: Handler) -> str:
        async def connection(stream: trio.SocketStream) -> None:
            try:
                await handler(stream, await read_head(stream))
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            finally:
                await stream.aclose()

        listeners = await nursery.start(partial(trio.serve_tcp, connection, 0, host="127.0.0.1"))
        return f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"

    return start
