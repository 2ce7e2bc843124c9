"""`p2pdist doctor`: pass/warn/fail checks of a box, each with a hint a technician can follow.

Checks read the data directory directly and ask the daemon when it runs, so the command is
useful exactly when something is broken. The support bundle collects what a remote engineer
needs and never private keys.
"""

from __future__ import annotations

import enum
import io
import json
import os
import shutil
import socket
import stat
import tarfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import trio

from keys import ExpiredError, P2PDistError

from .boxstate import BoxState
from .config import CONFIG_NAME, BoxConfig
from .control import request
from .feeds import FeedClient
from .i18n import _
from .store import DEFAULT_RESERVE, Store

EXPIRY_WARN_S = 30 * 86400
CLOCK_FLOOR = 1_767_225_600  # 2026-01-01: a clock before this is certainly wrong


class Verdict(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    hint: str = ""


def _check(name: str, fn: Callable[[], tuple[Verdict, str, str]]) -> Check:
    try:
        verdict, detail, hint = fn()
    except P2PDistError as e:
        return Check(name, Verdict.FAIL, str(e))
    except OSError as e:
        return Check(name, Verdict.FAIL, f"{e.strerror or e}")
    return Check(name, verdict, detail, hint)


def run_checks(data: Path, now: float | None = None) -> list[Check]:
    """Every check, in an order where earlier failures explain later ones."""
    now = time.time() if now is None else now
    state = BoxState(data)
    checks = [
        _check("daemon", lambda: _daemon(data)),
        _check("data directory", lambda: _permissions(data, state)),
        _check("free disk", lambda: _disk(data)),
        _check("clock", lambda: _clock(data, now)),
        _check("trust root", lambda: _root(state, now)),
    ]
    try:
        config: BoxConfig | None = BoxConfig.load(data)
    except P2PDistError as e:
        checks.append(Check("configuration", Verdict.FAIL, str(e),
                            _("run `p2pdist box init` or fix box.toml")))
        config = None
    if config is not None:
        checks.append(Check("configuration", Verdict.PASS,
                            _("{n} channel(s), {s} seeder(s)").format(
                                n=len(config.channels), s=len(config.seeders))))
        checks += [_check(f"seeder {url}", lambda url=url: _seeder(url))  # type: ignore[misc]
                   for url in config.seeders]
        checks.append(_check("mDNS", lambda: _mdns(config)))
    checks.append(_check("swarm port", lambda: _swarm_port(data)))
    return checks


def _daemon(data: Path) -> tuple[Verdict, str, str]:
    try:
        st = request(data, "status", timeout=3)
    except P2PDistError as e:
        return Verdict.FAIL, str(e), _("start it: `p2pdist box run --data {dir}` (or "
                                       "systemctl start p2pdist-box)").format(dir=data)
    return Verdict.PASS, _("running for {s:.0f}s").format(s=st["uptime_s"]), ""


def _permissions(data: Path, state: BoxState) -> tuple[Verdict, str, str]:
    if not data.is_dir():
        return Verdict.FAIL, _("{dir} does not exist").format(dir=data), _(
            "run `p2pdist box init --data {dir} ...`").format(dir=data)
    if not os.access(data, os.W_OK | os.X_OK):
        return Verdict.FAIL, _("{dir} is not writable by this user").format(dir=data), _(
            "chown it to the box's user, or run as that user")
    key = state.identity_path
    if key.exists() and stat.S_IMODE(key.stat().st_mode) & 0o077:
        return Verdict.FAIL, _("{key} is readable by other users").format(key=key), _(
            "chmod 600 {key}").format(key=key)
    return Verdict.PASS, _("{dir} writable; identity key private").format(dir=data), ""


def _disk(data: Path) -> tuple[Verdict, str, str]:
    free = shutil.disk_usage(data if data.exists() else data.parent).free
    detail = _("{gb:.1f} GB free").format(gb=free / 1e9)
    if free < DEFAULT_RESERVE:
        return Verdict.FAIL, detail, _("free space: delete old files or run gc; a release "
                                       "needs its size plus 256 MiB")
    if free < 5e9:
        return Verdict.WARN, detail, _("less than 5 GB free: a full campaign bundle may not "
                                       "fit")
    return Verdict.PASS, detail, ""


def _clock(data: Path, now: float) -> tuple[Verdict, str, str]:
    shown = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    if now < CLOCK_FLOOR:
        return Verdict.FAIL, _("clock says {t}").format(t=shown), _(
            "set the date (RTC battery?) or enable NTP; signatures expire by the clock")
    store = Store(data) if data.is_dir() else None
    for ch in store.channels() if store else []:
        v = store.active_version(ch) if store else None
        if store and v is not None:
            created = store.load_manifest(ch, v).created
            if created > now + 600:
                return Verdict.FAIL, _("clock says {t}, before release {ch} v{v} was signed")\
                    .format(t=shown, ch=ch, v=v), _("the clock is behind: fix the date")
    return Verdict.PASS, shown, ""


def _root(state: BoxState, now: float) -> tuple[Verdict, str, str]:
    try:
        root = state.trusted_root(int(now))
    except ExpiredError as e:
        return Verdict.FAIL, str(e), _("get the newer root from a seeder or USB export")
    left = root.expires - now
    detail = _("v{v}, expires {d}").format(v=root.version, d=time.strftime(
        "%Y-%m-%d", time.gmtime(root.expires)))
    if left < EXPIRY_WARN_S:
        return Verdict.WARN, detail, _("expires within 30 days; the center must publish a "
                                       "new root version")
    return Verdict.PASS, detail, ""


def _seeder(url: str) -> tuple[Verdict, str, str]:
    async def ask() -> str:
        async with FeedClient(url, timeout_s=5, retries=0) as c:
            info = await c.info()
        return ", ".join(f"{k} v{v}" for k, v in info.channels.items()) or _("no releases")

    try:
        detail = trio.run(ask)
    except P2PDistError as e:
        host = urlsplit(url).hostname
        return Verdict.WARN, str(e), _("check the uplink and that {host} is reachable; boxes "
                                       "still update from LAN neighbours").format(host=host)
    return Verdict.PASS, detail, ""


def _mdns(config: BoxConfig) -> tuple[Verdict, str, str]:
    if not config.mdns:
        return Verdict.WARN, _("disabled in box.toml"), _(
            "enable mdns so LAN neighbours can share updates")
    ifs = [(name, a.address) for name, addrs in psutil.net_if_addrs().items()
           for a in addrs if a.family == socket.AF_INET and not a.address.startswith("127.")]
    up = {n for n, s in psutil.net_if_stats().items() if s.isup}
    lan = [f"{n} {ip}" for n, ip in ifs if n in up]
    if config.mdns_interfaces:
        return Verdict.PASS, _("on {ifs}").format(ifs=", ".join(config.mdns_interfaces)), ""
    if not lan:
        return Verdict.WARN, _("no LAN interface is up"), _(
            "plug in the LAN cable / check the switch; neighbours cannot be found")
    return Verdict.PASS, _("on {ifs}").format(ifs=", ".join(lan)), ""


def _swarm_port(data: Path) -> tuple[Verdict, str, str]:
    try:
        st = request(data, "status", timeout=3)
    except P2PDistError:
        return Verdict.WARN, _("daemon not running"), _("start the daemon")
    port = st["swarm_port"]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        for host in _local_hosts():
            if s.connect_ex((host, port)) == 0:
                return Verdict.PASS, _("listening on port {p}").format(p=port), ""
    return Verdict.FAIL, _("port {p} does not accept connections").format(p=port), _(
        "check the firewall and the listen address in box.toml")


def _local_hosts() -> list[str]:
    return ["127.0.0.1"] + [a.address for addrs in psutil.net_if_addrs().values()
                            for a in addrs if a.family == socket.AF_INET]


def write_report(data: Path, checks: list[Check], out: Path) -> None:
    """A support bundle (tar.gz): checks, config, daemon status, store listing, versions.

    Never includes private keys: only files known to be safe are added, by name.
    """
    import platform

    from . import __version__
    from ._libtorrent import lt

    def add(tar: tarfile.TarFile, name: str, payload: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(payload))

    status: Any
    try:
        status = request(data, "status", timeout=3)
    except P2PDistError as e:
        status = {"error": str(e)}
    listing = [{"path": str(p.relative_to(data)), "size": p.stat().st_size}
               for p in sorted(data.rglob("*")) if p.is_file() and not p.is_symlink()
               and not p.name.endswith(".key")] if data.is_dir() else []
    with tarfile.open(out, "w:gz") as tar:
        add(tar, "doctor.json", json.dumps([asdict(c) for c in checks], ensure_ascii=False,
                                           indent=2).encode())
        add(tar, "status.json", json.dumps(status, ensure_ascii=False, indent=2).encode())
        add(tar, "files.json", json.dumps(listing, ensure_ascii=False).encode())
        add(tar, "versions.json", json.dumps({
            "p2pdist": __version__, "libtorrent": lt.__version__,
            "python": platform.python_version(), "platform": platform.platform()}).encode())
        cfg = data / CONFIG_NAME
        if cfg.is_file():
            add(tar, CONFIG_NAME, cfg.read_bytes())
