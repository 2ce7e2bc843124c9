"""The box's configuration file, <data>/box.toml, written by `p2pdist box init`.

Every address the box talks to comes from here, a manifest, or LAN discovery: nothing is
contacted that this file (or a signed manifest) does not name. Errors name the file, the key and
what is wrong, at start, in plain words.
"""

from __future__ import annotations

import ipaddress
import json
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from keys import is_valid_channel

from .errors import ConfigError
from .fs import atomic_write
from .i18n import _
from .store import Policy
from .swarm import WanSchedule

CONFIG_NAME = "box.toml"
SITE_MODES = ("shared-uplink", "own-link")
MAX_SITE = 64  # check-ins and LAN adverts carry it
WEB_PORT = 8480
MAX_ELECTION_GRACE_S = 10


def default_web(feed: str) -> str:
    """The library web's default address: the feed's (the box's LAN address), port 8480 (port
    0, any free port, when the feed's is 0 too: test and demo boxes sharing one machine)."""
    host, _sep, port = feed.rpartition(":")
    return f"{host or '0.0.0.0'}:{0 if port == '0' else WEB_PORT}"


@dataclass(frozen=True)
class BoxConfig:
    """What `box init` asks for; defaults suit a box on a station LAN."""

    channels: tuple[str, ...]
    seeders: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()
    """Feed URLs of same-site boxes, for LANs where multicast (mDNS) is filtered."""
    site: str = ""
    site_mode: str = "shared-uplink"
    lan: tuple[str, ...] = ()
    wan_limit: tuple[str, ...] = ()
    policy: tuple[str, ...] = ()
    listen: str = "0.0.0.0:6881"
    feed: str = "0.0.0.0:8471"
    mdns: bool = True
    mdns_interfaces: tuple[str, ...] = ()
    poll_interval_s: float = 300.0
    utp: bool = False
    stall_s: float = 60.0
    """Seconds without payload, pieces missing, before a download tries every other source."""
    election_grace_s: float = 2.0
    """With mDNS on a shared uplink: seconds after start before the site's election counts and
    the elected box uses the WAN (boxes starting together see each other ~1.3-1.7 s after
    they register). Manifests and LAN peers do not wait for it."""
    web: str = f"0.0.0.0:{WEB_PORT}"
    """The station's library web, HOST:PORT ("" for none)."""

    def __post_init__(self) -> None:
        if not self.channels:
            raise ConfigError(_("give at least one channel (--channel)"))
        for c in self.channels:
            if not is_valid_channel(c):
                raise ConfigError(_("channel {c!r} is not a valid channel name").format(c=c))
        for url in (*self.seeders, *self.neighbours):
            if not url.startswith(("http://", "https://")):
                raise ConfigError(_("{url!r} must be an http:// or https:// URL (seeders, "
                                    "neighbours)").format(url=url))
        if len(self.site) > MAX_SITE:
            raise ConfigError(_("site name is longer than {n} characters").format(n=MAX_SITE))
        if self.site_mode not in SITE_MODES:
            raise ConfigError(_("site_mode must be one of {modes}").format(
                modes=", ".join(SITE_MODES)))
        for net in self.lan:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as e:
                raise ConfigError(_("lan: {net!r} is not a subnet like 192.168.1.0/24")
                                  .format(net=net)) from e
        for ip in self.mdns_interfaces:
            try:
                ipaddress.ip_address(ip)
            except ValueError as e:
                raise ConfigError(_("mdns_interfaces: {ip!r} is not an IP address")
                                  .format(ip=ip)) from e
        for item in self.listen.split(","):
            if not _is_ip_port(item.strip()):
                raise ConfigError(_("listen: {value!r} is not IP:PORT[,IP:PORT...] (an address "
                                    "of this box, e.g. 0.0.0.0:6881)").format(value=self.listen))
        if not _is_ip_port(self.feed):
            raise ConfigError(_("feed: {value!r} is not IP:PORT (an address of this box, e.g. "
                                "0.0.0.0:8471)").format(value=self.feed))
        if self.web and not _is_ip_port(self.web):
            raise ConfigError(_("web: {value!r} is not IP:PORT (or \"\" for no library web)")
                              .format(value=self.web))
        if not self.poll_interval_s >= 1:  # also refuses NaN
            raise ConfigError(_("poll_interval_s must be at least 1 second"))
        if not self.stall_s >= 1:
            raise ConfigError(_("stall_s must be at least 1 second"))
        if not 0 <= self.election_grace_s <= MAX_ELECTION_GRACE_S:
            raise ConfigError(_("election_grace_s must be from 0 to {n} seconds").format(
                n=MAX_ELECTION_GRACE_S))
        try:
            self.wan_schedule()
        except ConfigError as e:
            raise ConfigError(_("wan_limit: {err}").format(err=e)) from e
        try:
            self.box_policy()
        except ConfigError as e:
            raise ConfigError(_("policy: {err}").format(err=e)) from e

    def wan_schedule(self) -> WanSchedule:
        return WanSchedule.parse(self.wan_limit) if self.wan_limit else WanSchedule()

    def box_policy(self) -> Policy:
        return Policy.parse(*self.policy) if self.policy else Policy()

    def to_toml(self) -> str:
        lines = ["# p2pdist box configuration (p2pdist box init writes it; edit freely)"]
        for f in fields(self):
            lines.append(f"{f.name} = {_toml_value(getattr(self, f.name))}")
        return "\n".join(lines) + "\n"

    def save(self, data_dir: Path) -> Path:
        path = data_dir / CONFIG_NAME
        data_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(path, self.to_toml().encode())
        return path

    @classmethod
    def load(cls, data_dir: Path) -> BoxConfig:
        """Read <data>/box.toml.

        Raises:
            ConfigError: missing, not TOML, unknown keys or bad values (the message says which).
        """
        path = data_dir / CONFIG_NAME
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(_("{path} does not exist: run `p2pdist box init --data {dir}` "
                                "first").format(path=path, dir=data_dir)) from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(_("{path}: {err}").format(path=path, err=e)) from e
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ConfigError(_("{path}: unknown setting(s) {names}").format(
                path=path, names=", ".join(unknown)))
        kwargs: dict[str, Any] = {}
        for name, value in raw.items():
            default = known[name].default
            want = tuple if isinstance(default, tuple) or name == "channels" else type(default)
            if want is tuple:
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(_("{path}: {name} must be a list of strings").format(
                        path=path, name=name))
                value = tuple(value)
            elif want is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            elif not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
                raise ConfigError(_("{path}: {name} must be a {type}").format(
                    path=path, name=name, type=want.__name__))
            kwargs[name] = value
        try:
            return cls(**kwargs)
        except TypeError as e:
            raise ConfigError(_("{path}: {err}").format(path=path, err=e)) from e
        except ConfigError as e:
            raise ConfigError(_("{path}: {err}").format(path=path, err=e)) from e


def _is_ip_port(text: str) -> bool:
    """IP:PORT or [V6]:PORT with a real address (999.1.1.1 is none) and port 0-65535."""
    host, sep, port = text.rpartition(":")
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return bool(sep) and port.isdigit() and int(port) < 65536


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    # JSON string escapes are TOML basic-string escapes; DEL must be escaped too in TOML.
    return json.dumps(str(v), ensure_ascii=False).replace("\x7f", "\\u007f")


