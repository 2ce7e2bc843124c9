"""Is the active release still what was verified? Store-level checks, records and damage marks.

A release was hashed whole before it was activated, but files go missing (a technician's
`rm`, a bad USB copy back) or rot afterwards. Three checks, from cheap to thorough:

- `quick_check`: every file the box wants exists with its manifest size and the mtime recorded
  when it was last known good (`IntegrityRecord`); a file whose mtime moved is hashed;
- `full_check`: every wanted file hashed (`p2pdist verify`, and the daemon on a slow schedule);
- damage marks: `p2pdist verify` leaves the paths it found damaged in a mark file that the
  running daemon picks up, so "verify" and "repair" need no restart.

Records and marks live in <data>/state/integrity/, one JSON file per torrent; they are the box's
own state (no signatures), so a damaged one is simply rebuilt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from manifest import FileEntry, Manifest

from .config import CONFIG_NAME, BoxConfig
from .errors import P2PDistError
from .fs import atomic_write
from .store import Policy, Store

INTEGRITY_DIR = Path("state") / "integrity"


def box_policy(data_dir: Path) -> Policy:
    """The box's file policy from its configuration (all files when it has none)."""
    if not (data_dir / CONFIG_NAME).is_file():
        return Policy()
    return BoxConfig.load(data_dir).box_policy()


def expected_files(store: Store, manifest: Manifest, policy: Policy) -> list[FileEntry]:
    """The files the active release must hold: those the policy wants, plus any present."""
    release = store.release_dir(manifest.channel, manifest.version)
    return [f for f in manifest.files if policy.wants(f) or (release / f.path).is_file()]


@dataclass
class IntegrityRecord:
    """(size, mtime_ns) of each file when it was last known good, and when it was last hashed."""

    version: int
    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    full_check_at: float = 0.0

    @staticmethod
    def path(data_dir: Path, manifest: Manifest) -> Path:
        return data_dir / INTEGRITY_DIR / f"{manifest.torrent_name}.json"

    @classmethod
    def load(cls, data_dir: Path, manifest: Manifest) -> IntegrityRecord | None:
        """The record of this release, or None when absent or unreadable (it is rebuilt)."""
        try:
            obj = json.loads(cls.path(data_dir, manifest).read_bytes())
            rec = cls(int(obj["version"]), {str(p): (int(s), int(t))
                                            for p, (s, t) in obj["files"].items()},
                      float(obj.get("full_check_at", 0.0)))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return rec if rec.version == manifest.version else None

    def save(self, data_dir: Path, manifest: Manifest) -> None:
        path = self.path(data_dir, manifest)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps({"version": self.version, "files": self.files,
                                       "full_check_at": self.full_check_at}).encode())

    def note_good(self, store: Store, manifest: Manifest, good: Sequence[FileEntry]) -> None:
        release = store.release_dir(manifest.channel, manifest.version)
        for e in good:
            try:
                st = (release / e.path).stat()
            except OSError:
                continue
            self.files[e.path] = (st.st_size, st.st_mtime_ns)


def quick_check(store: Store, manifest: Manifest, wanted: Sequence[FileEntry],
                record: IntegrityRecord) -> list[FileEntry]:
    """Damaged files by stat alone, hashing only those whose mtime moved since the record.

    A file the record does not know yet (first check after activation) is taken as good when
    its size is right: activation hashed it moments ago; the slow full check covers the rest.

    Raises:
        StorageError: (or a subclass) a file exists but cannot be read.
    """
    release = store.release_dir(manifest.channel, manifest.version)
    damaged, suspects = [], []
    for e in wanted:
        try:
            st = (release / e.path).stat()
        except OSError:
            damaged.append(e)
            continue
        if st.st_size != e.size:
            damaged.append(e)
        elif e.path in record.files and record.files[e.path] != (st.st_size, st.st_mtime_ns):
            suspects.append(e)
    if suspects:
        damaged += store.verify_release(manifest, suspects)
    return damaged


def full_check(store: Store, manifest: Manifest, wanted: Sequence[FileEntry]) -> list[FileEntry]:
    """Every wanted file hashed; missing ones count as damaged (see `Store.verify_release`)."""
    return store.verify_release(manifest, wanted)


def _mark_path(data_dir: Path, manifest: Manifest) -> Path:
    return data_dir / INTEGRITY_DIR / f"{manifest.torrent_name}.damaged"


def mark_damaged(data_dir: Path, manifest: Manifest, paths: Sequence[str]) -> None:
    """Leave `paths` for the daemon to repair (what `p2pdist verify` found)."""
    path = _mark_path(data_dir, manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(sorted(paths)).encode())


def take_marks(data_dir: Path, manifest: Manifest) -> set[str]:
    """The paths marked damaged for this release, removing the mark (empty when none)."""
    path = _mark_path(data_dir, manifest)
    try:
        paths = json.loads(path.read_bytes())
        os.unlink(path)
    except FileNotFoundError:
        return set()
    except (OSError, ValueError, P2PDistError):
        path.unlink(missing_ok=True)
        return set()
    return {p for p in paths if isinstance(p, str)} if isinstance(paths, list) else set()
