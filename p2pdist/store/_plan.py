"""The store's decisions as pure functions: what a new release can reuse, what gc may delete.

They take plain values (manifests, sets of hashes, version numbers) and return plain values, so
every rule is unit-tested without a disk; `Store` only gathers the inputs and carries out the
result.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from manifest import FileEntry, Manifest

from ..i18n import _


@dataclass(frozen=True)
class ReleasePlan:
    """How a release's wanted files will arrive.

    Attributes:
        wanted: every file the box wants, in manifest order.
        reuse: wanted files whose content the box already holds in objects/ (hard-linked in).
        fetch: wanted files to download.
    """

    wanted: tuple[FileEntry, ...]
    reuse: tuple[FileEntry, ...]
    fetch: tuple[FileEntry, ...]

    @property
    def bytes_to_fetch(self) -> int:
        """Bytes the swarm must bring (every fetched file counts, as the torrent carries each)."""
        return sum(f.size for f in self.fetch)

    @property
    def bytes_reused(self) -> int:
        """Bytes the box already holds and will not download again."""
        return sum(f.size for f in self.reuse)


def plan_release(
    manifest: Manifest, wanted: Iterable[FileEntry], have: Set[bytes]
) -> ReleasePlan:
    """Split the wanted files of `manifest` into those to reuse and those to fetch.

    Args:
        manifest: the release.
        wanted: files of `manifest` the box wants (see `Policy.wanted`).
        have: SHA-256 digests of the objects already on disk.

    Returns:
        The plan, files in manifest order.

    Raises:
        ValueError: a wanted file is not one of the manifest's files.
    """
    want = set(wanted)
    stray = want.difference(manifest.files)
    if stray:
        raise ValueError(
            _("wanted files not in {channel} v{version}: {items}").format(
                channel=manifest.channel, version=manifest.version,
                items=sorted(f.path for f in stray))
        )
    ordered = tuple(f for f in manifest.files if f in want)
    return ReleasePlan(
        wanted=ordered,
        reuse=tuple(f for f in ordered if f.sha256 in have),
        fetch=tuple(f for f in ordered if f.sha256 not in have),
    )


def releases_to_keep(versions: Iterable[int], active: int | None, keep: int) -> frozenset[int]:
    """The releases of one channel that gc must keep: the active one and the newest `keep`.

    Newer releases than the active one count among the newest, so a download in progress
    survives gc as long as `keep` >= 1.

    Args:
        versions: the channel's recorded release versions.
        active: the active version, or None.
        keep: how many of the newest releases to keep besides the active one.

    Returns:
        The versions to keep.

    Raises:
        ValueError: `keep` is negative.
    """
    if keep < 0:
        raise ValueError(f"keep must be >= 0, not {keep}")
    newest = sorted(set(versions), reverse=True)[:keep]
    return frozenset(newest) | (frozenset() if active is None else {active})


def plan_gc(kept: Iterable[Manifest], objects: Iterable[bytes]) -> frozenset[bytes]:
    """The objects no kept release references, which gc deletes.

    Decided by the kept manifests' hashes, not by hard-link counts: a count says whether some
    directory still links the file, not whether a kept release needs it, and a copy fallback
    (objects and releases on different disks) breaks the count altogether.

    Args:
        kept: the manifests of every release that stays.
        objects: SHA-256 digests of the objects on disk.

    Returns:
        The digests to delete.
    """
    referenced = {f.sha256 for m in kept for f in m.files}
    return frozenset(objects) - referenced
