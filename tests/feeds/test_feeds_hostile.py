"""FeedClient against hostile or broken servers: every failure is bounded and typed."""

from __future__ import annotations

import gzip
import json
import socket
import time
import tracemalloc

import pytest
import trio
from feedsim import StartRaw

from keys import MAX_ROOT_BYTES
from p2pdist.errors import FetchTimeoutError, NetworkError, PeerError, TransferError
from p2pdist.feeds import BadResponseError, FeedClient, FeedInfo, ResponseTooLargeError

INFO = FeedInfo("seeder-1", "seeder", {"national/a": 1}, 6881, 1).to_json()
OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"


def answer(status: str, body: bytes, extra: bytes = b"") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n".encode()
        + extra + b"\r\n" + body
    )


def client(url: str, *, timeout_s: float = 2, retries: int = 0) -> FeedClient:
    return FeedClient(url, timeout_s=timeout_s, retries=retries, backoff_s=0.02,
                      max_backoff_s=0.05)


async def test_endless_body_is_cut_at_the_cap(start_raw: StartRaw) -> None:
    sent = 0

    async def endless(stream: trio.SocketStream, head: bytes) -> None:
        nonlocal sent
        await stream.send_all(OK_HEAD + b"\r\n")  # no length: the body runs until close
        chunk = b"\xab" * 16384
        while True:
            await stream.send_all(chunk)
            sent += len(chunk)

    url = await start_raw(endless)
    t0 = time.monotonic()
    with trio.fail_after(5):
        async with client(url) as c:  # made first: its TLS context is a large, fixed allocation
            tracemalloc.start()
            try:
                with pytest.raises(ResponseTooLargeError, match=str(MAX_ROOT_BYTES)):
                    await c.root(2)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert time.monotonic() - t0 < 1.5
    assert peak < 4 * MAX_ROOT_BYTES + 512 * 1024
    assert sent < 8 * 1024 * 1024  # the client hung up rather than keep reading


async def test_endless_manifest_is_cut_quickly(start_raw: StartRaw) -> None:
    async def endless(stream: trio.SocketStream, head: bytes) -> None:
        await stream.send_all(OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b"m" * 65536)
        while True:
            await stream.send_all(chunk)

    url = await start_raw(endless)
    with trio.fail_after(5):
        async with client(url) as c:
            with pytest.raises(ResponseTooLargeError):
                await c.manifest("national/a")


async def test_announced_oversize_is_refused_before_the_body(start_raw: StartRaw) -> None:
    async def announce(stream: trio.SocketStream, head: bytes) -> None:
        await stream.send_all(OK_HEAD + b"Content-Length: 999999999999\r\n\r\n")
        await trio.sleep_forever()

    url = await start_raw(announce)
    t0 = time.monotonic()
    with trio.fail_after(5):
        async with client(url, timeout_s=3) as c:
            with pytest.raises(ResponseTooLargeError):
                await c.root(2)
    assert time.monotonic() - t0 < 1


async def test_slow_drip_hits_the_overall_deadline(start_raw: StartRaw) -> None:
    async def drip(stream: trio.SocketStream, head: bytes) -> None:
        await stream.send_all(OK_HEAD + b"Content-Length: 100\r\n\r\n")
        for _ in range(100):
            await stream.send_all(b"x")
            await trio.sleep(1)  # each byte is in time for httpx's read timeout

    url = await start_raw(drip)
    t0 = time.monotonic()
    with trio.fail_after(5):
        async with client(url, timeout_s=1.5) as c:
            with pytest.raises(FetchTimeoutError, match=r"1\.5 s"):
                await c.root(2)
    assert 1.4 < time.monotonic() - t0 < 2.5


async def test_connection_refused_after_bounded_retries() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens here
    t0 = time.monotonic()
    with trio.fail_after(5):
        async with client(f"http://127.0.0.1:{port}", retries=2) as c:
            with pytest.raises(NetworkError, match="attempt 3 of 3"):
                await c.info()
    assert time.monotonic() - t0 < 1


async def test_hang_up_is_retried_a_bounded_number_of_times(start_raw: StartRaw) -> None:
    connections = 0

    async def hang_up(stream: trio.SocketStream, head: bytes) -> None:
        nonlocal connections
        connections += 1

    url = await start_raw(hang_up)
    with trio.fail_after(5):
        async with client(url, retries=3) as c:
            with pytest.raises(NetworkError):
                await c.root(2)
    assert connections == 4


async def test_500_then_200_succeeds(start_raw: StartRaw) -> None:
    calls = 0

    async def flaky(stream: trio.SocketStream, head: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await stream.send_all(answer("500 Internal Server Error", b"oops"))
        else:
            await stream.send_all(answer("200 OK", json.dumps(INFO).encode()))

    url = await start_raw(flaky)
    with trio.fail_after(5):
        async with client(url, retries=2) as c:
            info = await c.info()
    assert info.node_id == "seeder-1"
    assert calls == 2


@pytest.mark.parametrize(("status", "attempts"), [("503 Busy", 3), ("400 Bad", 1), ("403 No", 1)])
async def test_only_server_errors_are_retried(
    start_raw: StartRaw, status: str, attempts: int
) -> None:
    calls = 0

    async def refuse(stream: trio.SocketStream, head: bytes) -> None:
        nonlocal calls
        calls += 1
        await stream.send_all(answer(status, b"<script>alert(1)</script>"))

    url = await start_raw(refuse)
    with trio.fail_after(5):
        async with client(url, retries=2) as c:
            with pytest.raises(BadResponseError) as err:
                await c.root(2)
    assert err.value.status == int(status.split()[0])
    assert "script" not in str(err.value)
    assert calls == attempts


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'{"api": 1}',
        b'{"api": 2, "node_id": "x"}',
        b"[" * 50_000,
        b'{"api":1,"node_id":"n","role":"box","channels":{},"swarm_port":"x","root_version":1}',
    ],
)
async def test_garbage_info_is_a_peer_error(start_raw: StartRaw, body: bytes) -> None:
    async def garbage(stream: trio.SocketStream, head: bytes) -> None:
        await stream.send_all(answer("200 OK", body, b"Content-Type: application/json\r\n"))

    url = await start_raw(garbage)
    with trio.fail_after(5):
        async with client(url, retries=2) as c:
            with pytest.raises(BadResponseError, match="info document is malformed"):
                await c.info()


async def test_short_body_for_its_content_length(start_raw: StartRaw) -> None:
    async def short(stream: trio.SocketStream, head: bytes) -> None:
        await stream.send_all(OK_HEAD + b"Content-Length: 1000\r\n\r\n" + b"only ten b")

    url = await start_raw(short)
    with trio.fail_after(5):
        async with client(url) as c:
            with pytest.raises(NetworkError):
                await c.root(2)


@pytest.mark.parametrize(
    "head",
    [
        OK_HEAD + b"Content-Length: ten\r\n\r\n0123456789",
        OK_HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n012345",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    ],
)
async def test_broken_http_is_a_transfer_error(start_raw: StartRaw, head: bytes) -> None:
    async def broken(stream: trio.SocketStream, request: bytes) -> None:
        await stream.send_all(head)

    url = await start_raw(broken)
    with trio.fail_after(5):
        async with client(url) as c:
            with pytest.raises(TransferError):
                await c.root(2)


async def test_redirect_is_not_followed(start_raw: StartRaw) -> None:
    elsewhere_hits = 0

    async def elsewhere(stream: trio.SocketStream, head: bytes) -> None:
        nonlocal elsewhere_hits
        elsewhere_hits += 1

    target = await start_raw(elsewhere)

    async def redirect(stream: trio.SocketStream, head: bytes) -> None:
        location = f"Location: {target}/p2pdist/v1/roots/2\r\n".encode()
        await stream.send_all(answer("302 Found", b"", location))

    url = await start_raw(redirect)
    with trio.fail_after(5):
        async with client(url) as c:
            with pytest.raises(BadResponseError) as err:
                await c.root(2)
    assert err.value.status == 302
    assert elsewhere_hits == 0


async def test_compressed_body_is_refused(start_raw: StartRaw) -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)

    async def gzipped(stream: trio.SocketStream, head: bytes) -> None:
        await stream.send_all(answer("200 OK", bomb, b"Content-Encoding: gzip\r\n"))

    url = await start_raw(gzipped)
    with trio.fail_after(5):
        async with client(url) as c:
            with pytest.raises(PeerError, match="content-encoded"):
                await c.root(2)


async def test_client_sends_no_compression_or_proxy_headers(start_raw: StartRaw) -> None:
    seen: list[bytes] = []

    async def record(stream: trio.SocketStream, head: bytes) -> None:
        seen.append(head.lower())
        await stream.send_all(answer("404 Not Found", b""))

    url = await start_raw(record)
    with trio.fail_after(5):
        async with client(url) as c:
            assert await c.manifest("national/a") is None
    assert seen[0].startswith(b"get /p2pdist/v1/manifest?channel=national%2fa http/1.1")
    assert b"accept-encoding: identity" in seen[0]
