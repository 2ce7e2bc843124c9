"""`p2pdist doctor`: pass/warn/fail checks of a box, each with a hint a technician can follow.

Checks read the data directory directly and ask the daemon when it runs, so the command is
useful exactly when something is broken. The support bundle collects what a remote engineer
needs and never private keys.
"""

from __future__ import annotations

import contextlib
import enum
import io
import json
import os
import shutil
import socket
import stat
import subprocess
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
    """Every check, in an order where earlier failures explain later ones.

    Each row reports its own problem: a row's failure (an unreadable folder, a broken store)
    fails that row and the doctor goes on with the next.
    """
    now = time.time() if now is None else now
    state = BoxState(data)
    checks = [
        _check("daemon", lambda: _daemon(data)),
        _check("data directory", lambda: _permissions(data, state)),
        _check("free disk", lambda: _disk(data)),
        _check("store", lambda: _store(data)),
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
    checks.append(_check("swarm port", lambda: _swarm_port(data, config)))
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


def _store(data: Path) -> tuple[Verdict, str, str]:
    if not data.is_dir():
        return Verdict.FAIL, _("{dir} does not exist").format(dir=data), ""
    store = Store(data)
    active = []
    for ch in store.channels():
        v = store.active_version(ch)
        if v is not None:
            store.load_manifest(ch, v)  # a damaged manifest fails this row, named
            active.append(f"{ch} v{v}")
    if not active:
        return Verdict.WARN, _("no release is active yet"), _(
            "wait for the first update, or `p2pdist import` one from a USB drive")
    return Verdict.PASS, ", ".join(active), ""


def _clock(data: Path, now: float) -> tuple[Verdict, str, str]:
    shown = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    if now < CLOCK_FLOOR:
        return Verdict.FAIL, _("clock says {t}").format(t=shown), _(
            "set the date (RTC battery?) or enable NTP; signatures expire by the clock")
    for ch, v, created in _signed_times(data):
        if created > now + 600:
            return Verdict.FAIL, _("clock says {t}, before release {ch} v{v} was signed")\
                .format(t=shown, ch=ch, v=v), _("the clock is behind: fix the date")
    return Verdict.PASS, shown, ""


def _signed_times(data: Path) -> list[tuple[str, int, int]]:
    """(channel, version, signing time) of each active release that can be read: a store
    that cannot is the "store" row's problem, not the clock's."""
    out: list[tuple[str, int, int]] = []
    if not data.is_dir():
        return out  # Store() would create it
    try:
        store = Store(data)
        for ch in store.channels():
            v = store.active_version(ch)
            if v is not None:
                out.append((ch, v, store.load_manifest(ch, v).created))
    except (P2PDistError, OSError):
        pass
    return out


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


def _swarm_port(data: Path, config: BoxConfig | None) -> tuple[Verdict, str, str]:
    try:
        st = request(data, "status", timeout=3)
    except P2PDistError:
        return Verdict.WARN, _("daemon not running"), _("start the daemon")
    port = st["swarm_port"]
    hosts = _probe_hosts(config.listen if config is not None else "0.0.0.0:0")
    for host in hosts:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            if s.connect_ex((host, port)) == 0:
                return Verdict.PASS, _("listening on {host} port {p}").format(host=host,
                                                                              p=port), ""
    return Verdict.FAIL, _("port {p} does not accept connections on {hosts}").format(
        p=port, hosts=", ".join(hosts)), _(
        "check the firewall and the listen address in box.toml")


def _probe_hosts(listen: str) -> list[str]:
    """Where the configured swarm address can be reached from here: its own IPs, or for a
    wildcard (0.0.0.0 / [::]) loopback and every interface address."""
    hosts: list[str] = []
    for item in listen.split(","):
        host = item.strip().rpartition(":")[0].strip("[]")
        if host in ("0.0.0.0", "::", ""):
            hosts += _local_hosts()
        else:
            hosts.append(host)
    return list(dict.fromkeys(hosts))


def _local_hosts() -> list[str]:
    return ["127.0.0.1"] + [a.address for addrs in psutil.net_if_addrs().values()
                            for a in addrs if a.family == socket.AF_INET]


LOG_UNITS = ("p2pdist-box", "p2pdist-seeder")
LOG_LINES = 5000
LOG_BYTES = 2 * 1024 * 1024
LOG_DIR = "logs"


def _listing(data: Path) -> list[dict[str, Any]]:
    """Every file of the data directory by name and size (a folder that cannot be read is
    listed as such: the bundle is made exactly when things are broken)."""
    out: list[dict[str, Any]] = []
    try:
        for p in sorted(data.rglob("*")):
            with contextlib.suppress(OSError):
                if p.is_file() and not p.is_symlink() and not p.name.endswith(".key"):
                    out.append({"path": str(p.relative_to(data)), "size": p.stat().st_size})
    except OSError as e:
        out.append({"error": str(e.strerror or e)})
    return out


def _scrub(text: bytes) -> bytes:
    """Drop any line that looks like key material, should a log ever have caught one."""
    return b"".join(line for line in text.splitlines(keepends=True)
                    if b"PRIVATE KEY" not in line)


def recent_logs(data: Path) -> list[tuple[str, bytes]]:
    """The recent daemon logs for the bundle: the systemd journal of the p2pdist units
    (`journalctl`, where there is one), and the tail of every `*.log` in DATA/logs/ or DATA
    (a daemon started by hand with its output sent there). Never a key file."""
    out: list[tuple[str, bytes]] = []
    journalctl = shutil.which("journalctl")
    if journalctl is not None:
        for unit in LOG_UNITS:
            try:
                r = subprocess.run([journalctl, "-u", unit, "-n", str(LOG_LINES), "--no-pager",
                                    "-o", "short-iso"], capture_output=True, timeout=20,
                                   check=False)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if r.returncode == 0 and r.stdout.strip() and b"-- No entries --" not in r.stdout:
                out.append((f"logs/journal-{unit}.txt", _scrub(r.stdout[-LOG_BYTES:])))
    for folder in (data / LOG_DIR, data):
        with contextlib.suppress(OSError):
            for p in sorted(folder.glob("*.log")):
                if p.is_file() and not p.is_symlink():
                    with p.open("rb") as f:
                        f.seek(max(0, p.stat().st_size - LOG_BYTES))
                        out.append((f"logs/{p.name}", _scrub(f.read())))
    return out


def write_report(data: Path, checks: list[Check], out: Path) -> None:
    """A support bundle (tar.gz): checks, config, daemon status, store listing, recent logs,
    versions.

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
    listing = _listing(data)
    with tarfile.open(out, "w:gz") as tar:
        add(tar, "doctor.json", json.dumps([asdict(c) for c in checks], ensure_ascii=False,
                                           indent=2).encode())
        add(tar, "status.json", json.dumps(status, ensure_ascii=False, indent=2).encode())
        add(tar, "files.json", json.dumps(listing, ensure_ascii=False).encode())
        add(tar, "versions.json", json.dumps({
            "p2pdist": __version__, "libtorrent": lt.__version__,
            "python": platform.python_version(), "platform": platform.platform()}).encode())
        cfg = data / CONFIG_NAME
        with contextlib.suppress(OSError):
            if cfg.is_file():
                add(tar, CONFIG_NAME, cfg.read_bytes())
        for name, text in recent_logs(data):
            add(tar, name, text)
