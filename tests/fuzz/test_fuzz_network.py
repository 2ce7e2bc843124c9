"""Fuzz targets: feed answers (over real HTTP), control-socket requests (over the real Unix
socket of `serve_control`), and DNS-SD TXT records as zeroconf hands them to us.

Only typed errors escape, no call grows memory past the bound, and the control socket still
answers a good request after every hostile batch.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from bombs import json_bombs
from hypothesis import given
from hypothesis import strategies as st

from keys import P2PDistError
from p2pdist.control import request, serve_control, socket_path
from p2pdist.discovery import SERVICE_TYPE, Advert, BadAdvertError
from p2pdist.feeds import FeedClient
from tests.fuzz_budget import BATCH, Meter, drive
from tests.fuzz_strategies import msgpack_objects, mutations

pytestmark = pytest.mark.fuzz

GOOD_INFO = json.dumps({"api": 1, "node_id": "ab" * 32, "role": "box", "channels": {"a/b": 3},
                        "swarm_port": 6881, "root_version": 1}).encode()


class _Answer(socketserver.BaseRequestHandler):
    """Reads the request head, then sends whatever raw response the test put in `answer`."""

    answer = b""

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            self.request.settimeout(2)
            self.request.recv(65536)
            self.request.sendall(type(self).answer)


@pytest.fixture(scope="module")
def feed_server() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Answer)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _json_of(obj: Any) -> bytes:
    try:
        return json.dumps(obj).encode()
    except (TypeError, ValueError):
        return b"null"


bodies = st.one_of(st.binary(max_size=512), mutations(GOOD_INFO), json_bombs(16),
                   msgpack_objects().map(_json_of))


@st.composite
def responses(draw: st.DrawFn) -> bytes:
    body = draw(bodies)
    status = draw(st.sampled_from([200, 200, 200, 204, 301, 404, 429, 500, 999]))
    length = draw(st.sampled_from(["right", "none", "short", "long", "huge", "garbage"]))
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nConnection: close\r\n"
    head += {"right": f"Content-Length: {len(body)}\r\n", "none": "",
             "short": f"Content-Length: {max(0, len(body) - 1)}\r\n",
             "long": f"Content-Length: {len(body) + 10}\r\n",
             "huge": "Content-Length: 99999999999\r\n",
             "garbage": "Content-Length: x1\r\n"}[length]
    return head.encode() + b"\r\n" + body


async def _ask_all(url: str) -> None:
    async with FeedClient(url, timeout_s=2, retries=0) as client:
        for call in (client.info, lambda: client.manifest("a/b"), lambda: client.root(1),
                     lambda: client.prove("ab" * 32)):
            with contextlib.suppress(P2PDistError):
                await call()


def test_fuzz_feed_answers(feed_server: str) -> None:
    meter = Meter()

    @BATCH
    @given(responses())
    def batch(raw: bytes) -> None:
        _Answer.answer = raw
        with meter.measure(raw[:60]):
            trio.run(_ask_all, feed_server)

    drive("feed answers", batch, meter)


class _ControlDaemon:
    """`serve_control` in its own thread and trio loop, as in the daemon."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.started = threading.Event()
        self.thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)
        self.stop = threading.Event()
        self.thread.start()
        assert self.started.wait(10)

    async def _main(self) -> None:
        async def handler(req: dict[str, Any]) -> dict[str, Any]:
            if req.get("cmd") != "status":
                raise P2PDistError("unknown command")
            return {"state": "idle"}

        async with trio.open_nursery() as nursery:
            await nursery.start(serve_control, socket_path(self.data), handler)
            self.started.set()
            while not self.stop.is_set():
                await trio.sleep(0.05)
            nursery.cancel_scope.cancel()


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("control")
    daemon = _ControlDaemon(data)
    yield data
    daemon.stop.set()
    daemon.thread.join(10)


requests_st = st.one_of(st.binary(max_size=2048), json_bombs(17),
                        msgpack_objects().map(_json_of),
                        mutations(b'{"cmd": "status"}\n'))


def test_fuzz_control_requests(control: Path) -> None:
    meter = Meter()
    path = str(socket_path(control))

    @BATCH
    @given(requests_st, st.sampled_from(["read", "close-early", "half"]))
    def batch(line: bytes, how: str) -> None:
        with meter.measure(line[:60]), socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(path)
            with contextlib.suppress(OSError):
                s.sendall(line if how != "half" else line[: len(line) // 2])
                if how == "read":
                    s.sendall(b"\n")
                    s.recv(65536)
        assert request(control, "status", timeout=10)["state"] == "idle"

    drive("control requests", batch, meter)


txt_values = st.one_of(st.none(), st.binary(max_size=300),
                       st.sampled_from([b"1", b"box", b"seeder", b"0", b"65535", b"a/b:3"]))
known_keys = st.sampled_from([b"v", b"id", b"r", b"s", b"sp", b"ch", b"m"])


@st.composite
def txt_records(draw: st.DrawFn) -> tuple[str, list[str], int | None, dict[bytes, bytes | None]]:
    node_id = draw(st.one_of(st.just(secrets.token_hex(32)), st.text(max_size=70)))
    txt = draw(st.dictionaries(st.one_of(known_keys, st.binary(max_size=20)), txt_values,
                               max_size=40))
    if draw(st.booleans()):
        txt.update({b"v": b"1", b"id": node_id.encode(errors="replace")})
    name = draw(st.sampled_from([f"p2pdist-{node_id[:16]}.{SERVICE_TYPE}", "x", ""]))
    addrs = draw(st.lists(st.sampled_from(["127.0.0.1", "::1", "fe80::1%eth0", "bogus", ""]),
                          max_size=4))
    port = draw(st.one_of(st.none(), st.integers(-5, 70000)))
    return name, addrs, port, txt


def test_fuzz_txt_records() -> None:
    meter = Meter()

    @BATCH
    @given(txt_records())
    def batch(rec: tuple[str, list[str], int | None, dict[bytes, bytes | None]]) -> None:
        with meter.measure(rec[3]), contextlib.suppress(BadAdvertError):
            Advert.from_txt(*rec)

    drive("DNS-SD TXT records", batch, meter)
