"""Cleaning up the store: old releases and unreferenced objects (gc), and what a crash left
between a write and its rename (at open).

Everything is read and checked before anything is deleted, and a release's folder goes before
its manifest, so a crash mid-way leaves the release findable for the next collection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from manifest import Manifest

from ..errors import CorruptStateError
from ..fs import remove_tree, translated, unlink_counting
from ..i18n import _
from ._layout import TMP_PREFIX
from ._plan import plan_gc, releases_to_keep
from ._records import _Records


@dataclass(frozen=True)
class GcReport:
    """What `Store.gc` removed.

    Attributes:
        releases_deleted: (channel, version) of each release removed.
        objects_deleted: how many objects were removed.
        bytes_freed: bytes of files whose last link was removed.
    """

    releases_deleted: tuple[tuple[str, int], ...]
    objects_deleted: int
    bytes_freed: int


class _Collector(_Records):
    """The store's garbage collection."""

    def gc(self, keep_per_channel: int = 2) -> GcReport:
        """Delete old releases and the objects no remaining release references.

        Per channel, the active release and the newest `keep_per_channel` releases stay (a
        download newer than the active release counts among the newest). Everything is read
        and checked before anything is deleted.

        Args:
            keep_per_channel: newest releases to keep per channel besides the active one.

        Returns:
            What was deleted.

        Raises:
            ValueError: `keep_per_channel` is negative.
            CorruptStateError: a kept release has no readable manifest (nothing is deleted).
            StorageError: (or a subclass) a deletion failed.
        """
        kept: list[Manifest] = []
        doomed: list[tuple[str, int]] = []
        for channel in self.channels():
            entries = self._entries(channel)
            recorded = {v for v, is_record in entries if is_record}
            keep = releases_to_keep(recorded, self.active_version(channel), keep_per_channel)
            for v in sorted(keep):
                if v not in recorded:
                    raise CorruptStateError(
                        _("release {channel} v{version} is active but its manifest {path} is "
                          "missing; activate a newer release before collecting garbage").format(
                            channel=channel, version=v,
                            path=self._layout.record_path(channel, v))
                    )
                kept.append(self.load_manifest(channel, v))
            doomed += [(channel, v) for v in sorted({v for v, _r in entries} - keep)]

        freed = 0
        for channel, version in doomed:
            freed += self._remove_release(channel, version)
        objects = self._objects()
        drop = plan_gc(kept, objects)
        for sha in drop:
            with translated(_("delete {path}").format(path=self._layout.object_path(sha))):
                freed += unlink_counting(self._layout.object_path(sha))
        return GcReport(tuple(doomed), len(drop), freed)

    def _remove_release(self, channel: str, version: int) -> int:
        """Delete a release's folder, then its manifest (so a crash leaves it findable)."""
        save = self._layout.save_path(channel, version)
        with translated(_("delete {path}").format(path=save)):
            freed = remove_tree(save)
            self._layout.record_path(channel, version).unlink(missing_ok=True)
        return freed

    def _objects(self) -> set[bytes]:
        out = set()
        for name in os.listdir(self._layout.objects):
            if len(name) == 64:
                try:
                    out.add(bytes.fromhex(name))
                except ValueError:
                    continue
        return out

    def _remove_stale_tmp(self) -> None:
        """Drop temporary links and records a crash left between a write and its rename."""
        for dirpath, dirnames, filenames in os.walk(self._layout.active):
            for name in filenames + dirnames:
                if name.startswith(TMP_PREFIX):
                    os.unlink(Path(dirpath, name))
        for channel in self.channels():
            for name in os.listdir(self._layout.channel_dir(channel)):
                if name.startswith(TMP_PREFIX):
                    os.unlink(self._layout.channel_dir(channel) / name)
