"""What the store holds: where each thing lives, the recorded manifests, and which release
is active (the one fact the media player sees, read from one symlink).

`_Records` is the base the store's other parts build on; see `_store` for the update order.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from keys import P2PDistError
from manifest import Manifest, decode_envelope

from ..errors import CorruptStateError, StorageError
from ..fs import atomic_symlink, atomic_write, translated
from ..i18n import _
from ._layout import Layout, channel_conflict, is_record_name, version_of

_MAX_CHANNEL_DEPTH = 8
"""Channels have at most 8 segments, so the channel scan never wanders into release folders."""


class _Records:
    """Paths, recorded manifests and the active link of one data directory."""

    _layout: Layout

    @property
    def data_dir(self) -> Path:
        return self._layout.root

    # -- where things are ----------------------------------------------------------------

    def save_path(self, channel: str, version: int) -> Path:
        """libtorrent's save_path for a release (the torrent's folder is created inside).

        Raises:
            ConfigError: `channel` is not a valid channel name.
        """
        return self._layout.save_path(channel, version)

    def release_dir(self, channel: str, version: int) -> Path:
        """The folder holding a release's files, as the torrent names it.

        Raises:
            ConfigError: `channel` is not a valid channel name.
        """
        return self._layout.release_dir(channel, version)

    def active_dir(self, channel: str) -> Path:
        """The fixed path the media player serves for `channel` (a symlink once activated).

        Raises:
            ConfigError: `channel` is not a valid channel name.
        """
        return self._layout.active_link(channel)

    # -- what is stored ------------------------------------------------------------------

    def channels(self) -> list[str]:
        """Every channel with a recorded release, sorted."""
        found: list[str] = []

        def walk(folder: Path, prefix: str, depth: int) -> None:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
            if prefix and any(is_record_name(e.name) and e.is_file() for e in entries):
                found.append(prefix)
                return
            if depth == _MAX_CHANNEL_DEPTH:
                return
            for e in entries:
                if e.is_dir(follow_symlinks=False) and not e.name.startswith("."):
                    walk(Path(e.path), f"{prefix}/{e.name}" if prefix else e.name, depth + 1)

        with translated(_("list the releases in {path}").format(path=self._layout.releases)):
            walk(self._layout.releases, "", 0)
        return found

    def releases(self, channel: str) -> list[int]:
        """The versions of `channel` with a recorded manifest, oldest first.

        Raises:
            ConfigError: `channel` is not a valid channel name.
        """
        return sorted(v for v, is_record in self._entries(channel) if is_record)

    def record_manifest(self, envelope: bytes, manifest: Manifest) -> None:
        """Keep the signed manifest of a release (written atomically) before preparing it.

        The store needs it to know, after a restart, which hashes each release references
        (gc) and what a half-done release is (resume); keeping the envelope as received lets
        the box re-verify it and hand it to LAN neighbours unchanged.

        Args:
            envelope: the manifest envelope bytes, already verified by the caller.
            manifest: the manifest decoded from them.

        Raises:
            MalformedError: (or another manifest format error) `envelope` is not a manifest.
            ValueError: `envelope` does not carry `manifest`.
            StorageError: another channel on this box is a folder prefix of this one, or the
                write failed (DiskFullError, StoragePermissionError).
        """
        if Manifest.decode_body(decode_envelope(envelope).signed) != manifest:
            raise ValueError(_("the envelope does not carry this manifest"))
        other = channel_conflict(manifest.channel, self.channels())
        if other is not None:
            raise StorageError(
                _("channel {channel} cannot be stored next to channel {other}: one would be a "
                  "folder inside the other under {path}; follow only one of them on this box "
                  "or give each its own data directory").format(
                    channel=manifest.channel, other=other, path=self._layout.releases)
            )
        folder = self._layout.channel_dir(manifest.channel)
        with translated(_("create the folder {path}").format(path=folder)):
            folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self._layout.record_path(manifest.channel, manifest.version), envelope)

    def manifest_envelope(self, channel: str, version: int) -> bytes:
        """The manifest envelope recorded for a release, exactly as received.

        Raises:
            StorageError: no manifest is recorded for that release, or it cannot be read.
        """
        path = self._layout.record_path(channel, version)
        if not path.is_file():
            raise StorageError(
                _("no manifest is recorded for {channel} v{version} (expected {path})")
                .format(channel=channel, version=version, path=path)
            )
        with translated(_("read {path}").format(path=path)):
            return path.read_bytes()

    def load_manifest(self, channel: str, version: int) -> Manifest:
        """The manifest recorded for a release (decoded; signatures were checked on receipt).

        Raises:
            StorageError: no manifest is recorded for that release.
            CorruptStateError: the recorded manifest is damaged or is not that release's.
        """
        path = self._layout.record_path(channel, version)
        data = self.manifest_envelope(channel, version)
        try:
            m = Manifest.decode_body(decode_envelope(data).signed)
        except P2PDistError as e:
            raise CorruptStateError(
                _("the recorded manifest {path} is damaged ({reason}); delete it and the "
                  "folder {folder} so the box fetches that release again").format(
                    path=path, reason=e, folder=self._layout.save_path(channel, version))
            ) from e
        if (m.channel, m.version) != (channel, version):
            raise CorruptStateError(
                _("{path} holds the manifest of {channel} v{version}, not of the release it is "
                  "filed under; delete it").format(path=path, channel=m.channel,
                                                   version=m.version)
            )
        return m

    # -- which release is served ---------------------------------------------------------

    def activate(self, manifest: Manifest) -> None:
        """Make a verified release the one the media player serves, in one atomic switch.

        Call only once `verify_release` found nothing wrong (it also flushed each file to
        disk, so after a power cut the active release is complete, not just named).

        Args:
            manifest: the release to serve.

        Raises:
            StorageError: (or a subclass) the release folder is missing or the switch failed;
                the previous active release is unchanged.
        """
        layout = self._layout
        release = layout.release_dir(manifest.channel, manifest.version)
        if not release.is_dir():
            raise StorageError(
                _("cannot activate {channel} v{version}: its folder {path} is missing; prepare, "
                  "download and verify the release first").format(
                    channel=manifest.channel, version=manifest.version, path=release)
            )
        link = layout.active_link(manifest.channel)
        with translated(_("create the folder {path}").format(path=link.parent)):
            link.parent.mkdir(parents=True, exist_ok=True)
        atomic_symlink(os.path.relpath(release, link.parent), link)

    def active_version(self, channel: str) -> int | None:
        """The version active/<channel> points to, or None if none was activated.

        Raises:
            ConfigError: `channel` is not a valid channel name.
            CorruptStateError: active/<channel> is not a link to one of its releases.
        """
        link = self._layout.active_link(channel)
        try:
            target = os.readlink(link)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise StorageError(
                    _("could not read {path}: {reason}").format(path=link, reason=e.strerror)
                ) from e
            target = ""
        resolved = Path(os.path.normpath(link.parent / target))
        version = version_of(resolved.parent.name) if target else None
        if version is None or resolved != Path(
            os.path.normpath(self._layout.release_dir(channel, version))
        ):
            raise CorruptStateError(
                _("{path} should be a link to a release of {channel} but is {what}; activate "
                  "a verified release again to repair it").format(
                    path=link, channel=channel,
                    what=repr(target) if target else _("not a link"))
            )
        return version

    def _entries(self, channel: str) -> list[tuple[int, bool]]:
        """(version, is the manifest record) for each release entry of `channel`."""
        folder = self._layout.channel_dir(channel)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            v = version_of(name)
            if v is not None:
                out.append((v, is_record_name(name)))
        return out
