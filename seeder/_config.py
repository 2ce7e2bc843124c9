"""`seeder.toml`: everything a seeder is told, validated at start with the key named in every error.

A seeder is either the national **origin** (``origin = true``: it seeds what `p2pdist release
publish` put into its data directory) or a **follower** of one or more upstream feeds (the
origin, or a parent seeder). Relative paths are read relative to the configuration file.
Nothing is contacted that this file, a signed manifest or an upstream feed does not name.
"""

from __future__ import annotations

import ipaddress
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys import is_valid_channel
from p2pdist.errors import ConfigError
from p2pdist.i18n import _
from p2pdist.swarm import SwarmConfig, WanSchedule

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class SeederConfig:
    """A validated seeder configuration (see `TEMPLATE` for what each setting means)."""

    path: Path
    data: Path
    root: Path
    channels: tuple[str, ...]
    rotations: tuple[Path, ...] = ()
    origin: bool = False
    upstream: tuple[str, ...] = ()
    poll_interval_s: float = 60.0
    listen: str = "0.0.0.0:6881"
    feed: str = "0.0.0.0:8470"
    metrics: str = "127.0.0.1:9470"
    lan: tuple[str, ...] = ()
    wan_limit: tuple[str, ...] = ()
    max_connections: int = 2000
    max_connections_per_torrent: int = 1000
    allow_boxes: frozenset[str] | None = None
    forward_to: str | None = None
    dht: bool = False
    super_seed: bool = False
    """Super-seeding for complete releases: each peer gets pieces no one else has, so a seeder
    behind a thin link sends ~1.0 copies instead of ~1.4 (NOTES-testbed), but only where the
    downloaders trade among themselves. Off by default: on a shared uplink only the elected box
    of each site dials seeders, and those boxes never trade with each other, so a super-seed
    reveals the next piece to a peer only after a timeout (measured: 12 s to the first byte and
    10 s for the last piece of a 16 MiB release on loopback, 1.1 s without)."""
    super_seed_min_peers: int = 4
    """With `super_seed`, super-seed a release only while at least this many peers are
    connected to it; with fewer (a province fetching from the origin, one box) seed plainly."""
    dht_nodes: tuple[tuple[str, int], ...] = ()
    stale_hours: float = 24.0
    keep_previous_s: float = 600.0
    """After a new release, the previous one stays seeded this long (0: dropped at once)."""
    web: str = ""
    """The operator's dashboard, HOST:PORT ("" for none)."""

    def swarm_config(self) -> SwarmConfig:
        """The swarm settings: many connections, WAN caps, and the private DHT if asked for."""
        return SwarmConfig(
            listen_interfaces=self.listen,
            resume_dir=self.data / "state" / "resume",
            lan_subnets=self.lan,
            wan_schedule=WanSchedule.parse(self.wan_limit) if self.wan_limit else WanSchedule(),
            dht_bootstrap_nodes=self.dht_bootstrap(),
            connections_limit=self.max_connections,
            connections_per_torrent=self.max_connections_per_torrent,
        )

    def dht_bootstrap(self) -> tuple[tuple[str, int], ...]:
        """DHT nodes to join: `dht_nodes`, or this seeder's own address so that it runs a node
        of its own that boxes and lower seeders bootstrap from (libtorrent starts its DHT only
        when it has a bootstrap node); nothing when `dht` is off."""
        if not self.dht:
            return ()
        if self.dht_nodes:
            return self.dht_nodes
        host, _sep, port = self.listen.split(",")[0].strip().rpartition(":")
        ip = ipaddress.ip_address(host.strip("[]"))
        own = ("::1" if ip.version == 6 else "127.0.0.1") if ip.is_unspecified else str(ip)
        return ((own, int(port)),)


def _is_http_url(text: str) -> bool:
    return text.startswith(("http://", "https://")) and len(text) > len("https://")


def _is_box_id(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


def _address(text: str, *, port_zero: bool) -> tuple[str, int] | None:
    """(ip, port) of ``IP:PORT`` / ``[V6]:PORT``, or None; port 0 (any free port) if allowed."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    if not sep or not port.isdigit() or not (0 if port_zero else 1) <= int(port) < 65536:
        return None
    return host, int(port)


class _Reader:
    """Typed access to the raw TOML table; every error names the file and the key."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self.path = path
        self.raw = raw
        self.used: set[str] = set()

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(_("{path}: {key}: {problem}").format(path=self.path, key=key,
                                                                 problem=problem))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, what: str) -> Any:
        self.used.add(key)
        if key not in self.raw:
            return default
        value = self.raw[key]
        if isinstance(value, bool) and kind is not bool:
            raise self.fail(key, _("must be {what}").format(what=what))
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind):
            raise self.fail(key, _("must be {what}").format(what=what))
        return value

    def strings(self, key: str, *, single: bool = False) -> tuple[str, ...]:
        what = _("a string or a list of strings") if single else _("a list of strings")
        value = self.get(key, (list, str) if single else list, [], what)
        items = [value] if isinstance(value, str) else value
        if not all(isinstance(v, str) for v in items):
            raise self.fail(key, _("must be {what}").format(what=what))
        return tuple(items)

    def file(self, key: str, required: bool) -> Path | None:
        value = self.get(key, str, None, _("a file path"))
        if value is None:
            if required:
                raise self.fail(key, _("is missing"))
            return None
        return (self.path.parent / str(value)).resolve()

    def check_all_known(self) -> None:
        unknown = sorted(set(self.raw) - self.used)
        if unknown:
            raise ConfigError(_("{path}: unknown setting(s) {names}").format(
                path=self.path, names=", ".join(unknown)))


def load_config(path: Path) -> SeederConfig:
    """Read and validate a seeder.toml.

    Raises:
        ConfigError: missing or unreadable file, not TOML, an unknown key, or a bad value; the
            message names the file and the key.
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(_("{path} does not exist; `p2pdist seeder init` writes one").format(
            path=path)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(_("{path}: {err}").format(path=path, err=e)) from e
    r = _Reader(path, raw)
    values = {**_files(r), **_role(r), **_addresses(r), **_swarm_limits(r), **_dht(r),
              "allow_boxes": _allow_list(r)}
    r.check_all_known()
    return SeederConfig(path=path, **values)


def _files(r: _Reader) -> dict[str, Any]:
    data = r.file("data", required=True)
    root = r.file("root", required=True)
    rotations = tuple((r.path.parent / p).resolve() for p in r.strings("rotations"))
    return {"data": data, "root": root, "rotations": rotations}


def _role(r: _Reader) -> dict[str, Any]:
    """What the seeder carries, where it comes from, where check-ins go."""
    channels = r.strings("channels")
    if not channels:
        raise r.fail("channels", _("list at least one channel, e.g. [\"national/winter-2027\"]"))
    for c in channels:
        if not is_valid_channel(c):
            raise r.fail("channels", _("{c!r} is not a channel name").format(c=c))
    origin = r.get("origin", bool, False, _("true or false"))
    upstream = r.strings("upstream", single=True)
    if origin == bool(upstream):
        raise r.fail("origin/upstream", _(
            "set either origin = true (this seeder seeds what `p2pdist release publish` put in "
            "its data directory) or upstream = \"http://...\" (the feed it follows), not both"))
    _check_urls(r, "upstream", upstream)
    forward_to = r.get("forward_to", str, None, _("a URL"))
    if forward_to is not None:
        _check_urls(r, "forward_to", (forward_to,))
    poll = r.get("poll_interval_s", float, 60.0, _("a number of seconds"))
    if not poll >= 0.2:  # also refuses NaN
        raise r.fail("poll_interval_s", _("must be at least 0.2 seconds"))
    stale = r.get("stale_hours", float, 24.0, _("a number of hours"))
    if not stale > 0:
        raise r.fail("stale_hours", _("must be positive"))
    keep = r.get("keep_previous_s", float, 600.0, _("a number of seconds"))
    if not keep >= 0:
        raise r.fail("keep_previous_s", _("must be 0 or more seconds"))
    return {"channels": channels, "origin": origin, "upstream": upstream,
            "forward_to": forward_to, "poll_interval_s": poll, "stale_hours": stale,
            "keep_previous_s": keep}


def _addresses(r: _Reader) -> dict[str, Any]:
    listen = r.get("listen", str, "0.0.0.0:6881", _("an address like 0.0.0.0:6881"))
    if any(_address(item, port_zero=True) is None for item in listen.split(",")):
        raise r.fail("listen", _("{value!r} is not IP:PORT[,IP:PORT...]").format(value=listen))
    feed = r.get("feed", str, "0.0.0.0:8470", _("an address like 0.0.0.0:8470"))
    if _address(feed, port_zero=True) is None:
        raise r.fail("feed", _("{value!r} is not IP:PORT").format(value=feed))
    metrics = r.get("metrics", str, "127.0.0.1:9470",
                    _("an address like 127.0.0.1:9470, or \"\" for none"))
    if metrics and _address(metrics, port_zero=True) is None:
        raise r.fail("metrics", _("{value!r} is not IP:PORT").format(value=metrics))
    web = r.get("web", str, "", _("an address like 0.0.0.0:8480, or \"\" for none"))
    if web and _address(web, port_zero=True) is None:
        raise r.fail("web", _("{value!r} is not IP:PORT").format(value=web))
    return {"listen": listen, "feed": feed, "metrics": metrics, "web": web}


def _swarm_limits(r: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, default in (("max_connections", 2000), ("max_connections_per_torrent", 1000)):
        out[key] = r.get(key, int, default, _("a whole number"))
        if out[key] < 1:
            raise r.fail(key, _("must be at least 1"))
    out["lan"] = r.strings("lan")
    for net in out["lan"]:
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError as e:
            raise r.fail("lan", _("{net!r} is not a subnet like 192.168.1.0/24").format(
                net=net)) from e
    out["wan_limit"] = r.strings("wan_limit")
    try:
        WanSchedule.parse(out["wan_limit"])
    except ConfigError as e:
        raise r.fail("wan_limit", str(e)) from e
    return out


def _dht(r: _Reader) -> dict[str, Any]:
    dht = r.get("dht", bool, False, _("true or false"))
    nodes = []
    for text in r.strings("dht_nodes"):
        ep = _address(text, port_zero=False)
        if ep is None:
            raise r.fail("dht_nodes", _("{text!r} is not IP:PORT").format(text=text))
        nodes.append(ep)
    if nodes and not dht:
        raise r.fail("dht_nodes", _("is set but dht = false; set dht = true to join them"))
    listen_port = r.raw.get("listen", "0.0.0.0:6881").split(",")[0].rpartition(":")[2]
    if dht and not nodes and listen_port == "0":
        raise r.fail("dht", _("a DHT node needs a fixed port in listen (not 0), or dht_nodes "
                              "to join"))
    super_seed = r.get("super_seed", bool, False, _("true or false"))
    min_peers = r.get("super_seed_min_peers", int, 4, _("a whole number"))
    if min_peers < 1:
        raise r.fail("super_seed_min_peers", _("must be at least 1"))
    return {"dht": dht, "dht_nodes": tuple(nodes), "super_seed": super_seed,
            "super_seed_min_peers": min_peers}


def _check_urls(r: _Reader, key: str, urls: tuple[str, ...]) -> None:
    for url in urls:
        if not _is_http_url(url):
            raise r.fail(key, _("{url!r} is not an http:// or https:// URL").format(url=url))


def _allow_list(r: _Reader) -> frozenset[str] | None:
    """`allow_boxes`: a list of box ids, or a file with one id per line (# comments)."""
    value = r.get("allow_boxes", (list, str), None, _("a list of box ids or a file path"))
    if value is None:
        return None
    if isinstance(value, str):
        file = (r.path.parent / value).resolve()
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise r.fail("allow_boxes", _("cannot read {file}: {err}").format(
                file=file, err=e.strerror)) from e
        ids = [line.split("#", 1)[0].strip() for line in lines]
        ids = [i for i in ids if i]
    else:
        ids = value
    for i in ids:
        if not isinstance(i, str) or not _is_box_id(i):
            raise r.fail("allow_boxes", _("{id!r} is not a box id (64 hex digits, as `p2pdist "
                                           "box init` prints)").format(id=i))
    return frozenset(ids)


TEMPLATE = """\
# p2pdist seeder configuration. Relative paths are relative to this file.

# Where the seeder keeps releases, resume data, its identity and the check-ins database.
data = {data}
# The trust root this seeder pins (from the national center); later roots are verified from it.
root = {root}
# Newer roots to trust, oldest first (the origin's way to learn a rotation; followers get them
# from upstream).
rotations = []
# The channels this seeder carries.
channels = {channels}

# Either the national origin: seed what `p2pdist release publish --to DATA` put here ...
origin = {origin}
# ... or follow upstream feeds (the origin or a parent seeder), e.g. "http://10.0.0.1:8470".
upstream = {upstream}
# Seconds between polls of upstream (or of the data directory, for the origin).
poll_interval_s = {poll}
# After a new release, keep seeding the previous one this long (boxes still on it finish).
keep_previous_s = 600

# BitTorrent address (a fixed port, so boxes and manifests can name it).
listen = {listen}
# The feed HTTP API (roots, manifests, check-ins) that boxes and lower seeders use.
feed = {feed}
# Prometheus metrics (GET /metrics); "" turns them off. Keep it off the public network.
metrics = {metrics}
# The operator's dashboard (rollout, service data, demand; JSON under /api/); "" for none.
# Read-only and without a login: serve it on the operators' network only.
web = {web}

# Subnets whose peers are LAN (never capped).
lan = []
# Caps for WAN peers by time of day, e.g. ["8Mbit@08:00-18:00", "50Mbit"].
wan_limit = []
max_connections = 2000
max_connections_per_torrent = 1000

# Super-seed complete releases (each peer gets pieces nobody else has yet): ~1.0 copies sent
# over a thin uplink instead of ~1.4, but only where the downloaders trade with each other
# (own-link boxes); elected boxes of shared-uplink sites do not, and a super-seed then waits
# seconds before each new piece. Applied only while at least super_seed_min_peers peers are
# connected to the release.
super_seed = false
super_seed_min_peers = 4
# Run a private DHT node boxes can bootstrap from (peer exchange works without it).
dht = false
# DHT nodes to join instead of starting a new DHT, e.g. the origin's ["10.0.0.1:6881"].
dht_nodes = []

# Take check-ins only from these boxes: a list of box ids, or a file with one per line.
# allow_boxes = "boxes.txt"
# Pass accepted check-ins up to this seeder's parent, e.g. "http://10.0.0.1:8470" (a
# province forwards to the national origin, so the origin sees the whole country).
{forward_to}
# `p2pdist seeder status` calls a box stale after this many hours without a check-in.
stale_hours = 24
"""


def render_template(*, data: str, root: str, channels: tuple[str, ...], origin: bool,
                    upstream: tuple[str, ...], listen: str, feed: str,
                    metrics: str = "127.0.0.1:9470", poll_interval_s: int = 60, web: str = "",
                    forward_to: str | None = None) -> str:
    """The commented seeder.toml `p2pdist seeder init` writes."""
    def v(x: object) -> str:
        return json.dumps(x, ensure_ascii=False)

    return TEMPLATE.format(data=v(data), root=v(root), channels=v(list(channels)),
                           origin="true" if origin else "false", upstream=v(list(upstream)),
                           listen=v(listen), feed=v(feed), metrics=v(metrics),
                           poll=poll_interval_s, web=v(web),
                           forward_to=(f"forward_to = {v(forward_to)}" if forward_to
                                       else '# forward_to = "http://..."'))
