"""Boxes fetch a signed release through real libtorrent sessions in separate processes.

Every box has its own loopback address (127.0.0.x) so per-address peer classes and bans work as
on a real LAN.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from boxworld import BUNDLE, Procs, World, tree_digest

from p2pdist.store import Store
from tests.world import free_port

pytestmark = pytest.mark.slow


def test_seeder_and_three_boxes_complete_identically(world: World, procs: Procs,
                                                      tmp_path: Path) -> None:
    _seed, port = procs.seeder(world.origin)
    boxes = [procs.box(world, tmp_path / f"b{i}", f"127.0.0.{10 + i}", "--peer",
                       f"127.0.0.1:{port}", "--seed", name=f"box{i}") for i in range(3)]
    for b in boxes:
        done = b.wait_event("done", 90)
        assert done["version"] == 1
    expected = tree_digest(world.content1)
    for i in range(3):
        store = Store(tmp_path / f"b{i}")
        assert store.active_version("national/test") == 1
        assert tree_digest(store.active_dir("national/test")) == expected


def test_sigkill_mid_download_resumes_without_refetching(world: World, procs: Procs,
                                                         tmp_path: Path) -> None:
    # The seeder's upload is capped (a download cap arrives in bursts on loopback).
    _seed, port = procs.seeder(world.origin, "127.0.0.3", "--wan-limit", "up=3MB")
    data = tmp_path / "box"
    first = procs.box(world, data, "127.0.0.20", "--peer", f"127.0.0.3:{port}", name="first")
    ev = first.wait_event("progress", 60, where=lambda e: e["bytes_done"] >= BUNDLE // 2)
    done_at_kill = ev["bytes_done"]
    first.kill()
    assert Store(data).active_version("national/test") is None
    second = procs.box(world, data, "127.0.0.20", "--peer", f"127.0.0.3:{port}", name="second")
    done = second.wait_event("done", 90)
    # Only what arrived after the last resume save (1 s at 3 MB/s) may be fetched again.
    refetched = done["payload_download"] - (BUNDLE - done_at_kill)
    assert refetched < 0.25 * BUNDLE, done
    assert tree_digest(Store(data).active_dir("national/test")) == tree_digest(world.content1)


def test_update_moves_only_changed_files(world: World, procs: Procs, tmp_path: Path) -> None:
    _seed, port = procs.seeder(world.origin)
    data = tmp_path / "box"
    procs.box(world, data, "127.0.0.30", "--peer", f"127.0.0.1:{port}").wait_event("done", 90)
    m1, m2 = world.manifest(1), world.manifest(2)
    old = {f.sha256 for f in m1.files}
    changed = sum(f.size for f in m2.files if f.sha256 not in old)
    assert 0 < changed < BUNDLE // 2
    _seed2, port2 = procs.seeder(world.origin2, "127.0.0.2")
    done = procs.box(world, data, "127.0.0.30", "--peer", f"127.0.0.2:{port2}",
                     which=2).wait_event("done", 90)
    assert done["version"] == 2
    assert done["bytes_reused"] == m2.total_size - changed
    assert done["payload_download"] <= changed * 1.05 + 256 * 1024, (done, changed)
    store = Store(data)
    assert store.active_version("national/test") == 2
    assert tree_digest(store.active_dir("national/test")) == tree_digest(world.content2)


def test_selective_policy_fetches_only_its_files(world: World, procs: Procs,
                                                 tmp_path: Path) -> None:
    _seed, port = procs.seeder(world.origin)
    data = tmp_path / "box"
    done = procs.box(world, data, "127.0.0.40", "--peer", f"127.0.0.1:{port}", "--policy",
                     "kinds=course,handbook").wait_event("done", 90)
    m = world.manifest(1)
    wanted = {f.path for f in m.files if f.kind.value in ("course", "handbook")}
    on_disk = set(tree_digest(Store(data).active_dir("national/test")))
    assert on_disk == wanted
    assert done["payload_download"] < 0.2 * BUNDLE


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_full_disk_is_a_clear_error_and_keeps_the_active_release(
        world: World, procs: Procs, tmp_path: Path) -> None:
    _seed, port = procs.seeder(world.origin)
    mnt = tmp_path / "small"
    mnt.mkdir()
    size = world.manifest(1).total_size + 6 * 1024 * 1024  # v1 fits, v2's new films do not
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], check=True)
    try:
        data = mnt / "box"
        procs.box(world, data, "127.0.0.50", "--peer", f"127.0.0.1:{port}").wait_event("done", 90)
        filler = mnt / "filler"
        free = shutil.disk_usage(mnt).free
        filler.write_bytes(b"\0" * max(0, free - 2 * 1024 * 1024))
        _seed2, port2 = procs.seeder(world.origin2, "127.0.0.2")
        box = procs.box(world, data, "127.0.0.50", "--peer", f"127.0.0.2:{port2}", which=2)
        assert box.wait_exit(60) == 4
        assert "DiskFullError" in box.stderr_tail and "free" in box.stderr_tail
        store = Store(data)
        assert store.active_version("national/test") == 1
        assert tree_digest(store.active_dir("national/test")) == tree_digest(world.content1)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_file_damaged_while_off_is_quarantined_and_fetched_again(
        world: World, procs: Procs, tmp_path: Path) -> None:
    """Resume data says complete, but a file changed on disk while the box was off (or the
    previous run was killed between libtorrent's finish and activation): the SHA-256 check
    catches it, the file is set aside and fetched again."""
    _seed, port = procs.seeder(world.origin)
    data = tmp_path / "box"
    first = procs.box(world, data, "127.0.0.60", "--peer", f"127.0.0.1:{port}")
    first.wait_event("done", 90)
    store = Store(data)
    m = world.manifest(1)
    victim = next(f for f in m.files if f.kind.value == "film")
    # Build the situation of a killed run: v1 downloaded but not active, one file damaged.
    (data / "active" / "national" / "test").unlink()
    target = store.release_dir("national/test", 1) / victim.path
    (data / "objects" / victim.sha256.hex()).unlink()
    bad = bytearray(target.read_bytes())
    bad[100] ^= 0xFF
    target.unlink()
    target.write_bytes(bytes(bad))
    done = procs.box(world, data, "127.0.0.60", "--peer",
                     f"127.0.0.1:{port}").wait_event("done", 90)
    assert done["repaired_files"] == [victim.path]
    assert tree_digest(store.active_dir("national/test")) == tree_digest(world.content1)
    assert any((data / "quarantine").rglob(Path(victim.path).name))


def test_a_stalled_fetch_exits_5_naming_the_missing_files(world: World, procs: Procs,
                                                          tmp_path: Path) -> None:
    """Its only peer goes away mid-download: `box fetch` gives up after --stall-timeout with
    the transfer exit code, and a later run with a live peer completes what it started."""
    seeder, port = procs.seeder(world.origin, "127.0.0.4", "--wan-limit", "up=2MB")
    data = tmp_path / "box"
    box = procs.box(world, data, "127.0.0.70", "--peer", f"127.0.0.4:{port}",
                    "--stall-timeout", "2", name="stalled")
    box.wait_event("progress", 60, where=lambda e: 0 < e["bytes_done"] < BUNDLE // 2)
    seeder.kill()
    assert box.wait_exit(60) == 5
    assert "StallError" in box.stderr_tail and "missing" in box.stderr_tail, box.stderr_tail
    assert "Traceback" not in box.stderr_tail
    assert Store(data).active_version("national/test") is None
    _seed2, port2 = procs.seeder(world.origin, "127.0.0.5")
    done = procs.box(world, data, "127.0.0.70", "--peer", f"127.0.0.5:{port2}",
                     name="again").wait_event("done", 90)
    assert done["version"] == 1
    assert tree_digest(Store(data).active_dir("national/test")) == tree_digest(world.content1)


def test_a_seeder_that_starts_after_the_fetch_is_used(world: World, procs: Procs,
                                                      tmp_path: Path) -> None:
    """Issue 16.2: the only peer is not up yet; after 6 refused dials (libtorrent alone gives
    up at 3; ~25 s of back-off) it starts on that address and the fetch completes."""
    ip = "127.0.0.8"
    port = free_port(ip)
    data = tmp_path / "box"
    box = procs.box(world, data, "127.0.0.72", "--peer", f"{ip}:{port}", name="early")
    box.wait_event("progress", 90, where=lambda e: e["dial_failures"] >= 6)
    seeder = procs.start("seed", "--data", world.origin, "--listen", f"{ip}:{port}", "--json",
                         name="late-seeder")
    seeder.wait_event("listening", 30)
    back = time.monotonic()
    done = box.wait_event("done", 90)
    print(f"\ndone {time.monotonic() - back:.1f} s after the late seeder listened")
    assert done["version"] == 1
    assert tree_digest(Store(data).active_dir("national/test")) == tree_digest(world.content1)


def test_a_fetch_whose_only_peer_lacks_a_file_exits_5_naming_it(
        world: World, procs: Procs, tmp_path: Path) -> None:
    """The only seeder's copy of one film is damaged: the fetch ends with exit 5 naming the
    missing files, and completes from a good seeder afterwards."""
    bad_origin = tmp_path / "bad-origin"
    shutil.copytree(world.origin, bad_origin, symlinks=True)
    m = world.manifest(1)
    victim = next(f for f in m.files if f.kind.value == "film")
    target = Store(bad_origin).release_dir("national/test", 1) / victim.path
    target.unlink()
    target.write_bytes(b"\0" * victim.size)
    _bad, port = procs.seeder(bad_origin, "127.0.0.6")
    data = tmp_path / "box"
    box = procs.box(world, data, "127.0.0.71", "--peer", f"127.0.0.6:{port}",
                    "--stall-timeout", "3", name="lacking")
    assert box.wait_exit(90) == 5
    # A complete release is seeded without hashing it first, so the damaged film reaches the
    # box, fails libtorrent's hash check and gets the seeder banned: the box then stalls with
    # that film (and whatever else was still missing) named.
    assert "Traceback" not in box.stderr_tail
    assert "StallError" in box.stderr_tail
    assert any(f.path in box.stderr_tail for f in m.files)
    assert Store(data).active_version("national/test") is None
    _good, port2 = procs.seeder(world.origin, "127.0.0.7")
    done = procs.box(world, data, "127.0.0.71", "--peer", f"127.0.0.7:{port2}",
                     name="good").wait_event("done", 90)
    assert done["version"] == 1
    assert tree_digest(Store(data).active_dir("national/test")) == tree_digest(world.content1)
