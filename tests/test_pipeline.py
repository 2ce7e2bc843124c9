"""The one update pipeline without a network: a real store, real files, folders as the source.

`update_release` is what the agent, the seeder's follower, `box fetch` and `import` all run; only
the source differs. Here the source is a folder (`FolderSource`, the one `import` uses) or a
folder that first hands out damaged copies (a source behind the same `ContentSource` interface,
standing in for a peer serving bad data), so the order plan → reuse → fetch → check → activate →
gc and the repair loop are tested with real hashing and a real store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from sneaker_world import CHANNEL, NOW, build_signed, make_keys, tree_digest, trusted

from manifest import FileEntry, VerifiedRelease, verify_manifest_with
from p2pdist.errors import ContentMismatchError, DiskFullError
from p2pdist.install import FolderSource
from p2pdist.pipeline import MAX_REPAIRS, FetchPhase, Outcome, update_release
from p2pdist.sample import write_sample
from p2pdist.store import Store

SIZE = 600_000


@dataclass(frozen=True)
class World:
    content1: Path
    content2: Path
    content3: Path
    changed: tuple[str, ...]
    envelopes: dict[int, bytes]
    root_v1: bytes


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> World:
    d = tmp_path_factory.mktemp("pipeline")
    k = make_keys()
    c1 = write_sample(d / "c1", SIZE, seed=5).root
    s2 = write_sample(d / "c2", SIZE, seed=5, change_films=3)
    s3 = write_sample(d / "c3", SIZE, seed=5, change_films=4, variant=2)
    envs = {1: build_signed(c1, CHANNEL, 1, k.release), 2: build_signed(s2.root, CHANNEL, 2,
                                                                        k.release),
            3: build_signed(s3.root, CHANNEL, 3, k.release)}
    return World(c1, s2.root, s3.root, s2.changed, envs, k.root_v1)


def verified(w: World, store: Store, version: int) -> VerifiedRelease:
    return verify_manifest_with(w.envelopes[version], trusted([w.root_v1]), store.active_version,
                                NOW)


def run(store: Store, source: FolderSource, release: VerifiedRelease,
        **kw: object) -> tuple[Outcome, list[FetchPhase]]:
    phases: list[FetchPhase] = []

    async def main() -> Outcome:
        return await update_release(store, source, release, on_phase=phases.append,
                                    **kw)  # type: ignore[arg-type]

    return trio.run(main), phases


class DamagingSource(FolderSource):
    """A folder that hands out a damaged copy of `victim` for the first `bad_rounds` fills, then
    good copies (a peer serving bad data, then an honest one)."""

    def __init__(self, store: Store, folder: Path, victim: str, bad_rounds: int) -> None:
        super().__init__(store, folder)
        self.victim = victim
        self.bad_rounds = bad_rounds
        self.fills = 0
        self.refetched: list[list[str]] = []

    async def fill(self) -> None:
        self.fills += 1
        await super().fill()
        if self.fills <= self.bad_rounds:
            m = self._manifest
            assert m is not None
            target = self.store.release_dir(m.channel, m.version) / self.victim
            if target.is_file():
                data = bytearray(target.read_bytes())
                data[len(data) // 2] ^= 0xFF
                target.write_bytes(bytes(data))

    def unverified(self) -> frozenset[str]:
        # The damage comes after the copy was hashed (a peer's bytes, not the drive's): the
        # pipeline has to hash every file, as it does for bytes restored from resume data.
        return frozenset(e.path for e in self._fetch)

    async def refetch(self, bad: Sequence[FileEntry]) -> None:
        self.refetched.append([e.path for e in bad])  # the swarm would recheck here


def test_import_then_update_reuses_held_files_and_activates(w: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "box", reserve=0)
    out1, phases = run(store, FolderSource(store, w.content1), verified(w, store, 1))
    assert phases == [FetchPhase.STARTED, FetchPhase.DOWNLOADED, FetchPhase.CHECKED,
                      FetchPhase.ACTIVATED]
    assert out1.plan.reuse == () and out1.plan.bytes_to_fetch > 0
    assert store.active_version(CHANNEL) == 1
    out2, _p = run(store, FolderSource(store, w.content2), verified(w, store, 2))
    assert {e.path for e in out2.plan.fetch} == set(w.changed)
    assert out2.plan.bytes_reused > 0
    assert store.active_version(CHANNEL) == 2
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content2)


def test_bad_copies_are_quarantined_and_fetched_again(w: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "box", reserve=0)
    victim = w.changed[0]
    source = DamagingSource(store, w.content1, victim, bad_rounds=2)
    out, phases = run(store, source, verified(w, store, 1))
    assert source.refetched == [[victim], [victim]]
    assert out.repaired_files == (victim, victim)
    assert phases.count(FetchPhase.DOWNLOADED) == 3
    assert phases[-1] is FetchPhase.ACTIVATED
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content1)
    quarantined = list((tmp_path / "box").rglob(Path(victim).name))
    assert any("quarantine" in p.parts for p in quarantined)


def test_a_source_that_never_delivers_good_bytes_leaves_the_active_release(
        w: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "box", reserve=0)
    run(store, FolderSource(store, w.content1), verified(w, store, 1))
    source = DamagingSource(store, w.content2, w.changed[0], bad_rounds=MAX_REPAIRS + 1)
    with pytest.raises(ContentMismatchError, match="kept failing their SHA-256"):
        run(store, source, verified(w, store, 2))
    assert source.fills == MAX_REPAIRS + 1
    assert store.active_version(CHANNEL) == 1
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content1)


def test_a_folder_with_a_bad_copy_is_refused_at_once(w: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "box", reserve=0)
    source = DamagingSource(store, w.content1, w.changed[0], bad_rounds=1)
    source.refetch = FolderSource.refetch.__get__(source)  # type: ignore[method-assign]
    with pytest.raises(ContentMismatchError, match="do not match the signed manifest"):
        run(store, source, verified(w, store, 1))
    assert source.fills == 1
    assert store.active_version(CHANNEL) is None


def test_no_space_is_refused_before_anything_is_fetched(w: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "box", reserve=1 << 60)
    source = DamagingSource(store, w.content1, w.changed[0], bad_rounds=0)
    with pytest.raises(DiskFullError):
        run(store, source, verified(w, store, 1))
    assert source.fills == 0
    assert not store.release_dir(CHANNEL, 1).exists() or not any(
        p.is_file() for p in store.release_dir(CHANNEL, 1).rglob("*"))


def test_a_missing_file_is_refused_before_copying(w: World, tmp_path: Path) -> None:
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / "only-this").write_bytes(b"x")
    store = Store(tmp_path / "box", reserve=0)
    source = DamagingSource(store, folder, w.changed[0], bad_rounds=0)
    with pytest.raises(ContentMismatchError, match="is missing from"):
        run(store, source, verified(w, store, 1))
    assert source.fills == 0
    assert store.active_version(CHANNEL) is None


def test_gc_follows_activation(w: World, tmp_path: Path) -> None:
    store = Store(tmp_path / "box", reserve=0)
    run(store, FolderSource(store, w.content1), verified(w, store, 1), keep_per_channel=None)
    out2, _p = run(store, FolderSource(store, w.content2), verified(w, store, 2),
                   keep_per_channel=None)
    assert out2.gc is None
    assert store.releases(CHANNEL) == [1, 2]
    out3, _p = run(store, FolderSource(store, w.content3), verified(w, store, 3),
                   keep_per_channel=0)
    assert out3.gc is not None
    assert set(out3.gc.releases_deleted) == {(CHANNEL, 1), (CHANNEL, 2)}
    assert store.releases(CHANNEL) == [3]
    assert store.active_version(CHANNEL) == 3
