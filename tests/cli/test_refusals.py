"""The CLI tells the truth on the wrong input: missing folders, not-a-box dirs, JSON errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from p2pdist.cli import cli


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
