"""Sneakernet: carry releases on a USB drive (or any folder) to boxes that have no link at all.

An export holds the signed manifests, the exporting box's chain of trust roots and the files.
Trust comes from the signatures, not from the drive: the importing box walks from its own pinned
root through the exported rotations, verifies each manifest, and hashes every file before
activating, reusing files it already holds. Layout (FAT/exFAT-safe names, see manifest path
rules):

    PATH/p2pdist-export/roots/root.v<N>
    PATH/p2pdist-export/releases/<channel>/v<version>.manifest
    PATH/p2pdist-export/releases/<channel>/v<version>/<file paths>
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from keys import MAX_ROOT_BYTES, parse_root_envelope
from manifest import MAX_ENVELOPE_BYTES

from .boxstate import BoxState, root_file_version
from .errors import ConfigError, DiskFullError, StorageError
from .fs import atomic_write, free_bytes, fsync_dir, human_size, place, translated
from .i18n import _
from .install import InstallReport, install_from_folder
from .safe_read import read_bounded
from .store import Store
from .trust import last_trusted

EXPORT_DIR = "p2pdist-export"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportReport:
    folder: Path
    releases: tuple[tuple[str, int], ...]
    bytes: int


def export_releases(store: Store, roots: list[bytes], dest: Path, *,
                    channels: list[str] | None = None,
                    progress: Progress | None = None) -> ExportReport:
    """Write the active releases (all channels, or `channels`) and `roots` under `dest`.

    A missing `dest` is created: the caller decides whether that is safe (the CLI refuses a
    missing target without `--create`, since an unmounted drive's mount point is not the drive
    and exporting there fills the box's own disk). The space is checked against `dest`'s disk before
    copying; the export is assembled in a temporary folder, removed on any failure, and renamed
    into place, so a drive pulled out half way never holds a half export under the real name.
    Everything is fsynced before this returns: the drive is then safe to unplug.

    Raises:
        ConfigError: nothing to export.
        DiskFullError: `dest`'s disk has too little space. StorageError: writing failed.
    """
    chosen = []
    for ch in channels or store.channels():
        v = store.active_version(ch)
        if v is not None:
            chosen.append((ch, v, store.load_manifest(ch, v)))
    if not chosen:
        raise ConfigError(_("the box has no active release to export"))
    final = dest / EXPORT_DIR
    tmp = dest / f".{EXPORT_DIR}.tmp"
    total = sum(f.size for _c, _v, m in chosen for f in m.files
                if (store.active_dir(m.channel) / f.path).is_file())
    with translated(_("create the export folder {path}").format(path=dest)):
        dest.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)
    _check_target_space(dest, total + EXPORT_SLACK)
    try:
        (tmp / "roots").mkdir(parents=True)
        for data in roots:
            atomic_write(tmp / "roots" / f"root.v{parse_root_envelope(data)[1].version}", data)
        done = 0
        for ch, v, m in chosen:
            base = tmp / "releases" / ch
            base.mkdir(parents=True, exist_ok=True)
            atomic_write(base / f"v{v}.manifest", store.manifest_envelope(ch, v))
            for f in m.files:
                src = store.active_dir(ch) / f.path
                if not src.is_file():
                    continue  # a selective box exports what it has
                out = base / f"v{v}" / f.path
                out.parent.mkdir(parents=True, exist_ok=True)
                place(src, out, link=False)
                done += f.size
                if progress is not None:
                    progress(done, total)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for folder, _dirs, _files in os.walk(final):
            fsync_dir(Path(folder))  # files are fsynced by `place`; their entries are here
        fsync_dir(dest)
    except DiskFullError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _target_full(dest, total) from e
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _target_full(dest, total) from e
        raise StorageError(_("cannot write the export to {dest}: {err}").format(
            dest=dest, err=e.strerror)) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportReport(final, tuple((c, v) for c, v, _m in chosen), done)


EXPORT_SLACK = 1024 * 1024
"""Room for manifests, roots and file-system overhead beyond the release files."""


def _target_full(dest: Path, total: int) -> DiskFullError:
    # not storage_error's wording: the box's data directory is not what filled up
    return DiskFullError(_("the export target {dest} is full: the {size} of release files do "
                           "not fit; use a larger drive or export fewer channels "
                           "(--channel)").format(dest=dest, size=human_size(total)))


def _check_target_space(dest: Path, need: int) -> None:
    free = free_bytes(dest)
    if free < need:
        raise DiskFullError(_("not enough space on the export target {dest}: the export needs "
                              "{need}, its disk has {free} free; use a larger drive or export "
                              "fewer channels (--channel)").format(
                                  dest=dest, need=human_size(need), free=human_size(free)))


def find_export(path: Path) -> Path:
    for candidate in (path / EXPORT_DIR, path):
        if (candidate / "roots").is_dir() and (candidate / "releases").is_dir():
            return candidate
    raise ConfigError(_("{path} holds no p2pdist export (expected {name}/roots and "
                        "{name}/releases)").format(path=path, name=EXPORT_DIR))


class NotFollowed(str):
    """The skip reason of a release whose channel the box does not follow."""


def _refused(channel: str, version: int) -> NotFollowed:
    return NotFollowed(_("{channel} v{v}: this box does not follow the channel; not imported "
                         "(add it with `p2pdist import --follow`)").format(channel=channel,
                                                                           v=version))


def import_releases(store: Store, state: BoxState, path: Path, *, now: int | None = None,
                    progress: Progress | None = None, followed: frozenset[str] | None = None,
                    ) -> list[InstallReport | str]:
    """Verify and install every release of an export; return a report or a skip reason each.

    The box's own pinned root is the anchor: exported roots are only used as rotations after it.
    With `followed`, a release of any other channel is refused (a skip reason naming it).

    Raises:
        TrustError: a root rotation or a manifest does not verify (nothing of it is installed).
        ContentMismatchError: a file on the drive differs from its manifest (the active release
            is unchanged).
    """
    now = int(time.time()) if now is None else now
    export = find_export(path)
    found = [(v, p) for p in (export / "roots").iterdir()
             if (v := root_file_version(p.name)) is not None]
    newer = [read_bounded(p, MAX_ROOT_BYTES, _("trust root")) for _v, p in sorted(found)]
    # From the pinned root, so a box whose newest stored root expired while it was offline
    # takes the fresh rotation on the drive (idempotent: roots already held are skipped).
    state.accept_roots(newer, now)
    trust = state.trust_state(now, last_trusted(store.channels(), store.active_version,
                                                store.manifest_envelope))
    out: list[InstallReport | str] = []
    for mf in sorted((export / "releases").rglob("v*.manifest")):
        blob = read_bounded(mf, MAX_ENVELOPE_BYTES, _("manifest"))
        vr = trust.verify(blob, None, now)
        if followed is not None and vr.manifest.channel not in followed:
            out.append(_refused(vr.manifest.channel, vr.manifest.version))
            continue
        if not vr.is_new:
            out.append(_("{channel} v{v}: already active").format(
                channel=vr.manifest.channel, v=vr.manifest.version))
            continue
        files = mf.with_name(mf.name.removesuffix(".manifest"))
        out.append(install_from_folder(store, vr, files, link=False, progress=progress))
        trust.trust(vr)
    return out
