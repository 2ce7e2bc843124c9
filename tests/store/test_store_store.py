"""Store on a real file system: reuse, verification, quarantine, activation, gc, reopening."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
import trio

from manifest import Kind
from p2pdist.errors import ConfigError, CorruptStateError, StorageError
from p2pdist.store import Policy, Store
from p2pdist.store import _intake as store_module
from tests.world import holds_for

CH = "national/winter-2027"
FIVE = {f"电影/片{i}.mp4": bytes([i]) * (1000 + i) for i in range(5)}


def objects(store: Store) -> list[str]:
    return sorted(os.listdir(store.data_dir / "objects"))


def test_first_release_end_to_end(store, kit, release) -> None:
    rel = release(1, FIVE)
    plan = kit.install(rel)
    assert plan.bytes_to_fetch == sum(len(b) for b in FIVE.values())
    assert store.active_version(CH) == 1
    assert kit.served() == FIVE
    assert store.releases(CH) == [1]
    assert store.channels() == [CH]
    assert len(objects(store)) == 5


def test_second_release_hard_links_shared_files(store, kit, release) -> None:
    kit.install(release(1, FIVE))
    v2_files = {**{k: v for k, v in list(FIVE.items())[:4]}, "电影/新片.mp4": b"new" * 500}
    rel2 = release(2, v2_files)
    store.record_manifest(rel2.envelope, rel2.manifest)
    plan = store.prepare_release(rel2.manifest, Policy())
    assert len(plan.reuse) == 4 and [f.path for f in plan.fetch] == ["电影/新片.mp4"]
    assert plan.bytes_to_fetch == 1500
    for f in plan.reuse:
        new = store.release_dir(CH, 2) / f.path
        assert new.samefile(store.release_dir(CH, 1) / f.path)
        assert new.stat().st_nlink == 3  # objects/, v1, v2
    assert not (store.release_dir(CH, 2) / "电影/新片.mp4").exists()
    # The old release is still what the player serves until v2 is activated.
    assert store.active_version(CH) == 1 and kit.served() == FIVE
    kit.install(rel2)
    assert kit.served() == v2_files
    assert len(objects(store)) == 6


def test_file_in_two_themes_is_stored_once(store, kit, release) -> None:
    rel = release(1, {
        "电影/过年好.mp4": (b"x" * 4096, Kind.FILM, ("喜剧", "春节")),
        "电影/别的.mp4": (b"y" * 10, Kind.FILM, ("喜剧",)),
    })
    assert rel.manifest.files[1].themes == ("喜剧", "春节")
    plan = kit.install(rel, Policy.parse("themes=喜剧,春节"))
    assert [f.path for f in plan.wanted] == ["电影/别的.mp4", "电影/过年好.mp4"]
    assert len(objects(store)) == 2
    assert (store.release_dir(CH, 1) / "电影/过年好.mp4").stat().st_nlink == 2


def test_same_content_at_two_paths_ends_as_one_copy(store, kit, release) -> None:
    same = b"z" * 3000
    rel = release(1, {"喜剧/过年好.mp4": same, "春节/过年好.mp4": same})
    kit.install(rel)
    a, b = (store.release_dir(CH, 1) / p for p in ("喜剧/过年好.mp4", "春节/过年好.mp4"))
    assert a.samefile(b)
    assert len(objects(store)) == 1
    assert kit.served() == {"喜剧/过年好.mp4": same, "春节/过年好.mp4": same}


def test_selective_policy_only_lays_out_wanted_files(store, kit, release) -> None:
    rel = release(1, {
        "课程/微信.mp4": (b"c1", Kind.COURSE, ("数字生活",)),
        "课程/打车.mp4": (b"c2", Kind.COURSE, ("出行",)),
        "手册.pdf": (b"hb", Kind.HANDBOOK, ()),
        "电影/战狼.mp4": (b"f1", Kind.FILM, ("战争",)),
    })
    plan = kit.install(rel, Policy.parse("kinds=course,handbook", "exclude-themes=出行"))
    assert [f.path for f in plan.fetch] == ["手册.pdf", "课程/微信.mp4"]
    assert kit.served() == {"手册.pdf": b"hb", "课程/微信.mp4": b"c1"}


def test_verify_finds_a_flipped_byte_and_quarantine_moves_it(store, kit, release) -> None:
    rel = release(1, FIVE)
    kit.install(rel)
    rel2 = release(2, FIVE)
    store.record_manifest(rel2.envelope, rel2.manifest)
    plan = store.prepare_release(rel2.manifest, Policy())
    assert plan.fetch == ()
    victim = rel2.manifest.files[2]
    path = store.release_dir(CH, 2) / victim.path
    with open(path, "r+b") as f:  # bit rot in the shared object
        f.seek(500)
        byte = f.read(1)
        f.seek(500)
        f.write(bytes([byte[0] ^ 0x01]))
    seen: list[tuple[int, int]] = []
    bad = store.verify_release(rel2.manifest, plan.wanted, lambda d, t: seen.append((d, t)))
    assert bad == [victim]
    assert seen[-1] == (rel2.manifest.total_size, rel2.manifest.total_size)
    moved = store.quarantine(rel2.manifest, victim)
    assert moved is not None and moved.is_relative_to(store.data_dir / "quarantine")
    assert moved.name == victim.path.rsplit("/", 1)[-1]
    assert not path.exists()
    assert victim.sha256.hex() not in objects(store)  # the bad object is not reused again
    assert store.quarantine(rel2.manifest, victim) is None
    # The next prepare plans it as a fetch; after the download all is well.
    plan = store.prepare_release(rel2.manifest, Policy())
    assert plan.fetch == (victim,)
    kit.download(rel2, plan)
    assert store.verify_release(rel2.manifest, plan.wanted) == []


def test_verify_reports_missing_and_wrong_size(store, release) -> None:
    rel = release(1, {"a": b"a" * 10, "b": b"b" * 10, "c": b"c" * 10})
    store.record_manifest(rel.envelope, rel.manifest)
    plan = store.prepare_release(rel.manifest, Policy())
    root = store.release_dir(CH, 1)
    (root / "a").write_bytes(b"a" * 10)
    (root / "b").write_bytes(b"b" * 11)
    seen: list[int] = []
    bad = store.verify_release(rel.manifest, plan.wanted, lambda d, t: seen.append(d))
    assert [f.path for f in bad] == ["b", "c"]
    assert seen[-1] == 30


async def test_averify_runs_in_a_thread(store, kit, release) -> None:
    rel = release(1, FIVE)
    kit.install(rel)
    bad = await store.averify_release(rel.manifest, rel.manifest.files)
    assert bad == []


async def test_averify_cancellation_stops_the_worker(store, kit, release) -> None:
    rel = release(1, {"big": b"q" * (8 * 1024 * 1024)})
    kit.install(rel)
    chunks: list[int] = []
    started = trio.Event()
    resume = threading.Event()

    def progress(done: int, total: int) -> None:
        chunks.append(done)
        if len(chunks) == 1:
            trio.from_thread.run_sync(started.set)
            assert resume.wait(10)  # held at the first chunk until the check is cancelled

    async def run() -> None:
        await store.averify_release(rel.manifest, rel.manifest.files, progress)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        await started.wait()
        nursery.cancel_scope.cancel()
    seen = len(chunks)
    resume.set()  # the worker goes on to its next chunk, where it must stop
    holds_for(lambda: len(chunks) == seen, 0.5, "the worker reported a chunk after the cancel")
    assert len(chunks) == seen < 8  # the worker stopped at its next chunk


def test_gc_keeps_active_and_newest(store, kit, release) -> None:
    versions = {v: {f"f{v}.mp4": bytes([v]) * 100, "shared.mp4": b"s" * 100} for v in range(1, 5)}
    for v in (1, 2):
        kit.install(release(v, versions[v]))
    for v in (3, 4):  # newer releases prepared and downloaded, not activated
        for name, step in kit.steps(release(v, versions[v])):
            if name != "activate":
                step()
    assert store.active_version(CH) == 2
    report = store.gc(keep_per_channel=1)
    assert report.releases_deleted == ((CH, 1), (CH, 3))
    assert store.releases(CH) == [2, 4]
    assert not store.save_path(CH, 1).exists() and not store.save_path(CH, 3).exists()
    assert report.objects_deleted == 2  # f1 and f3
    assert report.bytes_freed == 200
    assert kit.served() == versions[2]
    report = store.gc(keep_per_channel=0)
    assert report.releases_deleted == ((CH, 4),)
    assert store.releases(CH) == [2]
    assert objects(store) == sorted(
        e.sha256.hex() for e in store.load_manifest(CH, 2).files)
    assert kit.served() == versions[2]


def test_gc_removes_leftover_release_folders(store, kit, release) -> None:
    kit.install(release(1, FIVE))
    junk = store.save_path(CH, 7) / "x"
    junk.mkdir(parents=True)
    (junk / "part").write_bytes(b"1")
    stray_object = store.data_dir / "objects" / ("00" * 32)
    stray_object.write_bytes(b"orphan")
    report = store.gc()
    assert report.releases_deleted == ((CH, 7),)
    assert report.objects_deleted == 1
    assert not stray_object.exists() and not store.save_path(CH, 7).exists()


def test_gc_stops_before_deleting_when_a_kept_manifest_is_damaged(store, kit, release) -> None:
    kit.install(release(1, FIVE))
    kit.install(release(2, {"a": b"a"}))
    kit.install(release(3, {"b": b"b"}))
    (store.save_path(CH, 3).parent / "3.manifest").write_bytes(b"garbage")
    with pytest.raises(CorruptStateError, match=r"3\.manifest is damaged"):
        store.gc(keep_per_channel=1)
    assert store.releases(CH) == [1, 2, 3]
    assert len(objects(store)) == 7


def test_chinese_names_end_to_end(store, kit, release) -> None:
    files = {
        "数字生活/第01课 微信聊天.mp4": (b"wx" * 999, Kind.COURSE, ("数字生活技能",)),
        "数字生活/第02课 抢红包.mp4": (b"hb" * 777, Kind.COURSE, ("数字生活技能",)),
        "学习手册/《数字生活》学习手册.pdf": (b"%PDF", Kind.HANDBOOK, ()),
        "电影/喜剧/过年好.mp4": (b"gnh" * 1234, Kind.FILM, ("喜剧", "春节")),
    }
    rel = release(1, files)
    kit.install(rel)
    assert kit.served() == {p: spec[0] for p, spec in files.items()}
    root = store.release_dir(CH, 1)
    assert (root / "电影/喜剧/过年好.mp4").is_file()
    assert os.fsencode(root / "电影/喜剧/过年好.mp4").decode("utf-8")
    rel2 = release(2, files)
    kit.install(rel2)
    assert kit.plan.fetch == ()
    assert store.load_manifest(CH, 2) == rel2.manifest
    assert [f.path for f in store.verify_release(rel2.manifest, rel2.manifest.files)] == []


def test_activate_is_a_relative_link_swapped_without_leftovers(store, kit, release) -> None:
    kit.install(release(1, FIVE))
    link = store.active_dir(CH)
    assert link == store.data_dir / "active" / "national" / "winter-2027"
    assert os.readlink(link) == "../../releases/national/winter-2027/1/national_winter-2027_v1"
    kit.install(release(2, {"a": b"a"}))
    assert os.readlink(link).endswith("/2/national_winter-2027_v2")
    assert os.listdir(link.parent) == ["winter-2027"]
    # The data folder can move (another mount point): the relative link still works.
    moved = store.data_dir.with_name("moved")
    store.data_dir.rename(moved)
    assert (moved / "active" / CH / "a").read_bytes() == b"a"


def test_activate_needs_the_release_folder(store, release) -> None:
    rel = release(1, FIVE)
    with pytest.raises(StorageError, match="prepare, download and verify"):
        store.activate(rel.manifest)
    assert store.active_version(CH) is None


def test_prepare_needs_a_recorded_manifest(store, release) -> None:
    with pytest.raises(RuntimeError, match="record_manifest"):
        store.prepare_release(release(1, FIVE).manifest, Policy())


def test_record_checks_the_envelope_matches(store, release) -> None:
    with pytest.raises(ValueError, match="does not carry"):
        store.record_manifest(release(1, FIVE).envelope, release(2, FIVE).manifest)


def test_record_refuses_nested_channels(store, kit, release) -> None:
    kit.install(release(1, FIVE))
    outer = release(1, FIVE, channel="national")
    with pytest.raises(StorageError, match="national/winter-2027"):
        store.record_manifest(outer.envelope, outer.manifest)
    inner = release(1, FIVE, channel="national/winter-2027/extra")
    with pytest.raises(StorageError, match="follow only one"):
        store.record_manifest(inner.envelope, inner.manifest)
    other = release(1, FIVE, channel="province/hunan")
    kit.install(other)
    assert store.channels() == [CH, "province/hunan"]


def test_numeric_channel_segments_are_channels_not_versions(store, kit, release) -> None:
    rel = release(3, {"a": b"a"}, channel="winter/2027")
    kit.install(rel)
    assert store.channels() == ["winter/2027"]
    assert store.releases("winter/2027") == [3]
    assert store.gc().releases_deleted == ()


def test_load_manifest_errors(store, kit, release) -> None:
    with pytest.raises(StorageError, match="no manifest is recorded"):
        store.load_manifest(CH, 9)
    rel = release(1, FIVE)
    kit.install(rel)
    assert store.manifest_envelope(CH, 1) == rel.envelope
    (store.save_path(CH, 1).parent / "2.manifest").write_bytes(rel.envelope)
    with pytest.raises(CorruptStateError, match="v1, not of the release"):
        store.load_manifest(CH, 2)


def test_active_version_reports_a_broken_active_entry(store) -> None:
    link = store.active_dir(CH)
    link.parent.mkdir(parents=True)
    link.mkdir()
    with pytest.raises(CorruptStateError, match="not a link"):
        store.active_version(CH)
    link.rmdir()
    link.symlink_to("/etc")
    with pytest.raises(CorruptStateError, match="'/etc'"):
        store.active_version(CH)


def test_channel_names_are_checked(store) -> None:
    with pytest.raises(ConfigError):
        store.active_version("../x")
    with pytest.raises(ConfigError):
        store.releases("A")


def test_reopening_an_existing_data_dir(data_dir, kit, release) -> None:
    kit.install(release(1, FIVE))
    kit.install(release(2, {"a": b"a"}))
    link = data_dir / "active" / CH
    stale_link = link.with_name(".p2pdist-tmp-0123456789abcdef")
    stale_link.symlink_to("nowhere")
    stale_record = data_dir / "releases" / CH / ".p2pdist-tmp-fedcba9876543210"
    stale_record.write_bytes(b"half a manifest")
    keep = data_dir / "active" / "README.txt"
    keep.write_text("not ours")
    again = Store(data_dir)
    assert not stale_link.is_symlink() and not stale_record.exists() and keep.exists()
    assert again.channels() == [CH]
    assert again.releases(CH) == [1, 2]
    assert again.active_version(CH) == 2
    assert again.load_manifest(CH, 1) == release(1, FIVE).manifest
    plan = again.prepare_release(release(1, FIVE).manifest, Policy())
    assert plan.fetch == ()


def test_store_on_a_file_is_a_storage_error(tmp_path: Path) -> None:
    f = tmp_path / "data"
    f.write_text("")
    with pytest.raises(StorageError, match=re.escape(str(f))):
        Store(f)


def test_resumed_download_counts_only_missing_bytes(store, release, monkeypatch) -> None:
    rel = release(1, {"big": b"b" * 200_000, "small": b"s" * 1000})
    store.record_manifest(rel.envelope, rel.manifest)
    store.prepare_release(rel.manifest, Policy())
    (store.release_dir(CH, 1) / "big").write_bytes(b"b" * 200_000)  # downloaded before a crash
    monkeypatch.setattr(store_module, "free_bytes", lambda _p: 50_000)
    store.prepare_release(rel.manifest, Policy())  # needs ~1000 bytes, not 201000
    monkeypatch.setattr(store_module, "free_bytes", lambda _p: 500)
    with pytest.raises(StorageError, match="needs 1000 B more"):
        store.prepare_release(rel.manifest, Policy())


def test_readers_never_see_the_active_link_missing(store, kit, release) -> None:
    rels = [release(v, {"a": bytes([v])}) for v in (1, 2)]
    for rel in rels:
        kit.install(rel)
    link = store.active_dir(CH)
    stop = threading.Event()
    misses: list[OSError] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                os.readlink(link)
            except OSError as e:
                misses.append(e)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(200):
            store.activate(rels[i % 2].manifest)
    finally:
        stop.set()
        t.join()
    assert misses == []
    assert os.listdir(link.parent) == ["winter-2027"]
