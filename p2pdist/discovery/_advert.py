"""What a node says about itself over DNS-SD, and the strict parser for what neighbours say (pure).

An advert travels as the SRV port (the feed port), the A/AAAA records (addresses) and a small TXT
record. Everything in it is a hint: manifests and pieces fetched because of it are verified by
signature later. Still, a record is parsed as if hostile, because a box must never crash, loop or
hoard memory because a neighbour lies.

TXT keys (all values ASCII except the site, which is UTF-8):

    v=1                               format version; other versions are refused
    id=<16-64 lowercase hex>          node id (a box's identity key id)
    r=box|seeder                      role
    s=<site>                          site name, omitted when empty
    sp=<0-65535>                      BitTorrent port, 0 when not seeding
    ch=<channel>:<version>,...        latest version held per channel, omitted when none
    m=1                               `ch` is partial (it did not fit); ask the feed for the rest
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from keys import is_valid_channel
from p2pdist.errors import PeerError
from p2pdist.i18n import _

SERVICE_TYPE = "_p2pdist._tcp.local."
INSTANCE_PREFIX = "p2pdist-"
TXT_FORMAT = "1"

MAX_TXT_BYTES = 400
"""Our own TXT record, on the wire. Keeps the whole announcement in one small packet."""
MAX_TXT_STRING = 255
"""DNS limit for one TXT string (``key=value``)."""
MAX_INCOMING_TXT_BYTES = 1024
"""A neighbour's TXT record; room for keys a later version may add, far below packet size."""
MAX_INCOMING_TXT_KEYS = 32
MIN_NODE_ID = 16
MAX_NODE_ID = 64
MAX_SITE_BYTES = 48
"""16 Chinese characters in UTF-8: a township station's short name."""
MAX_CHANNELS = 64
MAX_VERSION = 999_999_999
MAX_ADDRESSES = 16

Role = Literal["box", "seeder"]

_NODE_ID = re.compile(rf"[0-9a-f]{{{MIN_NODE_ID},{MAX_NODE_ID}}}")
_PORT = re.compile(r"0|[1-9][0-9]{0,4}")
_VERSION = re.compile(r"[1-9][0-9]{0,8}")
_INSTANCE_SUFFIX = re.compile(r"(-[1-9][0-9]{0,3})?")
_TYPE_SUFFIX = "." + SERVICE_TYPE


class BadAdvertError(PeerError):
    """A neighbour's DNS-SD record is malformed or lies; the neighbour is ignored.

    Attributes:
        name: the DNS-SD instance name the record came under.
        field: which part was wrong (``node_id``, ``swarm_port``, ``channels``, ``txt``, ...).
    """

    def __init__(self, name: str, field: str, reason: str) -> None:
        # The value itself is never echoed: it comes from a hostile peer and may be huge or
        # contain control characters that garble a technician's terminal.
        super().__init__(
            _("neighbour {name}: bad {field}: {reason}").format(
                name=_printable(name), field=field, reason=reason
            )
        )
        self.name = name
        self.field = field


class _FieldError(ValueError):
    """An Advert field is invalid; a ValueError to callers, with the field for `from_txt`."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _printable(text: str, limit: int = 80) -> str:
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def instance_label(node_id: str, attempt: int = 1) -> str:
    """The DNS-SD instance label for a node: ``p2pdist-<first 16 hex of the id>[-N]``.

    Derived from the node id, never from the host name: boxes cloned from one image (and test
    namespaces) share host names, and equal instance names on one LAN refuse to register.

    Args:
        node_id: the node's id (lowercase hex).
        attempt: 1 for the plain label; 2, 3, ... after a name conflict.

    Returns:
        The label, without the service type.
    """
    label = INSTANCE_PREFIX + node_id[:MIN_NODE_ID]
    return label if attempt == 1 else f"{label}-{attempt}"


def _check_node_id(node_id: object) -> str:
    if not isinstance(node_id, str) or _NODE_ID.fullmatch(node_id) is None:
        raise _FieldError(
            "node_id",
            _("must be {lo} to {hi} lowercase hex digits").format(lo=MIN_NODE_ID, hi=MAX_NODE_ID),
        )
    return node_id


def _check_role(role: object) -> Role:
    if role == "box":
        return "box"
    if role == "seeder":
        return "seeder"
    raise _FieldError("role", _("must be 'box' or 'seeder'"))


def _check_site(site: object) -> str:
    if not isinstance(site, str):
        raise _FieldError("site", _("must be text"))
    site = unicodedata.normalize("NFC", site)
    if not site.isprintable():
        raise _FieldError("site", _("must not contain control characters"))
    if len(site.encode("utf-8")) > MAX_SITE_BYTES:
        raise _FieldError("site", _("longer than {n} bytes in UTF-8").format(n=MAX_SITE_BYTES))
    return site


def _check_port(name: str, port: object, *, allow_zero: bool) -> int:
    lo = 0 if allow_zero else 1
    if isinstance(port, bool) or not isinstance(port, int) or not lo <= port <= 65535:
        raise _FieldError(name, _("must be a port number from {lo} to 65535").format(lo=lo))
    return port


def _check_channels(channels: object) -> Mapping[str, int]:
    if not isinstance(channels, Mapping):
        raise _FieldError("channels", _("must map channel names to versions"))
    if len(channels) > MAX_CHANNELS:
        raise _FieldError("channels", _("more than {n} channels").format(n=MAX_CHANNELS))
    for channel, version in channels.items():
        if not isinstance(channel, str) or not is_valid_channel(channel):
            raise _FieldError("channels", _("a channel name is not valid"))
        if isinstance(version, bool) or not isinstance(version, int):
            raise _FieldError("channels", _("a version is not an integer"))
        if not 1 <= version <= MAX_VERSION:
            raise _FieldError("channels", _("a version is outside 1 to {n}").format(n=MAX_VERSION))
    return MappingProxyType(dict(sorted(channels.items())))


def _check_addresses(addresses: object) -> tuple[str, ...]:
    if isinstance(addresses, str | bytes) or not isinstance(addresses, Iterable):
        raise _FieldError("addresses", _("must be a list of IP addresses"))
    seen: dict[str, None] = {}
    for address in addresses:
        if not isinstance(address, str):
            raise _FieldError("addresses", _("an address is not text"))
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise _FieldError("addresses", _("an address is not an IP address")) from None
        if ip.is_unspecified or ip.is_multicast:
            raise _FieldError("addresses", _("an address is unspecified or multicast"))
        seen[str(ip)] = None
        if len(seen) > MAX_ADDRESSES:
            raise _FieldError("addresses", _("more than {n} addresses").format(n=MAX_ADDRESSES))
    return tuple(seen)


@dataclass(frozen=True, kw_only=True)
class Advert:
    """A node as announced on the LAN: who it is, where to reach it, what it holds.

    Attributes:
        node_id: lowercase hex, 16 to 64 digits (a box's identity key id).
        role: "box" or "seeder".
        feed_port: the feed HTTP port (the DNS-SD SRV port).
        swarm_port: the BitTorrent port; 0 when the node does not seed.
        site: the station's short name (UTF-8 NFC, at most 48 bytes); "" when unset.
        channels: the latest manifest version held, per channel.
        addresses: IPv4/IPv6 literals. Empty in our own advert means "the addresses of the
            interfaces we announce on"; a neighbour's advert always has at least one.
        more_channels: `channels` is only part of what the node holds (its TXT record had no
            room for all); the feed's /info has the full list.

    Raises:
        ValueError: a field is invalid (the message names it).
    """

    node_id: str
    role: Role
    feed_port: int
    swarm_port: int
    site: str = ""
    channels: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    addresses: tuple[str, ...] = ()
    more_channels: bool = False

    def __post_init__(self) -> None:
        _check_node_id(self.node_id)
        _check_role(self.role)
        _check_port("feed_port", self.feed_port, allow_zero=False)
        _check_port("swarm_port", self.swarm_port, allow_zero=True)
        if not isinstance(self.more_channels, bool):
            raise _FieldError("more_channels", _("must be true or false"))
        # Normalized copies, so two adverts that mean the same compare equal.
        object.__setattr__(self, "site", _check_site(self.site))
        object.__setattr__(self, "channels", _check_channels(self.channels))
        object.__setattr__(self, "addresses", _check_addresses(self.addresses))

    def to_txt(self) -> dict[str, str]:
        """The TXT record to register, at most `MAX_TXT_BYTES` on the wire.

        Channels go in name order, each one that still fits (one TXT string is also limited to
        255 bytes); when some are left out, ``m=1`` says so.

        Returns:
            TXT keys and values.
        """
        txt = {"v": TXT_FORMAT, "id": self.node_id, "r": self.role, "sp": str(self.swarm_port)}
        if self.site:
            txt["s"] = self.site
        entries = [f"{c}:{v}" for c, v in self.channels.items()]
        full = ",".join(entries)
        more = self.more_channels
        if full and not _fits(txt, full, more):
            more = True
            kept: list[str] = []
            for entry in entries:
                if _fits(txt, ",".join([*kept, entry]), more):
                    kept.append(entry)
            full = ",".join(kept)
        if full:
            txt["ch"] = full
        if more:
            txt["m"] = "1"
        return txt

    @classmethod
    def from_txt(
        cls,
        name: str,
        addresses: Iterable[str],
        port: int | None,
        txt: Mapping[bytes, bytes | None],
    ) -> Advert:
        """Parse a neighbour's DNS-SD record, checking every field.

        Args:
            name: the full instance name (``p2pdist-<16 hex>[-N]._p2pdist._tcp.local.``); it
                must match the node id, so one node cannot take over another's name.
            addresses: the A/AAAA records, as IP literals (an IPv6 scope is kept).
            port: the SRV port (the feed port).
            txt: the TXT record as python-zeroconf decodes it (a key without ``=`` maps to None).

        Returns:
            The advert.

        Raises:
            BadAdvertError: the record is malformed or inconsistent; `field` says which part.
        """
        try:
            values = _txt_values(txt)
            if values.get("v") != TXT_FORMAT:
                raise _FieldError("v", _("unsupported format (this box reads v=1)"))
            node_id = _check_node_id(values.get("id"))
            _check_instance_name(name, node_id)
            advert = cls(
                node_id=node_id,
                role=_check_role(values.get("r")),
                feed_port=_check_port("feed_port", port, allow_zero=False),
                swarm_port=_parse_port(values.get("sp")),
                site=values.get("s", ""),
                channels=_parse_channels(values.get("ch", "")),
                addresses=_check_addresses(addresses),
                more_channels=_parse_more(values.get("m", "0")),
            )
            if not advert.addresses:
                raise _FieldError("addresses", _("no address"))
        except _FieldError as e:
            raise BadAdvertError(str(name), e.field, e.reason) from None
        return advert


def _txt_size(items: Iterable[tuple[str, str]]) -> int:
    return sum(1 + len(f"{k}={v}".encode()) for k, v in items)


def _fits(txt: Mapping[str, str], channels: str, more: bool) -> bool:
    entry = f"ch={channels}"
    extra = [("ch", channels)] + ([("m", "1")] if more else [])
    return (
        len(entry.encode()) <= MAX_TXT_STRING and _txt_size([*txt.items(), *extra]) <= MAX_TXT_BYTES
    )


def _txt_values(txt: Mapping[bytes, bytes | None]) -> dict[str, str]:
    """Decode the TXT keys this version knows; unknown keys are skipped (forward compatibility)."""
    if not isinstance(txt, Mapping):
        raise _FieldError("txt", _("not a TXT record"))
    if len(txt) > MAX_INCOMING_TXT_KEYS:
        raise _FieldError("txt", _("more than {n} keys").format(n=MAX_INCOMING_TXT_KEYS))
    size = 0
    values: dict[str, str] = {}
    for key, value in txt.items():
        if not isinstance(key, bytes) or not (value is None or isinstance(value, bytes)):
            raise _FieldError("txt", _("keys and values must be bytes"))
        size += 1 + len(key) + (0 if value is None else 1 + len(value))
        if size > MAX_INCOMING_TXT_BYTES:
            raise _FieldError("txt", _("larger than {n} bytes").format(n=MAX_INCOMING_TXT_BYTES))
        if key not in _KNOWN_KEYS:
            continue
        field_name = _KNOWN_KEYS[key]
        if value is None:
            raise _FieldError(field_name, _("has no value"))
        try:
            values[key.decode("ascii")] = value.decode("utf-8" if key == b"s" else "ascii")
        except UnicodeDecodeError:
            raise _FieldError(field_name, _("is not valid text")) from None
    return values


_KNOWN_KEYS = {
    b"v": "v",
    b"id": "node_id",
    b"r": "role",
    b"s": "site",
    b"sp": "swarm_port",
    b"ch": "channels",
    b"m": "more_channels",
}


def _check_instance_name(name: object, node_id: str) -> None:
    if not isinstance(name, str) or not name.endswith(_TYPE_SUFFIX):
        raise _FieldError("name", _("not an instance of {t}").format(t=SERVICE_TYPE))
    label = name[: -len(_TYPE_SUFFIX)]
    base = instance_label(node_id)
    if not label.startswith(base) or _INSTANCE_SUFFIX.fullmatch(label[len(base) :]) is None:
        raise _FieldError("name", _("the instance name does not match the node id"))


def _parse_port(text: str | None) -> int:
    if text is None:
        raise _FieldError("swarm_port", _("missing"))
    if _PORT.fullmatch(text) is None:
        raise _FieldError("swarm_port", _("must be a port number from 0 to 65535"))
    return _check_port("swarm_port", int(text), allow_zero=True)


def _parse_more(text: str) -> bool:
    if text not in ("0", "1"):
        raise _FieldError("more_channels", _("must be 0 or 1"))
    return text == "1"


def _parse_channels(text: str) -> dict[str, int]:
    if not text:
        return {}
    entries = text.split(",")
    if len(entries) > MAX_CHANNELS:
        raise _FieldError("channels", _("more than {n} channels").format(n=MAX_CHANNELS))
    channels: dict[str, int] = {}
    for entry in entries:
        channel, sep, version = entry.rpartition(":")
        if not sep or not is_valid_channel(channel):
            raise _FieldError("channels", _("a channel name is not valid"))
        if _VERSION.fullmatch(version) is None:
            raise _FieldError("channels", _("a version is outside 1 to {n}").format(n=MAX_VERSION))
        if channel in channels:
            raise _FieldError("channels", _("a channel is listed twice"))
        channels[channel] = int(version)
    return channels
