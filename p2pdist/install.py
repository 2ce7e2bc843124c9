"""Installing a verified release from a folder: a USB drive, an export, the origin's content.

Trust never comes from where the bytes are: the manifest was verified against the trust root
before this runs, and every file is hashed against it before the release is activated. Files the
store already holds are reused, so re-importing a newer release copies only what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from manifest import VerifiedRelease

from .errors import ContentMismatchError
from .i18n import _
from .store import Policy, Store


@dataclass(frozen=True)
class InstallReport:
    channel: str
    version: int
    files: int
    bytes_copied: int
    bytes_reused: int


def install_from_folder(
    store: Store,
    release: VerifiedRelease,
    folder: Path,
    *,
    policy: Policy | None = None,
    link: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> InstallReport:
    """Copy (or link) a release's files from `folder` into the store, verify, activate.

    Blocking (hashing and copying): run it with `trio.to_thread.run_sync` from async code.

    Args:
        store: the box's store.
        release: the verified manifest.
        folder: holds the files at their manifest paths.
        policy: which files this box wants (default: all).
        link: hard-link instead of copy (the origin publishing its own folder).
        progress: (bytes done, bytes total) over copying and hashing.

    Raises:
        ContentMismatchError: a file is missing or differs from the manifest (it is
            quarantined; the previous active release stays).
        DiskFullError, StorageError: as the store raises them; nothing is activated.
    """
    m = release.manifest
    store.record_manifest(release.envelope, m)
    plan = store.prepare_release(m, policy or Policy())
    for e in plan.fetch:
        src = folder / e.path
        if not src.is_file():
            raise ContentMismatchError(
                _("{path} is missing from {folder}; the release cannot be installed from it")
                .format(path=e.path, folder=folder))
        store.add_file(m, e, src, link=link)
    # The bar counts the release's bytes once (the hashing pass), not copy plus hash: a 10 GB
    # release showed 20 GB.
    bad = store.verify_release(m, plan.wanted, progress)
    if bad:
        for e in bad:
            store.quarantine(m, e)
        raise ContentMismatchError(
            _("{n} file(s) from {folder} do not match the signed manifest, e.g. {path}; they "
              "were set aside, the active release is unchanged").format(
                  n=len(bad), folder=folder, path=bad[0].path))
    store.ingest(m, plan.wanted)
    store.activate(m)
    return InstallReport(m.channel, m.version, len(plan.wanted), plan.bytes_to_fetch,
                         plan.bytes_reused)

