"""Sneakernet: export active releases to a "drive" folder and import them into offline boxes.

Trust comes from signatures, not from the drive: tampered files, forged roots and rollbacks on
the drive are refused, and the box's active release is never disturbed by a failed import.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sneaker_world import (
    CHANNEL,
    HUNAN,
    Keys,
    build_signed,
    install_into,
    make_keys,
    tree_digest,
)

import keys
from p2pdist.boxstate import BoxState
from p2pdist.cli import cli
from p2pdist.errors import ConfigError, ContentMismatchError
from p2pdist.install import InstallReport
from p2pdist.sample import write_sample
from p2pdist.sneakernet import EXPORT_DIR, export_releases, find_export, import_releases
from p2pdist.store import Store

SIZE = 2_500_000
HUNAN_SIZE = 1_000_000


@dataclass(frozen=True)
class World:
    keys: Keys
    content1: Path
    content2: Path
    content_hunan: Path
    changed: tuple[str, ...]
    """Film paths that differ between v1 and v2."""
    box1: Path
    """A box with national/test v1 active (pinned to root v1)."""
    drive1: Path
    """Export of box1: root v1, national/test v1."""
    drive2: Path
    """Export of a box with national/test v2 active: root v1, national/test v2."""
    drive_rot: Path
    """Export of a box pinned to v1 that accepted v2: roots v1 and v2, province/hunan/test v1
    signed by the hunan key that only v2 delegates."""


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> World:
    d = tmp_path_factory.mktemp("sneaker")
    k = make_keys()
    c1 = write_sample(d / "c1", SIZE, seed=3).root
    s2 = write_sample(d / "c2", SIZE, seed=3, change_films=5)
    ch = write_sample(d / "ch", HUNAN_SIZE, seed=9).root
    m1 = build_signed(c1, CHANNEL, 1, k.release)
    m2 = build_signed(s2.root, CHANNEL, 2, k.release)
    mh = build_signed(ch, HUNAN, 1, k.hunan)

    install_into(d / "box1", [k.root_v1], m1, c1)
    install_into(d / "box2", [k.root_v1], m2, s2.root)
    install_into(d / "box-rot", [k.root_v1, k.root_v2], mh, ch)
    drives = {}
    for name in ("box1", "box2", "box-rot"):
        data = d / name
        export_releases(Store(data, reserve=0), BoxState(data).chain(), d / f"drive-{name}")
        drives[name] = d / f"drive-{name}"
    return World(k, c1, s2.root, ch, s2.changed, d / "box1", drives["box1"], drives["box2"],
                 drives["box-rot"])


def pinned_box(data: Path, root: bytes) -> tuple[Store, BoxState]:
    state = BoxState(data)
    state.pin_root(root)
    return Store(data, reserve=0), state


def copy_drive(drive: Path, dest: Path) -> Path:
    shutil.copytree(drive, dest, symlinks=False)
    return dest


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def release_file(drive: Path, channel: str, version: int, rel: str) -> Path:
    return drive / EXPORT_DIR / "releases" / channel / f"v{version}" / rel


# -- export ------------------------------------------------------------------------------


def test_export_layout(w: World) -> None:
    exp = w.drive1 / EXPORT_DIR
    assert sorted(p.name for p in (exp / "roots").iterdir()) == ["root.v1"]
    assert (exp / "roots" / "root.v1").read_bytes() == w.keys.root_v1
    manifest = exp / "releases" / CHANNEL / "v1.manifest"
    assert manifest.read_bytes() == Store(w.box1, reserve=0).manifest_envelope(CHANNEL, 1)
    assert tree_digest(exp / "releases" / CHANNEL / "v1") == tree_digest(w.content1)
    assert not (w.drive1 / f".{EXPORT_DIR}.tmp").exists()


def test_export_report_and_progress(w: World, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    report = export_releases(Store(w.box1, reserve=0), [w.keys.root_v1], tmp_path,
                             progress=lambda d, t: seen.append((d, t)))
    assert report.folder == tmp_path / EXPORT_DIR
    assert report.releases == ((CHANNEL, 1),)
    assert report.bytes == SIZE
    assert seen[-1] == (SIZE, SIZE)
    assert all(t == SIZE for _d, t in seen)
    # Exporting again replaces the old export in place.
    again = export_releases(Store(w.box1, reserve=0), [w.keys.root_v1], tmp_path)
    assert again.bytes == SIZE
    assert tree_digest(tmp_path / EXPORT_DIR / "releases") == tree_digest(
        w.drive1 / EXPORT_DIR / "releases")


def test_export_with_nothing_active_is_a_config_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "empty", reserve=0)
    with pytest.raises(ConfigError, match="no active release"):
        export_releases(store, [], tmp_path / "drive")
    assert not (tmp_path / "drive" / EXPORT_DIR).exists()


def test_export_of_an_inactive_channel_only_is_a_config_error(w: World, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        export_releases(Store(w.box1, reserve=0), [w.keys.root_v1], tmp_path,
                        channels=["national/other"])


# -- find_export -------------------------------------------------------------------------


def test_find_export_accepts_the_drive_and_the_export_folder(w: World) -> None:
    assert find_export(w.drive1) == w.drive1 / EXPORT_DIR
    assert find_export(w.drive1 / EXPORT_DIR) == w.drive1 / EXPORT_DIR


def test_find_export_refuses_a_folder_without_an_export(tmp_path: Path) -> None:
    (tmp_path / EXPORT_DIR / "roots").mkdir(parents=True)  # no releases/
    with pytest.raises(ConfigError, match=EXPORT_DIR):
        find_export(tmp_path)


# -- import ------------------------------------------------------------------------------


def test_import_into_a_fresh_box_then_again_is_already_active(w: World, tmp_path: Path) -> None:
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    out = import_releases(store, state, w.drive1)
    assert out == [InstallReport(CHANNEL, 1, 43, SIZE, 0)]
    assert store.active_version(CHANNEL) == 1
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content1)

    again = import_releases(store, state, w.drive1 / EXPORT_DIR)
    assert len(again) == 1
    assert isinstance(again[0], str)
    assert "already active" in again[0]
    assert CHANNEL in again[0]
    assert store.active_version(CHANNEL) == 1


def test_import_progress_reaches_the_total(w: World, tmp_path: Path) -> None:
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    seen: list[tuple[int, int]] = []
    import_releases(store, state, w.drive1, progress=lambda d, t: seen.append((d, t)))
    assert seen
    assert seen[-1][0] == seen[-1][1] > 0
    # The bar counts the release once (it said 20 GB for a 10 GB release).
    m = store.load_manifest(CHANNEL, store.active_version(CHANNEL) or 0)
    assert {t for _d, t in seen} == {sum(f.size for f in m.files)}
    # One pass: each copy is hashed as it is written, not read back again.
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(seen)), seen


def _bytes_read() -> int:
    """Bytes this process has read through read(2) and friends so far (/proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_import_reads_each_byte_once(w: World, tmp_path: Path) -> None:
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    before = _bytes_read()
    import_releases(store, state, w.drive1)
    read = _bytes_read() - before
    m = store.load_manifest(CHANNEL, store.active_version(CHANNEL) or 0)
    total = sum(f.size for f in m.files)
    assert total <= read < 1.3 * total, (read, total)  # a second hashing pass made it 2x


def test_tampered_file_on_the_drive_activates_nothing(w: World, tmp_path: Path) -> None:
    drive = copy_drive(w.drive1, tmp_path / "drive")
    flip_byte(release_file(drive, CHANNEL, 1, w.changed[0]))
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    with pytest.raises(ContentMismatchError):
        import_releases(store, state, drive)
    assert store.active_version(CHANNEL) is None
    assert not store.active_dir(CHANNEL).exists()


def test_tampered_update_leaves_the_old_release_active_and_intact(
    w: World, tmp_path: Path
) -> None:
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    import_releases(store, state, w.drive1)
    drive = copy_drive(w.drive2, tmp_path / "drive")
    flip_byte(release_file(drive, CHANNEL, 2, w.changed[0]))  # a file v1 does not have
    with pytest.raises(ContentMismatchError):
        import_releases(store, state, drive)
    assert store.active_version(CHANNEL) == 1
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content1)
    # A good copy of the same release still installs afterwards.
    (out,) = import_releases(store, state, w.drive2)
    assert isinstance(out, InstallReport)
    assert store.active_version(CHANNEL) == 2
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content2)


def test_update_copies_only_the_changed_files(w: World, tmp_path: Path) -> None:
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    import_releases(store, state, w.drive1)
    (out,) = import_releases(store, state, w.drive2)
    changed = sum((w.content2 / p).stat().st_size for p in w.changed)
    assert len(w.changed) == 5
    assert 0 < changed < SIZE
    assert isinstance(out, InstallReport)
    assert (out.channel, out.version, out.files) == (CHANNEL, 2, 43)
    assert out.bytes_copied == changed
    assert out.bytes_reused == SIZE - changed
    assert store.active_version(CHANNEL) == 2
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content2)


def test_root_rotation_on_the_drive_is_accepted_and_stored(w: World, tmp_path: Path) -> None:
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    (out,) = import_releases(store, state, w.drive_rot)
    assert isinstance(out, InstallReport)
    assert (out.channel, out.version) == (HUNAN, 1)
    assert store.active_version(HUNAN) == 1
    assert tree_digest(store.active_dir(HUNAN)) == tree_digest(w.content_hunan)
    assert [v for v, _p in state.root_files()] == [1, 2]
    assert (state.roots_dir / "root.v2").read_bytes() == w.keys.root_v2
    assert state.chain() == [w.keys.root_v1, w.keys.root_v2]
    assert state.trusted_root(0).version == 2


def test_forged_root_on_the_drive_is_refused(w: World, tmp_path: Path) -> None:
    drive = copy_drive(w.drive_rot, tmp_path / "drive")
    (drive / EXPORT_DIR / "roots" / "root.v2").write_bytes(w.keys.forged_v2)
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    with pytest.raises(keys.TrustError) as info:
        import_releases(store, state, drive)
    assert not isinstance(info.value, ContentMismatchError)
    assert [v for v, _p in state.root_files()] == [1]
    assert not (state.roots_dir / "root.v2").exists()
    assert store.channels() == []
    assert store.active_version(HUNAN) is None


def test_manifest_of_a_role_the_box_does_not_trust_is_refused(
    w: World, tmp_path: Path
) -> None:
    """Without the rotation the hunan key is unknown to the box: nothing installed."""
    drive = copy_drive(w.drive_rot, tmp_path / "drive")
    (drive / EXPORT_DIR / "roots" / "root.v2").unlink()
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    with pytest.raises(keys.KeyNotInRoleError):
        import_releases(store, state, drive)
    assert store.channels() == []


def test_rollback_on_the_drive_is_refused(w: World, tmp_path: Path) -> None:
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    import_releases(store, state, w.drive2)
    with pytest.raises(keys.RollbackError):
        import_releases(store, state, w.drive1)
    assert store.active_version(CHANNEL) == 2
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content2)


def test_import_without_a_pinned_root_is_a_config_error(w: World, tmp_path: Path) -> None:
    data = tmp_path / "box"
    with pytest.raises(ConfigError, match="box init"):
        import_releases(Store(data, reserve=0), BoxState(data), w.drive1)
    assert Store(data, reserve=0).active_version(CHANNEL) is None


def test_import_from_a_folder_without_an_export_is_a_config_error(
    w: World, tmp_path: Path
) -> None:
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError):
        import_releases(store, state, tmp_path / "empty")


def test_stray_file_in_the_exported_roots_is_ignored(w: World, tmp_path: Path) -> None:
    drive = copy_drive(w.drive1, tmp_path / "drive")
    roots = drive / EXPORT_DIR / "roots"
    shutil.copy(roots / "root.v1", roots / "root.v1 - Copy")
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    (out,) = import_releases(store, state, drive)
    assert isinstance(out, InstallReport)
    assert store.active_version(CHANNEL) == 1


def test_tampered_manifest_on_the_drive_is_refused(w: World, tmp_path: Path) -> None:
    drive = copy_drive(w.drive1, tmp_path / "drive")
    flip_byte(drive / EXPORT_DIR / "releases" / CHANNEL / "v1.manifest")
    store, state = pinned_box(tmp_path / "box", w.keys.root_v1)
    with pytest.raises(keys.TrustError):
        import_releases(store, state, drive)
    assert store.active_version(CHANNEL) is None


# -- CLI ---------------------------------------------------------------------------------


def run(*args: str | Path, code: int = 0) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    return result.output


def test_cli_export_import_end_to_end(w: World, tmp_path: Path) -> None:
    root_file = tmp_path / "root.v1"
    root_file.write_bytes(w.keys.root_v1)
    drive = tmp_path / "usb"
    out = run("export", drive, "--create", "--data", w.box1)
    assert f"exported {CHANNEL} v1" in out
    assert (drive / EXPORT_DIR / "roots" / "root.v1").read_bytes() == w.keys.root_v1

    box = tmp_path / "box"
    out = run("import", drive, "--data", box, "--root", root_file)
    assert f"activated {CHANNEL} v1" in out
    store = Store(box, reserve=0)
    assert store.active_version(CHANNEL) == 1
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(w.content1)
    assert "already active" in run("import", drive, "--data", box)

    flip_byte(release_file(drive, CHANNEL, 1, w.changed[0]))
    bad_box = tmp_path / "bad-box"
    out = run("import", drive, "--data", bad_box, "--root", root_file, code=3)
    assert "ContentMismatchError" in out
    assert Store(bad_box, reserve=0).active_version(CHANNEL) is None


def test_cli_import_without_a_root_exits_2(w: World, tmp_path: Path) -> None:
    out = run("import", w.drive1, "--data", tmp_path / "box", code=2)
    assert "ConfigError" in out


def test_cli_import_refuses_a_channel_the_box_does_not_follow(w: World, tmp_path: Path) -> None:
    root_file = tmp_path / "root.v1"
    root_file.write_bytes(w.keys.root_v1)
    box = tmp_path / "box"
    run("box", "init", "--data", box, "--root", root_file, "--channel", HUNAN, "--no-mdns")
    out = run("import", w.drive1, "--data", box, code=2)
    assert "does not follow" in out and "--follow" in out
    assert Store(box, reserve=0).active_version(CHANNEL) is None
    out = run("import", w.drive1, "--data", box, "--follow", CHANNEL)
    assert f"activated {CHANNEL} v1" in out
    assert CHANNEL in (box / "box.toml").read_text()


def test_a_box_whose_root_expired_offline_takes_the_fresh_rotation_on_the_drive(
        tmp_path: Path) -> None:
    """Weeks offline, the newest root the box holds has expired; the drive carries its successor
    and a release: the import walks from the pinned root, so both are taken."""
    from sneaker_world import NOW, YEAR, make_root

    rk, rel = keys.SigningKey.generate(), keys.SigningKey.generate()
    national = ("national", [rel.public], 1, ["national/"])
    r1 = make_root(1, [rk], [national], [rk], expires=NOW + 100)
    r2 = make_root(2, [rk], [national], [rk], expires=NOW + YEAR)
    content = write_sample(tmp_path / "c", HUNAN_SIZE, seed=4).root
    export = tmp_path / "drive" / EXPORT_DIR
    (export / "roots").mkdir(parents=True)
    (export / "roots" / "root.v1").write_bytes(r1)
    (export / "roots" / "root.v2").write_bytes(r2)
    (export / "releases" / CHANNEL).mkdir(parents=True)
    (export / "releases" / CHANNEL / "v1.manifest").write_bytes(
        build_signed(content, CHANNEL, 1, rel))
    shutil.copytree(content, export / "releases" / CHANNEL / "v1")
    store, state = pinned_box(tmp_path / "box", r1)
    (out,) = import_releases(store, state, tmp_path / "drive", now=NOW + 1000)
    assert isinstance(out, InstallReport)
    assert store.active_version(CHANNEL) == 1
    assert [v for v, _p in state.root_files()] == [1, 2]
