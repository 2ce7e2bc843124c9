"""The feed API's shared vocabulary: paths, limits and the `/info` document (pure, no I/O).

Both ends import this module, so a box talking to a neighbour and a seeder talking to a box agree on
every path and limit by construction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, cast

from keys import is_valid_channel

from ..i18n import _

API_VERSION = 1
PREFIX = "/p2pdist/v1"
INFO_PATH = f"{PREFIX}/info"
ROOTS_PATH = f"{PREFIX}/roots/"
MANIFEST_PATH = f"{PREFIX}/manifest"
CHECKINS_PATH = f"{PREFIX}/checkins"

MAX_INFO_BYTES = 64 * 1024
"""An /info document; a box with hundreds of channels stays far below this."""
MAX_CHECKIN_BYTES = 64 * 1024
"""A check-in body (and its JSON answer): signed service counters, never media."""
MAX_QUERY_BYTES = 512
"""A query string; the longest valid channel, percent-encoded, is well under this."""
MAX_NODE_ID = 128
MAX_INFO_CHANNELS = 1024
MAX_ROOT_VERSION_DIGITS = 9

Role = Literal["box", "seeder"]
ROLES: frozenset[str] = frozenset({"box", "seeder"})


def _is_int(value: object) -> bool:
    # bool is an int subclass; JSON true must not pass as version 1.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class FeedInfo:
    """What a node says about itself at `GET /p2pdist/v1/info` (hints only; nothing is trusted).

    Attributes:
        node_id: the node's identity (box id or seeder name).
        role: "box" or "seeder".
        channels: the latest manifest version the node holds, per channel.
        swarm_port: the node's BitTorrent port (0: not seeding).
        root_version: the newest trust root the node holds.
    """

    node_id: str
    role: Role
    channels: Mapping[str, int]
    swarm_port: int
    root_version: int

    def __post_init__(self) -> None:
        """Validate every field, so a FeedInfo in hand is always well-formed.

        Raises:
            ValueError: a field has the wrong type or an impossible value (the message names the
                field, never echoes the value, because the value may come from a hostile peer).
        """
        if not isinstance(self.node_id, str) or not 0 < len(self.node_id) <= MAX_NODE_ID:
            raise ValueError(
                _("node_id must be a string of 1 to {max_node_id} characters").format(
                    max_node_id=MAX_NODE_ID))
        if not self.node_id.isprintable():
            raise ValueError(_("node_id must not contain control characters"))
        if self.role not in ROLES:
            raise ValueError(_("role must be 'box' or 'seeder'"))
        if not _is_int(self.swarm_port) or not 0 <= self.swarm_port <= 65535:
            raise ValueError(_("swarm_port must be an integer from 0 to 65535"))
        if not _is_int(self.root_version) or self.root_version < 1:
            raise ValueError(_("root_version must be an integer of at least 1"))
        if not isinstance(self.channels, Mapping):
            raise ValueError(_("channels must be an object mapping channel to version"))
        if len(self.channels) > MAX_INFO_CHANNELS:
            raise ValueError(
                _("channels lists more than {max_info_channels} channels").format(
                    max_info_channels=MAX_INFO_CHANNELS))
        for channel, version in self.channels.items():
            if not isinstance(channel, str) or not is_valid_channel(channel):
                raise ValueError(_("channels has a key that is not a valid channel name"))
            if not _is_int(version) or version < 0:
                raise ValueError(_("channels has a version that is not a non-negative integer"))
        # A read-only copy: the caller's dict may change later, a frozen value must not.
        object.__setattr__(self, "channels", MappingProxyType(dict(self.channels)))

    @classmethod
    def from_json(cls, obj: object) -> FeedInfo:
        """Build from a decoded /info JSON object; unknown keys are ignored (forward compatible).

        Args:
            obj: the decoded JSON value.

        Returns:
            The validated info.

        Raises:
            ValueError: not an object, another API version, a missing field, or a bad value.
        """
        if not isinstance(obj, dict):
            raise ValueError(_("the info document is not a JSON object"))
        api = obj.get("api")
        if not _is_int(api) or api != API_VERSION:
            raise ValueError(
                _("the node does not speak feed API version {api_version}").format(
                    api_version=API_VERSION))
        missing = [k for k in ("node_id", "role", "channels", "swarm_port", "root_version")
                   if k not in obj]
        if missing:
            raise ValueError(
                _("the info document lacks {fields}").format(fields=", ".join(missing)))
        return cls(
            node_id=obj["node_id"],
            role=obj["role"],
            channels=obj["channels"],
            swarm_port=obj["swarm_port"],
            root_version=obj["root_version"],
        )

    def to_json(self) -> dict[str, Any]:
        """The /info JSON object, as a `FeedSource.info()` implementation returns it.

        Returns:
            A JSON-serializable dict including the API version.
        """
        return {
            "api": API_VERSION,
            "node_id": self.node_id,
            "role": self.role,
            "channels": dict(self.channels),
            "swarm_port": self.swarm_port,
            "root_version": self.root_version,
        }


def _reject_constant(name: str) -> float:
    raise ValueError(_("JSON constant {name} is not allowed").format(name=name))


def parse_json_object(data: bytes) -> dict[str, Any]:
    """Decode a UTF-8 JSON object strictly (no NaN/Infinity, no other top-level type).

    Args:
        data: the body, already size-capped by the fetcher.

    Returns:
        The decoded object.

    Raises:
        ValueError: not UTF-8, not JSON, too deeply nested, or not an object.
    """
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError as e:
        # Deep nesting ([[[[...) exhausts the parser's stack well inside the byte cap.
        raise ValueError(_("JSON nested too deeply")) from e
    except UnicodeDecodeError as e:
        raise ValueError(_("body is not UTF-8")) from e
    except json.JSONDecodeError as e:
        raise ValueError(_("body is not JSON ({msg})").format(msg=e.msg)) from e
    if not isinstance(value, dict):
        raise ValueError(_("JSON body is not an object"))
    return cast(dict[str, Any], value)


def dump_json(obj: Mapping[str, Any]) -> bytes:
    """Encode a JSON object as compact UTF-8, refusing NaN/Infinity like the parser does.

    Raises:
        ValueError, TypeError: the object is not JSON-serializable.
    """
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()

