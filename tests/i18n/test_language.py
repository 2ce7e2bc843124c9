"""Language choice and the CLI in Chinese and in English (real processes, real files)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from keys.i18n import language, language_from_env, translation_for

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(("env", "lang"), [
    ({}, "C"),
    ({"LANG": "C"}, "C"),
    ({"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, "C"),  # GNU: LANGUAGE is ignored in the C locale
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN.UTF-8"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh_CN.UTF-8"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "C"}, "C"),
    ({"LANG": "zh_CN.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh_CN:en"),
    ({"LANG": "zh_CN.UTF-8", "P2PDIST_LANG": "C"}, "C"),
    ({"LANG": "C", "P2PDIST_LANG": "zh_CN"}, "zh_CN"),
])
def test_language_from_env(env: dict[str, str], lang: str) -> None:
    assert language_from_env(env) == lang


def test_language_of_one_task_leaves_the_process_alone() -> None:
    from keys.i18n import _

    assert _("trust root") == "trust root"
    with language(["zh_CN"]):
        assert _("trust root") == "信任根"
        with language(["en", "zh_CN"]):
            assert _("trust root") == "trust root"
    assert _("trust root") == "trust root"
    assert translation_for("zh_CN").gettext("trust root") == "信任根"


def p2pdist(*args: str | Path, lang: str, code: int | None = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "P2PDIST_LANG")}
    env.update(LANG=lang, COLUMNS="120")
    r = subprocess.run([sys.executable, "-m", "p2pdist", *map(str, args)], env=env,
                       capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    if code is not None:
        assert r.returncode == code, r.stdout + r.stderr
    return r


GROUPS = [(), ("keys",), ("keys", "root"), ("release",), ("box",), ("seeder",), ("status",),
          ("doctor",), ("demo",)]


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: " ".join(g) or "top")
def test_help_in_chinese_and_english(group: tuple[str, ...]) -> None:
    zh = p2pdist(*group, "--help", lang="zh_CN.UTF-8").stdout
    assert "用法：" in zh and "选项" in zh and "显示此帮助信息并退出" in zh
    assert "Usage:" not in zh and "Show this message" not in zh
    for line in zh.splitlines():  # each option's and command's help holds Chinese
        m = re.match(r"^  (\S.*?)\s{2,}(\S.*)$", line)
        if m:
            assert CJK.search(m.group(2)) or m.group(2).startswith("["), line
    en = p2pdist(*group, "--help", lang="C").stdout
    assert "Usage:" in en and not CJK.search(en)
    assert p2pdist("--lang", "zh_CN", *group, "--help", lang="C").stdout == zh


def test_errors_and_click_errors_in_chinese(tmp_path: Path) -> None:
    zh = p2pdist("status", "--data", tmp_path, lang="zh_CN.UTF-8", code=None)
    en = p2pdist("status", "--data", tmp_path, lang="C", code=None)
    assert zh.returncode == en.returncode != 0
    assert "不是 p2pdist 资源服务宝的数据目录" in zh.stderr
    assert "is not a p2pdist box data directory" in en.stderr
    bad = p2pdist("status", "--bogus", lang="zh_CN.UTF-8", code=2)
    assert "错误：没有选项" in bad.stderr and "查看帮助" in bad.stderr


def test_doctor_table_in_chinese(tmp_path: Path) -> None:
    zh = p2pdist("doctor", "--data", tmp_path, lang="zh_CN.UTF-8", code=None).stdout
    assert "检查项" in zh and "处理办法" in zh and "后台服务" in zh and "信任根" in zh
    en = p2pdist("doctor", "--data", tmp_path, lang="C", code=None).stdout
    assert "what to do" in en and not CJK.search(en)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root v1 and a signed manifest of a small sample, made through the CLI."""
    d = tmp_path_factory.mktemp("zh")
    for name in ("root", "release"):
        p2pdist("keys", "generate", d / name, lang="C")
    p2pdist("keys", "root", "init", "--root-key", d / "root.pub", "--threshold", "1",
            "--release-key", d / "release.pub", "--release-threshold", "1", "--channel",
            "national/", "--expires", "30", "--out", d / "root.v1", lang="C")
    p2pdist("keys", "root", "sign", d / "root.v1", "--key", d / "root", lang="C")
    p2pdist("sample", d / "bundle", "--size", "1MB", lang="C")
    p2pdist("release", "build", d / "bundle", "--channel", "national/zh", "--version", "1",
            "--catalog", d / "bundle" / "catalog.toml", "--expires", "30", "--out", d / "m.v1",
            lang="C")
    p2pdist("release", "sign", d / "m.v1", "--key", d / "release", lang="C")
    return d


def test_trust_rejection_in_chinese(signed: Path, tmp_path: Path) -> None:
    data = bytearray((signed / "m.v1").read_bytes())
    data[len(data) // 2] ^= 1
    (tmp_path / "bad").write_bytes(bytes(data))
    zh = p2pdist("release", "verify", tmp_path / "bad", "--root", signed / "root.v1",
                 lang="zh_CN.UTF-8", code=3)
    assert "签名验证失败" in zh.stdout + zh.stderr
    en = p2pdist("release", "verify", tmp_path / "bad", "--root", signed / "root.v1",
                 lang="C", code=3)
    assert "does not verify" in en.stdout + en.stderr


@pytest.mark.parametrize(("args", "file"), [(("release", "show"), "m.v1"),
                                           (("keys", "show"), "root.v1")])
def test_json_is_the_same_in_every_language(signed: Path, args: tuple[str, ...],
                                            file: str) -> None:
    zh = p2pdist(*args, signed / file, "--json", lang="zh_CN.UTF-8").stdout
    en = p2pdist(*args, signed / file, "--json", lang="C").stdout
    assert zh == en and zh.strip().startswith("{")
    assert CJK.search(p2pdist(*args, signed / file, lang="zh_CN.UTF-8").stdout)
