"""The serving side of the feed API: a plain ASGI app over a `FeedSource`, run by hypercorn on trio.

Boxes and seeders both run it, so a box updates from a neighbour exactly as from a seeder. The app
checks every input before the source sees it (bounded query, valid channel, bounded body), answers
errors with fixed texts (nothing a client sent is echoed back), and keeps the source's own failures
to a logged 500.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qsl

import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
)
from hypercorn.utils import wrap_app

from keys import SigningKey, is_valid_channel
from p2pdist.errors import ConfigError
from p2pdist.i18n import _

from ._api import (
    CHECKINS_PATH,
    INFO_PATH,
    MANIFEST_PATH,
    MAX_CHECKIN_BYTES,
    MAX_QUERY_BYTES,
    MAX_ROOT_VERSION_DIGITS,
    ROOTS_PATH,
    FeedInfo,
    dump_json,
)
from ._hold import Holder, hold_request
from ._prove import PROVE_PATH, answer_challenge, nonce_param

log = logging.getLogger(__name__)

IDLE_TIMEOUT_S = 30
"""A connection that sends nothing for this long is dropped (slowloris clients)."""
KEEP_ALIVE_S = 15
GRACEFUL_S = 3
_ROOT_RE = re.compile(rf"[0-9]{{1,{MAX_ROOT_VERSION_DIGITS}}}")
_MAX_LOGGED_PATH = 200


class FeedSource(Protocol):
    """What a box or seeder provides to be served (Syncthing's `Model` idea: this layer defines it).

    The methods run on the event loop, so they answer from memory or small files without blocking
    for long; an exception becomes a logged 500, never a dead server.
    """

    def info(self) -> Mapping[str, Any]:
        """The /info JSON object (`FeedInfo.to_json()`); it is validated before it is sent."""
        ...

    def root(self, version: int) -> bytes | None:
        """The signed trust-root envelope of `version`, or None if the node lacks it."""
        ...

    def manifest(self, channel: str) -> bytes | None:
        """The latest signed manifest envelope of a (valid) channel, or None if there is none."""
        ...

    async def changed(self, timeout_s: float) -> None:
        """Return when `info()` may differ from what it returned before this call, or after
        `timeout_s` (a long-polling client is answered then; see `_hold`)."""
        ...

    def checkin(self, body: bytes, peer: str) -> tuple[int, Mapping[str, Any]] | None:
        """Take a check-in (at most MAX_CHECKIN_BYTES) from IP address `peer`.

        Returns the HTTP status and JSON object to answer with, or None when this node takes no
        check-ins (answered with 404).
        """
        ...


def _printable(text: str) -> str:
    """Attacker text made safe for a log line: escaped and shortened."""
    return repr(text[:_MAX_LOGGED_PATH])


@dataclass(frozen=True, slots=True)
class _Reply:
    """A finished answer: status, content type, body and (for 405) the allowed method."""

    status: int
    body: bytes
    content_type: str
    allow: str | None = None
    etag: str | None = None

    @classmethod
    def error(cls, status: HTTPStatus, allow: str | None = None) -> _Reply:
        # Fixed phrases only: nothing from the request goes back to the client.
        return cls(status, dump_json({"error": status.phrase}), "application/json", allow)


def _bytes_reply(data: bytes | None) -> _Reply:
    if data is None:
        return _Reply.error(HTTPStatus.NOT_FOUND)
    return _Reply(200, bytes(data), "application/octet-stream")


class FeedApp:
    """The ASGI application of the feed API (HTTP only; lifespan acknowledged, websockets shut)."""

    def __init__(self, source: FeedSource, identity: SigningKey | None = None,
                 mounts: Mapping[str, Any] | None = None) -> None:
        self._source = source
        self._identity = identity
        self._mounts = dict(mounts or {})
        self._holder = Holder()

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
        else:
            for prefix, app in self._mounts.items():
                if scope["path"].startswith(prefix):
                    await app(scope, receive, send)
                    return
            await self._http(scope, receive, send)

    @staticmethod
    async def _lifespan(receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(
        self, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        client = scope["client"]
        peer = client[0] if client else ""
        try:
            reply = await self._route(scope, receive, peer)
        except Exception:
            # The source is someone else's code; its failure must not take the server down.
            log.exception(
                _("feed source failed on {method} {printable}").format(
                    method=scope["method"], printable=_printable(scope["path"])))
            reply = _Reply.error(HTTPStatus.INTERNAL_SERVER_ERROR)
        if reply is None:
            log.debug(
                _("{method} {printable} from {peer}: client left").format(
                    method=scope["method"], printable=_printable(scope["path"]), peer=peer))
            return
        log.debug(
            _("{method} {printable} from {peer}: {status} ({n_body} bytes)").format(
                method=scope["method"], printable=_printable(scope["path"]), peer=peer,
                status=reply.status, n_body=len(reply.body)))
        headers = [] if reply.status == HTTPStatus.NOT_MODIFIED else [
            (b"content-type", reply.content_type.encode()),
            (b"content-length", str(len(reply.body)).encode()),
        ]
        headers += [(b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff")]
        if reply.allow is not None:
            headers.append((b"allow", reply.allow.encode()))
        if reply.etag is not None:
            headers.append((b"etag", reply.etag.encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body, "more_body": False})

    async def _route(
        self, scope: HTTPScope, receive: ASGIReceiveCallable, peer: str
    ) -> _Reply | None:
        path, method = scope["path"], scope["method"]
        if path == INFO_PATH:
            if method != "GET":
                return _Reply.error(HTTPStatus.METHOD_NOT_ALLOWED, "GET")
            known, wait_s = hold_request(scope["headers"])
            body, tag, new = await self._holder.answer(known, wait_s, self._info_document,
                                                        self._source.changed)
            if not new:
                return _Reply(HTTPStatus.NOT_MODIFIED, b"", "", etag=tag)
            return _Reply(200, body, "application/json", etag=tag)
        if path.startswith(ROOTS_PATH):
            if method != "GET":
                return _Reply.error(HTTPStatus.METHOD_NOT_ALLOWED, "GET")
            text = path[len(ROOTS_PATH):]
            if "/" in text:
                return _Reply.error(HTTPStatus.NOT_FOUND)
            if _ROOT_RE.fullmatch(text) is None:
                return _Reply.error(HTTPStatus.BAD_REQUEST)
            version = int(text)
            return _bytes_reply(self._source.root(version) if version >= 1 else None)
        if path == MANIFEST_PATH:
            if method != "GET":
                return _Reply.error(HTTPStatus.METHOD_NOT_ALLOWED, "GET")
            channel = _channel_param(scope["query_string"])
            if channel is None:
                return _Reply.error(HTTPStatus.BAD_REQUEST)
            return _bytes_reply(self._source.manifest(channel))
        if path == PROVE_PATH:
            if method != "GET":
                return _Reply.error(HTTPStatus.METHOD_NOT_ALLOWED, "GET")
            if self._identity is None:
                return _Reply.error(HTTPStatus.NOT_FOUND)
            nonce = nonce_param(scope["query_string"])
            if nonce is None:
                return _Reply.error(HTTPStatus.BAD_REQUEST)
            return _Reply(200, dump_json(answer_challenge(self._identity, nonce)),
                          "application/json")
        if path == CHECKINS_PATH:
            if method != "POST":
                return _Reply.error(HTTPStatus.METHOD_NOT_ALLOWED, "POST")
            return await self._checkin(scope, receive, peer)
        return _Reply.error(HTTPStatus.NOT_FOUND)

    def _info_document(self) -> bytes:
        info = self._source.info()
        FeedInfo.from_json(info)  # a node must not publish what its peers would reject
        return dump_json(info)

    async def _checkin(
        self, scope: HTTPScope, receive: ASGIReceiveCallable, peer: str
    ) -> _Reply | None:
        if _declared_length(scope["headers"]) > MAX_CHECKIN_BYTES:
            # Refused from the header alone: the body is never read.
            return _Reply.error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        body = bytearray()
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                return None
            if event["type"] != "http.request":
                continue
            body += event["body"]
            if len(body) > MAX_CHECKIN_BYTES:
                # A chunked body without a length: stop at the first byte over the cap.
                return _Reply.error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            if not event["more_body"]:
                break
        answer = self._source.checkin(bytes(body), peer)
        if answer is None:
            return _Reply.error(HTTPStatus.NOT_FOUND)
        status, obj = answer
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError("FeedSource.checkin returned an HTTP status outside 200..599")
        return _Reply(status, dump_json(obj), "application/json")


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """The request's Content-Length, or 0 when absent (chunked); a bogus value counts as too big."""
    for name, value in headers:
        if name.lower() == b"content-length":
            text = value.strip()
            return int(text) if text.isdigit() and len(text) <= 18 else MAX_CHECKIN_BYTES + 1
    return 0


def _channel_param(query: bytes) -> str | None:
    """The one valid `channel` query parameter, or None for anything else (answered 400)."""
    if len(query) > MAX_QUERY_BYTES:
        return None
    try:
        pairs = parse_qsl(
            query.decode("ascii"), strict_parsing=True, max_num_fields=8, errors="strict"
        )
    except ValueError:  # UnicodeDecodeError included
        return None
    channels = [v for k, v in pairs if k == "channel"]
    if len(channels) != 1 or not is_valid_channel(channels[0]):
        return None
    return channels[0]


def _listen(bind: str) -> socket.socket:
    """Open the listening socket for ``HOST:PORT`` / ``[V6]:PORT`` (an IP literal, port may be 0).

    Binding here, not inside hypercorn, turns a bad address into a plain `ConfigError` before any
    task starts, and tells us the port the kernel picked.

    Raises:
        ConfigError: malformed address, or the address cannot be bound.
    """
    host, sep, port_text = bind.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        address = ipaddress.ip_address(host)
        port = int(port_text)
        if not sep or not 0 <= port <= 65535:
            raise ValueError(bind)
    except ValueError as e:
        raise ConfigError(
            _("{bind!r} is not a feed listen address; write IP:PORT, e.g. 0.0.0.0:8470 or "
              "[::]:8470").format(bind=bind)
        ) from e
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        sock = socket.create_server((str(address), port), family=family, backlog=128)
    except OSError as e:
        raise ConfigError(
            _("cannot listen on {bind} ({reason}); is another program using the port?").format(
                bind=bind, reason=e.strerror or e
            )
        ) from e
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


async def serve_feed(
    source: FeedSource,
    bind: str,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    identity: SigningKey | None = None,
    mounts: Mapping[str, Any] | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the feed API for `source` until cancelled or until `shutdown_trigger` returns.

    Args:
        source: what to serve.
        bind: ``IP:PORT`` to listen on; port 0 picks a free port.
        shutdown_trigger: when it returns, open requests get GRACEFUL_S seconds to finish.
        identity: the node's identity key; with it, /prove answers challenges (see `_prove`).
        mounts: other ASGI apps on the same port, by path prefix (a seeder's web seed).
        task_status: receives the bound port once the server accepts connections.

    Raises:
        ConfigError: `bind` is malformed or cannot be bound.
    """
    await serve_asgi(FeedApp(source, identity, mounts), bind, name="feed",
                     shutdown_trigger=shutdown_trigger, task_status=task_status)


async def serve_asgi(
    app: Any,
    bind: str,
    *,
    name: str,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve an ASGI app with hypercorn on trio (the feed, the station's web, the dashboard).

    Args:
        app: the ASGI application.
        bind: ``IP:PORT`` to listen on; port 0 picks a free port.
        name: what is served, for the log.
        shutdown_trigger: when it returns, open requests get GRACEFUL_S seconds to finish.
        task_status: receives the bound port once the server accepts connections.

    Raises:
        ConfigError: `bind` is malformed or cannot be bound.
    """
    sock = _listen(bind)
    with sock:
        port: int = sock.getsockname()[1]
        config = Config()
        config.accesslog = None
        config.errorlog = logging.getLogger(f"{__name__}.hypercorn")
        config.include_server_header = False
        config.read_timeout = IDLE_TIMEOUT_S
        config.keep_alive_timeout = KEEP_ALIVE_S
        config.graceful_timeout = GRACEFUL_S
        async with trio.open_nursery() as nursery:
            # worker_serve, not hypercorn.trio.serve: only it accepts our already bound socket.
            await nursery.start(
                partial(
                    worker_serve,
                    wrap_app(app, config.wsgi_max_body_size, "asgi"),
                    config,
                    sockets=Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[]),
                    shutdown_trigger=shutdown_trigger,
                )
            )
            log.info(_("{name} serving on port {port}").format(name=name, port=port))
            task_status.started(port)
