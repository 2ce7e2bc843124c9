"""Where everything lives in the data directory: one place that maps names to paths (no I/O).

```
<data>/objects/<sha256hex>                             verified files, content-addressed
<data>/releases/<channel>/<version>.manifest           the signed manifest envelope as received
<data>/releases/<channel>/<version>/<torrent_name>/…   the release as the torrent expects it
<data>/active/<channel>                                relative symlink to the active release
<data>/quarantine/<UTC time>/<torrent_name>/…          files that failed verification
<data>/state/                                          other components' state
```

Channels nest (``national/winter-2027`` lives in ``releases/national/winter-2027/``), so one
channel must never be a folder prefix of another on the same box (``national`` next to
``national/winter-2027`` would need ``active/national`` to be a link and a folder at once);
`channel_conflict` finds such pairs before anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from keys import is_valid_channel
from manifest import FileEntry, Manifest, torrent_name_for

from ..errors import ConfigError
from ..fs import TMP_PREFIX as TMP_PREFIX  # re-exported: the store sweeps these names
from ..fs import tmp_name as tmp_name
from ..i18n import _

RECORD_SUFFIX = ".manifest"
"""Temporary names start with a dot: manifest paths never do, so they cannot collide."""
_VERSION_RE = re.compile(r"[1-9][0-9]*")


class Layout:
    """The data directory's path scheme."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.releases = root / "releases"
        self.active = root / "active"
        self.quarantine = root / "quarantine"
        self.state = root / "state"

    @property
    def top_dirs(self) -> tuple[Path, ...]:
        return (self.objects, self.releases, self.active, self.quarantine, self.state)

    def object_path(self, sha256: bytes) -> Path:
        return self.objects / sha256.hex()

    def channel_dir(self, channel: str) -> Path:
        check_channel(channel)
        return self.releases / channel

    def save_path(self, channel: str, version: int) -> Path:
        return self.channel_dir(channel) / str(version)

    def release_dir(self, channel: str, version: int) -> Path:
        return self.save_path(channel, version) / torrent_name_for(channel, version)

    def record_path(self, channel: str, version: int) -> Path:
        return self.channel_dir(channel) / f"{version}{RECORD_SUFFIX}"

    def file_path(self, manifest: Manifest, entry: FileEntry) -> Path:
        return self.release_dir(manifest.channel, manifest.version) / entry.path

    def active_link(self, channel: str) -> Path:
        check_channel(channel)
        return self.active / channel


def check_channel(channel: str) -> None:
    """Refuse a channel name that is not valid (and so might not be a safe relative path).

    Raises:
        ConfigError: the name breaks the channel rules.
    """
    if not is_valid_channel(channel):
        raise ConfigError(
            _("{channel!r} is not a channel name (lowercase a-z, 0-9, '.', '_', '-' segments "
              "joined by '/', e.g. national/winter-2027)").format(channel=channel)
        )


def version_of(name: str) -> int | None:
    """The version a `releases/<channel>/` entry name stands for, or None."""
    if name.endswith(RECORD_SUFFIX):
        name = name[: -len(RECORD_SUFFIX)]
    return int(name) if _VERSION_RE.fullmatch(name) else None


def is_record_name(name: str) -> bool:
    return name.endswith(RECORD_SUFFIX) and version_of(name) is not None


def channel_conflict(channel: str, known: Iterable[str]) -> str | None:
    """A known channel that is a folder prefix of `channel` or has it as one, or None."""
    for other in known:
        if other != channel and (
            other.startswith(channel + "/") or channel.startswith(other + "/")
        ):
            return other
    return None
