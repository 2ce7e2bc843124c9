"""The CLI tells the truth on the wrong input: missing folders, not-a-box dirs, JSON errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from p2pdist.cli import cli

CHANNEL = "national/winter-2027"


def run(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A box data directory with v1 of a 1 MB release active (imported from a hand-made export)."""
    d = tmp_path_factory.mktemp("center")
    for name in ("root", "release"):
        run("keys", "generate", d / name)
    run("keys", "root", "init", "--root-key", d / "root.pub", "--threshold", "1",
        "--release-key", d / "release.pub", "--release-threshold", "1",
        "--channel", "national/", "--expires", "30", "--out", d / "root.v1")
    run("keys", "root", "sign", d / "root.v1", "--key", d / "root")
    run("sample", d / "bundle", "--size", "1MB")
    export = d / "usb" / "p2pdist-export"
    rel = export / "releases" / CHANNEL
    rel.mkdir(parents=True)
    run("release", "build", d / "bundle", "--channel", CHANNEL, "--version", "1",
        "--catalog", d / "bundle" / "catalog.toml", "--expires", "30", "--out", rel / "v1.manifest")
    run("release", "sign", rel / "v1.manifest", "--key", d / "release")
    shutil.copytree(d / "bundle", rel / "v1")
    (export / "roots").mkdir()
    shutil.copy(d / "root.v1", export / "roots" / "root.v1")
    data = d / "box"
    run("import", d / "usb", "--data", data, "--root", d / "root.v1")
    return data


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_keys_generate_creates_missing_parent(runner: CliRunner, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "root-a"
    r = runner.invoke(cli, ["keys", "generate", str(key)], env={"P2PDIST_PASSPHRASE": ""})
    assert r.exit_code == 0, r.output
    assert key.is_file() and key.with_name("root-a.pub").is_file()
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert os.stat(key.parent).st_mode & 0o077 == 0


@pytest.mark.parametrize("command", [["release", "show"], ["keys", "show"]])
def test_json_failure_prints_an_error_object(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"garbage")
    r = runner.invoke(cli, [*command, str(junk), "--json"])
    assert r.exit_code in (2, 3), r.output
    err = json.loads(r.stdout)["error"]
    assert err["exit_code"] == r.exit_code
    assert err["type"] in r.stderr and err["message"] in r.stderr
    plain = runner.invoke(cli, [*command, str(junk)])
    assert plain.exit_code == r.exit_code and plain.stdout == ""


@pytest.mark.parametrize("command", [["verify"], ["library"], ["status"], ["status", "--json"]])
def test_reading_commands_refuse_a_folder_that_is_not_a_box(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    for data in (tmp_path, tmp_path / "nonexistent"):
        r = runner.invoke(cli, [*command, "--data", str(data)])
        assert r.exit_code == 2, r.output
        assert len(r.stderr.splitlines()) == 1
        assert f"{data} is not a p2pdist box data directory" in r.stderr
        assert "p2pdist box init" in r.stderr
    assert list(tmp_path.iterdir()) == [], "a refused folder must not be written to"


def test_status_with_the_daemon_stopped_reads_the_disk(runner: CliRunner, box: Path) -> None:
    r = runner.invoke(cli, ["status", "--data", str(box), "--json"])
    assert r.exit_code == 1, r.output
    st = json.loads(r.stdout)
    assert st["daemon"] == "stopped"
    assert st["channels"] == {CHANNEL: {"active_version": 1}}
    assert "not running" in r.stderr
    plain = runner.invoke(cli, ["status", "--data", str(box)])
    assert "not running" in plain.stdout and f"{CHANNEL}: active v1" in plain.stdout


def test_export_refuses_a_missing_target_unless_create(box: Path, tmp_path: Path) -> None:
    usb = tmp_path / "media" / "usb"
    r = run("export", usb, "--data", box, code=2)
    assert f"the export target {usb} does not exist" in r.stderr and "--create" in r.stderr
    assert not usb.exists()
    ok = run("export", usb, "--create", "--data", box)
    assert " ".join(ok.stdout.split()).endswith("is safe to unplug")  # last, after the fsync
    assert (usb / "p2pdist-export" / "releases" / CHANNEL / "v1.manifest").is_file()
    assert sorted(p.name for p in usb.iterdir()) == ["p2pdist-export"]


@contextmanager
def small_drive(where: Path, options: str) -> Iterator[Path]:
    """A real, tiny file system (tmpfs) standing in for a full USB stick."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "p2pdist-test", str(where)],
                   check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_export_checks_the_targets_space_first(box: Path, tmp_path: Path) -> None:
    with small_drive(tmp_path / "usb", "size=256k") as usb:
        r = run("export", usb, "--data", box, code=4)
        assert f"not enough space on the export target {usb}" in r.stderr
        assert "data directory" not in r.stderr
        assert list(usb.iterdir()) == []


def test_export_removes_its_partial_copy_on_failure(box: Path, tmp_path: Path) -> None:
    # room for the bytes, not for the files: the copy fails half way, after the space check
    with small_drive(tmp_path / "usb", "size=8m,nr_inodes=12") as usb:
        r = run("export", usb, "--data", box, code=4)
        assert f"the export target {usb} is full" in r.stderr
        assert list(usb.iterdir()) == []
