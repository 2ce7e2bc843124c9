"""Helpers for the box daemon's end-to-end tests: a signed world, real `box run` daemons.

Every daemon is a `python -m p2pdist box run --data D --json` child on loopback. mDNS on loopback
advertises 127.0.0.1 for every service, so boxes that discover each other listen on 127.0.0.1
with distinct ports (port 0, read back from the `ready` line). A box that must look like a WAN
host (an upstream seeder, a capped source) gets its own 127.0.0.x address and `--no-mdns`.

The channel and site names carry a random suffix per session: other test runs on this machine
share loopback mDNS, and their boxes must neither be our sources nor take part in our elections.

Waits poll the daemon's control socket with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys import P2PDistError
from p2pdist.childproc import Child, stop_all
from p2pdist.control import request
from p2pdist.store import Store
from tests.world import build_signed, free_port, make_trust_root, run_cli, wait_until

BUNDLE = 8_000_000
"""Content bytes of a release: big enough to be caught half way under a 2 MB/s cap."""
POLL_S = 2
TAG = secrets.token_hex(4)
CHANNEL = f"national/agent-e2e-{TAG}"




def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "catalog.toml"}


@dataclass(frozen=True)
class World:
    """Keys, a pinned root, v1 and v2 of one channel, a rogue-signed v99, and a USB export."""

    dir: Path
    root: Path
    content: dict[int, Path]
    manifest: dict[int, Path]
    rogue_manifest: Path
    """v99 of the channel, validly encoded and signed, but by a key the root does not know."""
    export: Path
    """`p2pdist export` of a store holding v1 (what a technician carries on a USB drive)."""
    channel: str = CHANNEL

    def digest(self, version: int) -> dict[str, str]:
        return _digests(self.content[version])

    def info_hash(self, version: int) -> bytes:
        """The v1 info-hash of the release's (hybrid) torrent, as a BitTorrent handshake has it."""
        from manifest import Manifest, decode_envelope
        from p2pdist._libtorrent import lt

        m = Manifest.decode_body(decode_envelope(self.manifest[version].read_bytes()).signed)
        return bytes(lt.torrent_info(m.torrent).info_hashes().v1.to_bytes())

    def publish(self, version: int, data: Path) -> None:
        run_cli("release", "publish", self.manifest[version], "--content",
                self.content[version], "--to", data, "--root", self.root)


_DIGESTS: dict[Path, dict[str, str]] = {}


def _digests(folder: Path) -> dict[str, str]:
    if folder not in _DIGESTS:
        _DIGESTS[folder] = tree_digest(folder)
    return _DIGESTS[folder]


def build_world(d: Path) -> World:
    from p2pdist.sample import write_sample

    make_trust_root(d, extra_keys=("rogue",))
    write_sample(d / "c1", BUNDLE, seed=11)
    write_sample(d / "c2", BUNDLE, seed=11, change_films=5)
    content, manifest = {1: d / "c1", 2: d / "c2"}, {}
    for v, c in content.items():
        manifest[v] = d / f"m{v}"
        build_signed(c, CHANNEL, v, manifest[v], d / "release")
    build_signed(content[1], CHANNEL, 99, d / "m99", d / "rogue")
    run_cli("release", "publish", manifest[1], "--content", content[1], "--to", d / "origin",
            "--root", d / "root.v1")
    run_cli("export", d / "usb", "--create", "--data", d / "origin", "--root", d / "root.v1")
    return World(d, d / "root.v1", content, manifest, d / "m99", d / "usb")


class DaemonExited(AssertionError):
    """The daemon a test waited on ended first."""


class Box:
    """One box: its data directory, `box init` options, and the running daemon (if any)."""

    def __init__(self, fleet: Fleet, data: Path, name: str) -> None:
        self.fleet = fleet
        self.data = data
        self.name = name
        self.child: Child | None = None
        self.ready: dict[str, Any] = {}

    @property
    def node_id(self) -> str:
        return str(self.ready["node_id"])

    @property
    def feed_url(self) -> str:
        return f"http://127.0.0.1:{self.ready['feed_port']}"

    def init(self, world: World, *extra: str | Path, listen: str = "127.0.0.1:0",
             feed: str = "127.0.0.1:0") -> Box:
        run_cli("box", "init", "--data", self.data, "--root", world.root, "--channel",
                world.channel, "--listen", listen, "--feed", feed, "--mdns-interface",
                "127.0.0.1", "--poll", str(POLL_S), *extra)
        return self

    def launch(self) -> Box:
        """Start the daemon without waiting (so several boxes start in parallel)."""
        assert self.child is None or self.child.proc.poll() is not None, "already running"
        self.child = self.fleet.spawn("box", "run", "--data", self.data, "--json", "-v",
                                      name=self.name)
        self.ready = {}
        return self

    def wait_ready(self, timeout: float = 30) -> Box:
        assert self.child is not None
        self.ready = self.child.wait_event("ready", timeout)
        return self

    def start(self) -> Box:
        return self.launch().wait_ready()

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def kill(self) -> None:
        if self.child is not None:
            self.child.kill()

    def status(self) -> dict[str, Any]:
        return request(self.data, "status", timeout=5)

    def channel(self, st: dict[str, Any] | None = None) -> dict[str, Any]:
        st = self.status() if st is None else st
        return dict(st["channels"][CHANNEL])

    def torrent(self, st: dict[str, Any] | None = None) -> dict[str, Any]:
        return dict(self.channel(st).get("torrent") or {})

    def received(self, st: dict[str, Any] | None = None) -> dict[str, int]:
        return dict(self.torrent(st).get("received") or {})

    def wait(self, pred: Callable[[dict[str, Any]], bool], timeout: float, what: str,
             every: float = 0.2) -> dict[str, Any]:
        """Poll `status` until `pred` holds; fail with the last status and stderr otherwise."""
        last: list[dict[str, Any]] = []

        def check() -> dict[str, Any] | None:
            if self.child is not None and self.child.proc.poll() is not None:
                raise DaemonExited(f"{self.name} exited ({self.child.proc.returncode}) while "
                                   f"waiting for {what}:\n{self.child.stderr_tail}")
            st = self.status()
            last[:] = [st]
            return st if pred(st) else None

        try:
            return wait_until(check, timeout, what, every=every, ignore=(P2PDistError, OSError))
        except DaemonExited:
            raise
        except AssertionError:
            tail = self.child.stderr_tail if self.child else ""
            raise AssertionError(f"{self.name}: no {what} within {timeout:.0f}s; last "
                                 f"status {last[0] if last else None}\n{tail}") from None

    def wait_active(self, version: int, timeout: float = 60) -> dict[str, Any]:
        return self.wait(lambda st: self.channel(st)["active_version"] == version
                         and self.channel(st)["phase"] == "seeding", timeout,
                         f"active v{version}")

    def wait_sees(self, others: list[Box], timeout: float = 20) -> dict[str, Any]:
        ids = {o.node_id for o in others}
        return self.wait(lambda _st: ids <= self.neighbour_ids(), timeout,
                         f"neighbours {[o.name for o in others]}")

    def neighbour_ids(self) -> set[str]:
        return {n["node_id"] for n in request(self.data, "peers", timeout=5)["neighbours"]}

    def active_digest(self) -> dict[str, str]:
        return tree_digest(Store(self.data).active_dir(CHANNEL))


class Fleet:
    """Starts children and stops every one of them at teardown (SIGTERM all, then SIGKILL)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.children: list[Child] = []

    def spawn(self, *args: str | Path, name: str) -> Child:
        c = Child(args, name=name)
        self.children.append(c)
        return c

    def box(self, name: str) -> Box:
        return Box(self, self.tmp / name, name)

    def upstream(self, w: World, ip: str, version: int = 1) -> tuple[Box, str]:
        """A running own-link box on `ip` holding `version`, the seeder of a test's other
        boxes; (the box, its feed URL)."""
        up = self.box("upstream")
        up.init(w, "--no-mdns", "--site-mode", "own-link", listen=f"{ip}:0", feed=f"{ip}:0")
        w.publish(version, up.data)
        up.start()
        return up, f"http://{ip}:{up.ready['feed_port']}"

    def close(self) -> None:
        stop_all(self.children)


def bt_handshake(src_ip: str, port: int, info_hash: bytes, timeout: float = 5) -> bytes:
    """Open a BitTorrent connection from `src_ip` to 127.0.0.1:`port` and send a handshake.

    Returns:
        The first bytes of the answer: the peer's handshake (68 bytes) if it takes the
        connection, b"" if it closed it without answering.
    """
    hs = b"\x13BitTorrent protocol" + bytes(8) + info_hash + b"-TE0001-" + secrets.token_bytes(12)
    with socket.socket() as s:
        s.settimeout(timeout)
        s.bind((src_ip, 0))
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(hs)
            answer = b""
            while len(answer) < 48:
                chunk = s.recv(68 - len(answer))
                if not chunk:
                    break
                answer += chunk
            return answer
        except (ConnectionResetError, BrokenPipeError, ConnectionRefusedError):
            return b""


def wan_after_settling(box: Box, st: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    """The status once the download loop has applied the settled election (it wakes at once,
    but a status read may come first): the first with the WAN on, or the last one read."""
    if box.channel(st)["wan"]:
        return st
    with contextlib.suppress(AssertionError):
        return wait_until(lambda: s if box.channel(s := box.status())["wan"] else None,
                          timeout, "the WAN on")
    return box.status()


def wait_all(pred: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    wait_until(pred, timeout, what, every=every)


# A hostile neighbour: a DNS-SD record registered straight through python-zeroconf, and a feed
# served by a tiny threaded HTTP server that lies in the ways listed in `FakeFeed.MODES`.


class FakeFeed:
    """A feed that claims `CHANNEL` v99 in /info and then misbehaves on /manifest.

    Modes: ``garbage`` (bytes that are no envelope), ``rogue`` (a real envelope signed by a key
    the root does not know), ``trickle`` (an endless body, 100 bytes every 0.1 s), ``flood`` (an
    endless body as fast as the socket takes it).
    """

    MODES = ("garbage", "rogue", "trickle", "flood")

    def __init__(self, mode: str, node_id: str, rogue_manifest: bytes) -> None:
        import http.server
        import json
        import threading

        assert mode in self.MODES
        self.mode = mode
        self.requests: list[str] = []
        self.stopping = threading.Event()
        feed = self
        info = json.dumps({"api": 1, "node_id": node_id, "role": "box",
                           "channels": {CHANNEL: 99}, "swarm_port": 0,
                           "root_version": 1}).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                feed.requests.append(self.path)
                if self.path.startswith("/p2pdist/v1/info"):
                    self._send(info, "application/json")
                elif self.path.startswith("/p2pdist/v1/manifest"):
                    if feed.mode == "garbage":
                        self._send(b"\x93\xa7not a manifest" + bytes(range(256)) * 4)
                    elif feed.mode == "rogue":
                        self._send(rogue_manifest)
                    else:
                        self._endless(feed.mode == "trickle")
                else:
                    self.send_error(404)

            def _send(self, body: bytes, ctype: str = "application/octet-stream") -> None:
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _endless(self, slow: bool) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                chunk = b"\x00" * (100 if slow else 65536)
                with contextlib.suppress(OSError):
                    while not feed.stopping.is_set():
                        self.wfile.write(chunk)
                        self.wfile.flush()
                        if slow:
                            feed.stopping.wait(0.1)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def manifest_requests(self) -> int:
        return sum(p.startswith("/p2pdist/v1/manifest") for p in self.requests)

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class FakeNeighbours:
    """Hostile LAN neighbours: one DNS-SD record and one `FakeFeed` per mode, all claiming v99."""

    def __init__(self, site: str, modes: tuple[str, ...], rogue_manifest: bytes, *,
                 silent_ids: tuple[str, ...] = ()) -> None:
        """Register one liar per mode, plus one record per id of `silent_ids` that claims no
        channel, no swarm port and a feed port where nothing listens."""
        import asyncio

        from zeroconf import ServiceInfo, Zeroconf

        from p2pdist.discovery import SERVICE_TYPE

        self.feeds: dict[str, FakeFeed] = {}
        self.node_ids: dict[str, str] = {}
        records: list[tuple[str, int, dict[str, str]]] = []
        for mode in modes:
            node_id = secrets.token_hex(32)
            feed = FakeFeed(mode, node_id, rogue_manifest)
            self.feeds[mode], self.node_ids[mode] = feed, node_id
            records.append((node_id, feed.port, {"ch": f"{CHANNEL}:99"}))
        records += [(node_id, free_port("127.0.0.1"), {}) for node_id in silent_ids]
        infos = []
        for node_id, port, extra in records:
            label = f"p2pdist-{node_id[:16]}"
            txt = {"v": "1", "id": node_id, "r": "box", "s": site, "sp": "0", **extra}
            infos.append(ServiceInfo(SERVICE_TYPE, f"{label}.{SERVICE_TYPE}", port=port,
                                     properties=txt, server=f"{label}.local.",
                                     parsed_addresses=["127.0.0.1"]))
        self.zc = Zeroconf(interfaces=["127.0.0.1"], use_asyncio=False)

        async def register_all() -> None:
            waits = [await self.zc.async_register_service(i, cooperating_responders=True)
                     for i in infos]
            await asyncio.gather(*waits)

        assert self.zc.loop is not None
        asyncio.run_coroutine_threadsafe(register_all(), self.zc.loop).result(30)

    def close(self) -> None:
        try:
            self.zc.unregister_all_services()
        finally:
            self.zc.close()
            for f in self.feeds.values():
                f.close()
