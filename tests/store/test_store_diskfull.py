"""Full disks, on real (small tmpfs) file systems: the store refuses early with a clear message,
turns a real ENOSPC into DiskFullError, and never touches the active release."""

from __future__ import annotations

import os
import shutil

import pytest

from p2pdist.errors import DiskFullError
from p2pdist.store import Policy, Store
from p2pdist.store import _intake as store_module

CH = "national/winter-2027"
MiB = 1024 * 1024
OLD = {"课程/微信.mp4": b"w" * MiB, "电影/过年好.mp4": b"g" * MiB}
NEW = {"电影/过年好.mp4": b"g" * MiB, "电影/新片.mp4": b"n" * (3 * MiB)}


def fill(where, leave: int) -> None:
    """Write a filler file so that about `leave` bytes stay free."""
    free = shutil.disk_usage(where).free
    (where / "filler").write_bytes(b"\0" * max(0, free - leave))


def no_tmp_files(root) -> bool:
    return not [p for p in root.rglob(".p2pdist-tmp-*")]


def test_release_that_does_not_fit_is_refused_before_writing(tmp_path, tmpfs, kit_for, release):
    disk = tmpfs(tmp_path / "disk", 8 * MiB)
    store = Store(disk / "data", reserve=256 * 1024)
    kit = kit_for(store)
    kit.install(release(1, OLD))
    fill(disk, 2 * MiB)
    rel = release(2, NEW)
    store.record_manifest(rel.envelope, rel.manifest)
    with pytest.raises(DiskFullError) as err:
        store.prepare_release(rel.manifest, Policy())
    msg = str(err.value)
    assert f"release {CH} v2 needs 3.0 MiB more" in msg
    assert "keeps 256.0 KiB free" in msg and "only 2.0 MiB is free" in msg
    assert str(store.data_dir) in msg
    assert not store.save_path(CH, 2).exists()
    assert store.active_version(CH) == 1 and kit.served() == OLD
    # The technician frees space; the same call now works and reuses the shared film.
    (disk / "filler").unlink()
    plan = store.prepare_release(rel.manifest, Policy())
    assert [f.path for f in plan.fetch] == ["电影/新片.mp4"]


def test_full_disk_while_recording_a_manifest(tmp_path, tmpfs, kit_for, release):
    disk = tmpfs(tmp_path / "disk", 8 * MiB)
    store = Store(disk / "data", reserve=0)
    kit = kit_for(store)
    kit.install(release(1, OLD))
    fill(disk, 0)
    many_files = release(2, {f"电影/{i:04d}.mp4": bytes([i % 256]) for i in range(3000)})
    with pytest.raises(DiskFullError, match="the disk is full"):
        store.record_manifest(many_files.envelope, many_files.manifest)
    assert store.releases(CH) == [1]
    assert no_tmp_files(disk / "data")
    assert kit.served() == OLD


def test_enospc_in_the_middle_of_a_copy(tmp_path, tmpfs, kit_for, release, monkeypatch):
    data = tmp_path / "data"
    releases = tmpfs(data / "releases", 4 * MiB)  # objects/ stays on the big disk: no links
    store = Store(data, reserve=0)
    kit = kit_for(store)
    kit.install(release(1, OLD))
    assert os.listdir(data / "objects") == []  # cross-device: nothing ingested
    big = b"B" * (6 * MiB)
    rel = release(2, {**OLD, "电影/大片.mp4": big})
    (data / "objects" / rel.manifest.file("电影/大片.mp4").sha256.hex()).write_bytes(big)
    store.record_manifest(rel.envelope, rel.manifest)
    # The space check knows links cannot cross file systems: 2 MiB to fetch + a 6 MiB copy.
    with pytest.raises(DiskFullError, match=r"needs 8\.0 MiB more"):
        store.prepare_release(rel.manifest, Policy())
    # Someone else fills the disk after the check: the copy itself hits ENOSPC.
    monkeypatch.setattr(store_module, "free_bytes", lambda _p: 1 << 40)
    free_before = shutil.disk_usage(releases).free
    with pytest.raises(DiskFullError) as err:
        store.prepare_release(rel.manifest, Policy())
    msg = str(err.value)
    assert "大片.mp4" in msg and "6.0 MiB" in msg and "the disk is full" in msg
    assert isinstance(err.value.__cause__, OSError)
    assert no_tmp_files(releases)
    assert shutil.disk_usage(releases).free == free_before  # the partial copy is gone
    assert store.active_version(CH) == 1 and kit.served() == OLD
