"""The national center's workflow through the real CLI (click's runner, real files and keys)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from p2pdist.cli import cli


def run(*args: str | Path, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys, a signed root v1, a 2 MB sample and its signed manifest."""
    d = tmp_path_factory.mktemp("center")
    for name in ("root-a", "root-b", "release"):
        out = run("keys", "generate", d / name).output
        assert "key id" in out
    run("keys", "root", "init", "--root-key", d / "root-a.pub", "--root-key", d / "root-b.pub",
        "--threshold", "2", "--release-key", d / "release.pub", "--release-threshold", "1",
        "--channel", "national/", "--expires", "30", "--out", d / "root.v1")
    run("keys", "root", "sign", d / "root.v1", "--key", d / "root-a")
    run("keys", "root", "sign", d / "root.v1", "--key", d / "root-b")
    run("sample", d / "bundle", "--size", "2MB")
    run("release", "build", d / "bundle", "--channel", "national/winter-2027", "--version", "1",
        "--catalog", d / "bundle" / "catalog.toml", "--expires", "30", "--out", d / "m.v1")
    run("release", "sign", d / "m.v1", "--key", d / "release")
    return d


def test_private_key_is_owner_only(center: Path) -> None:
    assert (center / "release").stat().st_mode & 0o777 == 0o600


def test_verify_with_content_passes(center: Path) -> None:
    out = run("release", "verify", center / "m.v1", "--root", center / "root.v1",
              "--content", center / "bundle").output
    assert "OK: national/winter-2027 v1" in out


def test_show_json_groups_by_theme(center: Path) -> None:
    info = json.loads(run("release", "show", center / "m.v1", "--json").output)
    assert info["kinds"] == {"film": 24, "course": 18, "handbook": 1, "other": 0}
    themes_of = {}
    for g in info["themes"]:
        for f in g["files"]:
            themes_of.setdefault(f["title"], []).append(g["theme"])
    assert len(themes_of["过年好"]) == 2
    assert info["total_duration"] > 39 * 3600


def test_show_human(center: Path) -> None:
    out = run("release", "show", center / "m.v1").output
    assert "跨越时空拜新年" in out


def test_tampered_manifest_is_refused_without_traceback(center: Path, tmp_path: Path) -> None:
    data = bytearray((center / "m.v1").read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / "bad").write_bytes(bytes(data))
    out = run("release", "verify", tmp_path / "bad", "--root", center / "root.v1", code=3).output
    assert "BadSignatureError" in out


def test_rollback_is_refused(center: Path) -> None:
    out = run("release", "verify", center / "m.v1", "--root", center / "root.v1",
              "--last-version", "2", code=3).output
    assert "rollback" in out


def test_same_version_is_already_have_it(center: Path) -> None:
    out = run("release", "verify", center / "m.v1", "--root", center / "root.v1",
              "--last-version", "1").output
    assert "already have it" in out


def test_changed_content_is_named(center: Path, tmp_path: Path) -> None:
    import shutil

    content = tmp_path / "bundle"
    shutil.copytree(center / "bundle", content)
    victim = next(p for p in sorted(content.rglob("*.mp4")))
    with victim.open("r+b") as f:
        f.seek(10)
        f.write(b"\xff\x00\xff")
    out = run("release", "verify", center / "m.v1", "--root", center / "root.v1",
              "--content", content, code=3).output
    assert "ContentMismatchError" in out and victim.name in out


def test_unsigned_root_is_refused(center: Path, tmp_path: Path) -> None:
    run("keys", "root", "init", "--root-key", center / "root-a.pub", "--threshold", "1",
        "--release-key", center / "release.pub", "--release-threshold", "1",
        "--channel", "national/", "--out", tmp_path / "root")
    out = run("release", "verify", center / "m.v1", "--root", tmp_path / "root", code=3).output
    assert "not signed" in out


def test_province_delegation_by_rotation(center: Path, tmp_path: Path) -> None:
    d = tmp_path
    run("keys", "generate", d / "hunan")
    run("keys", "root", "rotate", center / "root.v1", "--out", d / "root.v2", "--add-role",
        "hunan", "--release-key", d / "hunan.pub", "--release-threshold", "1",
        "--channel", "province/hunan/")
    for k in ("root-a", "root-b"):
        run("keys", "root", "sign", d / "root.v2", "--key", center / k,
            "--previous", center / "root.v1")
    info = json.loads(run("keys", "show", d / "root.v2", "--json").output)
    assert info["version"] == 2 and {r["name"] for r in info["release_roles"]} == {
        "national", "hunan"}
    run("release", "build", center / "bundle", "--channel", "province/hunan/winter",
        "--version", "1", "--catalog", center / "bundle" / "catalog.toml", "--out", d / "h.v1")
    run("release", "sign", d / "h.v1", "--key", d / "hunan")
    run("release", "verify", d / "h.v1", "--root", center / "root.v1", "--root", d / "root.v2")
    out = run("release", "verify", d / "h.v1", "--root", center / "root.v1", code=3).output
    assert "KeyNotInRoleError" in out
    # the hunan key may not sign national releases
    run("release", "build", center / "bundle", "--channel", "national/fake", "--version", "9",
        "--catalog", center / "bundle" / "catalog.toml", "--out", d / "n.v9")
    run("release", "sign", d / "n.v9", "--key", d / "hunan")
    out = run("release", "verify", d / "n.v9", "--root", center / "root.v1", "--root",
              d / "root.v2", code=3).output
    assert "ChannelNotAllowedError" in out


def test_revoked_key_cannot_sign(center: Path, tmp_path: Path) -> None:
    d = tmp_path
    run("keys", "generate", d / "release2")
    run("keys", "root", "rotate", center / "root.v1", "--out", d / "root.v2",
        "--add-role", "national", "--release-key", d / "release2.pub",
        "--release-threshold", "1", "--channel", "national/",
        "--revoke", center / "release.pub")
    for k in ("root-a", "root-b"):
        run("keys", "root", "sign", d / "root.v2", "--key", center / k,
            "--previous", center / "root.v1")
    out = run("release", "verify", center / "m.v1", "--root", center / "root.v1", "--root",
              d / "root.v2", code=3).output
    assert "KeyNotInRoleError" in out


def test_rotation_missing_old_signatures_is_refused(center: Path, tmp_path: Path) -> None:
    d = tmp_path
    run("keys", "generate", d / "root-c")
    run("keys", "root", "rotate", center / "root.v1", "--out", d / "root.v2",
        "--root-key", d / "root-c.pub", "--threshold", "1")
    run("keys", "root", "sign", d / "root.v2", "--key", d / "root-c",
        "--previous", center / "root.v1")
    out = run("release", "verify", center / "m.v1", "--root", center / "root.v1", "--root",
              d / "root.v2", code=3).output
    assert "root keys" in out


def test_root_sign_refuses_a_stranger_key(center: Path) -> None:
    out = run("keys", "root", "sign", center / "root.v1", "--key", center / "release",
              code=1).output
    assert "not a root key" in out


def test_encrypted_key_needs_its_passphrase(tmp_path: Path) -> None:
    pf = tmp_path / "pass"
    pf.write_text("correct horse\n")
    run("keys", "generate", tmp_path / "k", "--encrypt", "--passphrase-file", pf)
    info = json.loads(run("keys", "show", tmp_path / "k", "--json").output)
    assert info == {"type": "private-key", "encrypted": True, "keyid": None}
    (tmp_path / "wrong").write_text("nope\n")
    out = run("keys", "show", tmp_path / "k", "--passphrase-file", tmp_path / "wrong",
              code=1).output
    assert "wrong passphrase" in out
    info = json.loads(run("keys", "show", tmp_path / "k", "--json", "--passphrase-file",
                          pf).output)
    assert info["keyid"] and info["encrypted"]


def test_generate_refuses_to_overwrite(center: Path) -> None:
    out = run("keys", "generate", center / "release", code=1).output
    assert "refusing to overwrite" in out


def test_revoke_alone_removes_the_emptied_role(center: Path, tmp_path: Path) -> None:
    d = tmp_path
    run("keys", "generate", d / "hunan")
    run("keys", "root", "rotate", center / "root.v1", "--out", d / "root.v2", "--add-role",
        "hunan", "--release-key", d / "hunan.pub", "--release-threshold", "1",
        "--channel", "province/hunan/")
    for k in ("root-a", "root-b"):
        run("keys", "root", "sign", d / "root.v2", "--key", center / k,
            "--previous", center / "root.v1")
    run("release", "build", center / "bundle", "--channel", "province/hunan/winter",
        "--version", "1", "--catalog", center / "bundle" / "catalog.toml", "--out", d / "h.v1")
    run("release", "sign", d / "h.v1", "--key", d / "hunan")
    out = run("keys", "root", "rotate", d / "root.v2", "--out", d / "root.v3",
              "--revoke", d / "hunan.pub").output
    assert "'hunan'" in out and "removed" in out
    for k in ("root-a", "root-b"):
        run("keys", "root", "sign", d / "root.v3", "--key", center / k, "--previous", d / "root.v2")
    info = json.loads(run("keys", "show", d / "root.v3", "--json").output)
    assert [r["name"] for r in info["release_roles"]] == ["national"]
    # roots in any order: the oldest is trusted, the rest are walked in version order
    roots = ("--root", d / "root.v3", "--root", center / "root.v1", "--root", d / "root.v2")
    run("release", "verify", center / "m.v1", *roots)
    out = run("release", "verify", d / "h.v1", *roots, code=3).output
    assert "TrustError" in out or "Error" in out
    run("release", "verify", d / "h.v1", "--root", d / "root.v2", "--root", center / "root.v1")


def test_revoke_leaving_a_role_below_its_threshold_is_refused(center: Path, tmp_path: Path) -> None:
    d = tmp_path
    for name in ("p1", "p2"):
        run("keys", "generate", d / name)
    run("keys", "root", "rotate", center / "root.v1", "--out", d / "root.v2", "--add-role",
        "two", "--release-key", d / "p1.pub", "--release-key", d / "p2.pub",
        "--release-threshold", "2", "--channel", "province/two/")
    out = run("keys", "root", "rotate", d / "root.v2", "--out", d / "root.v3",
              "--revoke", d / "p1.pub", code=2).output
    assert "'two'" in out and "threshold of 2" in out
