"""serve_feed against abusive requests, spoken in raw HTTP so nothing client-side filters them."""

from __future__ import annotations

import logging

import pytest
import trio
from feedsim import MemorySource, raw_request

from p2pdist.feeds import MAX_CHECKIN_BYTES


def get(target: bytes) -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: box\r\nConnection: close\r\n\r\n"


def post(headers: bytes, body: bytes) -> bytes:
    return (b"POST /p2pdist/v1/checkins HTTP/1.1\r\nHost: box\r\nConnection: close\r\n"
            + headers + b"\r\n" + body)


async def test_oversized_post_is_refused_from_its_header(
    source: MemorySource, feed_url: str
) -> None:
    with trio.fail_after(5):
        status, _ = await raw_request(
            feed_url, post(b"Content-Length: 100000000\r\n", b"x" * 1000)
        )
    assert status == 413
    assert source.checkins == []


async def test_oversized_chunked_post_is_refused(source: MemorySource, feed_url: str) -> None:
    chunk = b"%x\r\n%s\r\n" % (32768, b"c" * 32768)
    with trio.fail_after(5):
        status, _ = await raw_request(
            feed_url, post(b"Transfer-Encoding: chunked\r\n", chunk * 3)
        )
    assert status == 413
    assert source.checkins == []


async def test_post_at_the_cap_is_accepted(source: MemorySource, feed_url: str) -> None:
    body = b"b" * MAX_CHECKIN_BYTES
    with trio.fail_after(5):
        status, answer = await raw_request(
            feed_url, post(b"Content-Length: %d\r\n" % len(body), body)
        )
    assert (status, answer) == (200, b'{"ok":true}')
    assert source.checkins == [(body, "127.0.0.1")]


@pytest.mark.parametrize(
    "target",
    [
        b"/",
        b"/p2pdist/v2/info",
        b"/p2pdist/v1/info/",
        b"/p2pdist/v1/roots/2/extra",
        b"/p2pdist/v1/roots/0",
        b"/p2pdist/v1/roots/4",
        b"/p2pdist/v1/manifest?channel=national/none",
        b"/%3Cscript%3Ealert(1)%3C/script%3E",
    ],
)
async def test_unknown_is_404_without_echo(feed_url: str, target: bytes) -> None:
    with trio.fail_after(5):
        status, body = await raw_request(feed_url, get(target))
    assert status == 404
    assert body == b'{"error":"Not Found"}'


@pytest.mark.parametrize(
    "target",
    [
        b"/p2pdist/v1/manifest",
        b"/p2pdist/v1/manifest?channel=",
        b"/p2pdist/v1/manifest?channel=" + b"a" * 2000,
        b"/p2pdist/v1/manifest?channel=national/" + b"a" * 120,
        b"/p2pdist/v1/manifest?channel=../../etc/passwd",
        b"/p2pdist/v1/manifest?channel=National/Winter",
        b"/p2pdist/v1/manifest?channel=national%2fwinter-2027%ff",
        b"/p2pdist/v1/manifest?channel=national/a&channel=national/b",
        b"/p2pdist/v1/manifest?" + b"&".join([b"x=1"] * 20),
        b"/p2pdist/v1/manifest?channel=%3Cscript%3E",
        b"/p2pdist/v1/roots/abc",
        b"/p2pdist/v1/roots/-1",
        b"/p2pdist/v1/roots/99999999999999999999",
    ],
)
async def test_bad_parameters_are_400_without_echo(feed_url: str, target: bytes) -> None:
    with trio.fail_after(5):
        status, body = await raw_request(feed_url, get(target))
    assert status == 400
    assert body == b'{"error":"Bad Request"}'


async def test_huge_request_line_is_refused(feed_url: str) -> None:
    with trio.fail_after(5):
        status, body = await raw_request(
            feed_url, get(b"/p2pdist/v1/manifest?channel=" + b"a" * 100_000)
        )
    assert 400 <= status < 500
    assert b"aaaa" not in body


async def test_channel_encoded_or_not_is_served(feed_url: str) -> None:
    with trio.fail_after(5):
        for query in (b"national/winter-2027", b"national%2Fwinter-2027"):
            status, body = await raw_request(
                feed_url, get(b"/p2pdist/v1/manifest?channel=" + query)
            )
            assert (status, body) == (200, b"\x00signed manifest\xff")


@pytest.mark.parametrize(
    ("request_bytes", "allow"),
    [
        (b"POST /p2pdist/v1/info HTTP/1.1\r\nHost: b\r\nConnection: close\r\n"
         b"Content-Length: 0\r\n\r\n", b"GET"),
        (b"DELETE /p2pdist/v1/roots/1 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n", b"GET"),
        (get(b"/p2pdist/v1/checkins"), b"POST"),
    ],
)
async def test_wrong_method_is_405(feed_url: str, request_bytes: bytes, allow: bytes) -> None:
    host, port = feed_url.removeprefix("http://").rsplit(":", 1)
    with trio.fail_after(5):
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            await stream.send_all(request_bytes)
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive_some()
    assert head.startswith(b"HTTP/1.1 405 ")
    assert b"\r\nallow: " + allow + b"\r\n" in head


async def test_requests_are_logged_escaped(
    feed_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="p2pdist.feeds")
    with trio.fail_after(5):
        status, _ = await raw_request(feed_url, get(b"/x%1b%5b31m%0aforged"))
    assert status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "p2pdist.feeds._server"]
    assert any("x\\x1b[31m\\nforged" in line and "404" in line for line in lines)
    assert not any("\x1b" in line or "\n" in line for line in lines)
