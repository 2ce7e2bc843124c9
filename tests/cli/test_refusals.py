"""The CLI tells the truth on the wrong input: missing folders, not-a-box dirs, JSON errors."""

from __future__ import annotations

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
