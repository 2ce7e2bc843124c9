"""The local control socket: how the technician's commands talk to a running box daemon.

A Unix socket at <data>/state/control.sock, created mode 0600 so only the box's user can open
it. One JSON object per line each way: ``{"cmd": "status"}`` -> ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``. Requests are size-capped and every connection is
time-limited, so a stuck client cannot hold the daemon. Every client behaviour (closing before
the answer, garbage, nesting bombs, holding the connection open) ends only that connection,
never the daemon; each connection is its own task, so a slow one blocks no other answer.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import trio

from keys import P2PDistError

from .i18n import _

MAX_REQUEST = 64 * 1024
MAX_NESTING = 32
"""JSON nesting allowed in a request (requests are flat; this keeps the parser's recursion low)."""
MAX_RESPONSE = 16 * 1024 * 1024
CONNECTION_TIMEOUT_S = 30.0
SOCKET_NAME = "control.sock"

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class DaemonNotRunningError(P2PDistError):
    """Nothing answers on the control socket: the box daemon is not running."""


def socket_path(data_dir: Path) -> Path:
    return data_dir / "state" / SOCKET_NAME


async def serve_control(path: Path, handler: Handler, *,
                        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Listen on `path` until cancelled; each request line goes to `handler`.

    A stale socket file from a killed daemon is replaced; a live one (another daemon on the same
    data directory) is an error.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        if _answers(path):
            raise P2PDistError(_("another box daemon is already running on {path}").format(
                path=path))
        path.unlink()
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        await sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(16)
    listener = trio.SocketListener(sock)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, partial(_serve_one, handler=handler),
                                [listener])
            task_status.started()
    finally:
        path.unlink(missing_ok=True)


async def _serve_one(stream: trio.abc.Stream, handler: Handler) -> None:
    """Answer one connection; a client that goes away early only ends its own connection."""
    try:
        async with stream:
            with trio.move_on_after(CONNECTION_TIMEOUT_S):
                await _answer(stream, handler)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        return  # the client closed or reset before the answer: nothing to tell it


async def _answer(stream: trio.abc.Stream, handler: Handler) -> None:
    buf = b""
    while b"\n" not in buf:
        chunk = await stream.receive_some(4096)
        if not chunk:
            return
        buf += chunk
        if len(buf) > MAX_REQUEST:
            await _send(stream, {"ok": False, "error": _(
                "request too large (limit {limit} bytes)").format(limit=MAX_REQUEST)})
            return
    req = parse_request(buf.split(b"\n", 1)[0])
    if isinstance(req, str):
        await _send(stream, {"ok": False, "error": req})
        return
    try:
        resp = {"ok": True, **await handler(req)}
    except P2PDistError as e:
        resp = {"ok": False, "error": str(e), "kind": type(e).__name__}
    await _send(stream, resp)


def parse_request(line: bytes) -> dict[str, Any] | str:
    """The request of one line, or the reason it is refused (pure; the fuzz target's entry)."""
    depth = max_depth = 0
    for c in line:  # bound nesting before the recursive parser sees it
        if c in b"[{":
            depth += 1
            max_depth = max(max_depth, depth)
        elif c in b"]}":
            depth -= 1
    if max_depth > MAX_NESTING:
        return _("bad request: nested deeper than {n}").format(n=MAX_NESTING)
    try:
        req = json.loads(line)
    except (ValueError, RecursionError) as e:
        return _("bad request: {err}").format(err=e)
    if not isinstance(req, dict) or not isinstance(req.get("cmd"), str):
        return _("bad request: expected {{\"cmd\": ...}}").format()
    return req


async def _send(stream: trio.abc.Stream, obj: dict[str, Any]) -> None:
    await stream.send_all(json.dumps(obj, ensure_ascii=False).encode() + b"\n")


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
        return True


def request(data_dir: Path, cmd: str, timeout: float = 10.0, **args: Any) -> dict[str, Any]:
    """Send one command to the daemon of `data_dir` and return its answer (blocking).

    Raises:
        DaemonNotRunningError: no daemon answers.
        P2PDistError: the daemon answered with an error.
    """
    path = socket_path(data_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise DaemonNotRunningError(
                _("the box daemon is not running for {dir} (no answer on {path}); start it "
                  "with `p2pdist box run --data {dir}`").format(dir=data_dir, path=path)) from e
        except PermissionError as e:
            raise DaemonNotRunningError(
                _("cannot open {path}: permission denied; run as the box's user").format(
                    path=path)) from e
        s.sendall(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
        buf = b""
        while b"\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            if len(buf) > MAX_RESPONSE:
                raise P2PDistError(_("the daemon's answer is too large"))
    try:
        resp = json.loads(buf.split(b"\n", 1)[0])
    except ValueError as e:
        raise P2PDistError(_("the daemon's answer is not JSON: {err}").format(err=e)) from e
    if not isinstance(resp, dict):
        raise P2PDistError(_("the daemon's answer is not a JSON object"))
    if not resp.get("ok"):
        raise P2PDistError(str(resp.get("error", "unknown error")))
    return resp
