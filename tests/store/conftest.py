"""Fixtures for the store tests: releases built in memory, a fake swarm that writes the files to
fetch, and small tmpfs mounts for full-disk tests."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from manifest import FileEntry, Kind, Manifest, make_files
from p2pdist.store import Policy, ReleasePlan, Store

CHANNEL = "national/winter-2027"


def entry(
    path: str,
    data: bytes,
    kind: Kind = Kind.FILM,
    themes: tuple[str, ...] = ("喜剧",),
) -> FileEntry:
    """A manifest entry for `data` (merkle roots do not matter to the store)."""
    return FileEntry(path, len(data), hashlib.sha256(data).digest(), bytes(32), kind, themes,
                     path.rsplit("/", 1)[-1], 60)


@dataclass
class Release:
    """A manifest plus the bytes of each of its files (what the swarm would deliver)."""

    manifest: Manifest
    contents: dict[str, bytes]

    @property
    def envelope(self) -> bytes:
        return self.manifest.to_envelope().encode()

    @property
    def version(self) -> int:
        return self.manifest.version


def make_release(
    version: int, files: dict[str, bytes | tuple[bytes, Kind, tuple[str, ...]]],
    channel: str = CHANNEL,
) -> Release:
    """A release of `channel`; each file is its bytes, or (bytes, kind, themes)."""
    entries = []
    contents = {}
    for path, spec in files.items():
        data, kind, themes = (spec, Kind.FILM, ("喜剧",)) if isinstance(spec, bytes) else spec
        entries.append(entry(path, data, kind, themes))
        contents[path] = data
    m = Manifest(channel, version, 1_700_000_000, 1_900_000_000, f"{channel} v{version}",
                 make_files(entries), b"")
    return Release(m, contents)


@dataclass
class Kit:
    """Drives a `Store` through an update the way the agent will, with a fake swarm."""

    store: Store
    plan: ReleasePlan = field(default_factory=lambda: ReleasePlan((), (), ()))

    def download(self, rel: Release, plan: ReleasePlan) -> None:
        """What libtorrent does: write every file to fetch into the release folder."""
        for e in plan.fetch:
            p = self.store.release_dir(rel.manifest.channel, rel.version) / e.path
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(rel.contents[e.path])

    def steps(
        self, rel: Release, policy: Policy | None = None
    ) -> list[tuple[str, Callable[[], object]]]:
        """The update's steps in order, as (name, thunk); the plan lands in `self.plan`."""
        pol = policy or Policy()
        m = rel.manifest

        def prepare() -> None:
            self.plan = self.store.prepare_release(m, pol)

        def verify() -> None:
            assert self.store.verify_release(m, self.plan.wanted) == []

        return [
            ("record", lambda: self.store.record_manifest(rel.envelope, m)),
            ("prepare", prepare),
            ("download", lambda: self.download(rel, self.plan)),
            ("verify", verify),
            ("ingest", lambda: self.store.ingest(m, self.plan.wanted)),
            ("activate", lambda: self.store.activate(m)),
        ]

    def install(self, rel: Release, policy: Policy | None = None) -> ReleasePlan:
        """Run a whole update; return its plan."""
        for _name, step in self.steps(rel, policy):
            step()
        return self.plan

    def served(self, channel: str = CHANNEL) -> dict[str, bytes]:
        """Every file the media player sees under active/<channel>, read through the link."""
        root = self.store.active_dir(channel)
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()
        }


@pytest.fixture
def release() -> Callable[..., Release]:
    """`make_release(version, files, channel=CHANNEL)` for tests."""
    return make_release


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path) -> Store:
    return Store(data_dir, reserve=0)


@pytest.fixture
def kit(store: Store) -> Kit:
    return Kit(store)


@pytest.fixture
def kit_for() -> Callable[[Store], Kit]:
    """A `Kit` around a store the test opened itself."""
    return Kit


@pytest.fixture
def tmpfs() -> Iterator[Callable[[Path, int], Path]]:
    """Mount a tmpfs of a given size on a folder (root only); unmounted at teardown."""
    if os.geteuid() != 0:
        pytest.skip("full-disk tests mount a small tmpfs, which needs root")
    mounted: list[Path] = []

    def mount(where: Path, size: int) -> Path:
        where.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        if subprocess.run(["umount", str(where)]).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], check=True)
