"""The control socket survives every client behaviour (issue 16 item 3), on a real Unix socket:
a client that closes before its answer, garbage, nesting bombs, oversize lines, and a client
that holds its connection open, while other clients still get their answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import trio

from p2pdist.control import MAX_REQUEST, request, serve_control, socket_path


class Slow:
    """A handler whose status answer takes a while (the daemon busy with other work)."""

    def __init__(self) -> None:
        self.done = 0

    async def __call__(self, req: dict[str, Any]) -> dict[str, Any]:
        if req.get("slow"):
            await trio.sleep(0.3)
        self.done += 1
        return {"state": "idle"}


async def _raw(path: Path, data: bytes, *, read: bool = True) -> bytes:
    stream = await trio.open_unix_socket(str(path))
    async with stream:
        await stream.send_all(data)
        if not read:
            return b""
        out = b""
        while b"\n" not in out:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            out += chunk
        return out


async def _ask(data_dir: Path, **args: Any) -> dict[str, Any]:
    return await trio.to_thread.run_sync(lambda: request(data_dir, "status", timeout=5, **args))


async def test_control_socket_survives_hostile_clients(tmp_path: Path) -> None:
    handler = Slow()
    path = socket_path(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_control, path, handler)
        # a client that asks and closes before the (slow) answer: the answer write fails
        for _ in range(3):
            await _raw(path, b'{"cmd": "status", "slow": true}\n', read=False)
        holder = await trio.open_unix_socket(str(path))  # holds its connection open, silent
        await holder.send_all(b'{"cmd": "sta')
        assert b"bad request" in await _raw(path, b"\xff\xfe garbage\n")
        assert b"nested deeper" in await _raw(path, b"[" * 50_000 + b"\n")
        assert b"too large" in await _raw(path, b"x" * (MAX_REQUEST + 10))
        assert b"bad request" in await _raw(path, b"[1, 2]\n")
        with trio.fail_after(20):
            while handler.done < 3:
                await trio.sleep(0.05)
        assert (await _ask(tmp_path))["state"] == "idle"
        await holder.aclose()
        nursery.cancel_scope.cancel()
