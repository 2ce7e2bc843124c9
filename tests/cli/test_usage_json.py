"""Bad input is refused with a message naming it; under --json, click's own usage errors print the
JSON error object too (a tool never parses an empty stdout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from p2pdist.cli import cli
from p2pdist.config import BoxConfig
from p2pdist.errors import ConfigError


def invoke(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("args", [
    ("release", "show", "/nonexistent/m.v1", "--json"),      # a bad value (no such file)
    ("keys", "show", "--json"),                              # a missing argument
    ("status", "--json", "--no-such-option"),                # an unknown option
    ("seeder", "status", "--json", "--stale-hours", "many"),  # not a number
])
def test_click_usage_errors_under_json_print_the_error_object(args: tuple[str, ...]) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    error = json.loads(out.strip().splitlines()[-1])["error"]
    assert error["exit_code"] == 2 and error["type"] and error["message"]
    assert "Usage" in err or "Error" in err


def test_usage_errors_without_json_print_no_json() -> None:
    code, out, _err = invoke("release", "show", "/nonexistent/m.v1")
    assert code == 2 and out.strip() == ""


@pytest.mark.parametrize("listen", ["999.1.1.1:5", "127.0.0.1", "127.0.0.1:70000",
                                    "box.local:6881", "127.0.0.1:6881,300.0.0.1:1"])
def test_box_init_refuses_a_bad_listen_address(tmp_path: Path, listen: str) -> None:
    root = tmp_path / "root"
    root.write_bytes(b"unused: refused before the root is read")
    code, _out, err = invoke("box", "init", "--data", tmp_path / "box", "--root", root,
                             "--channel", "national/x", "--listen", listen)
    assert code == 2
    assert "listen" in err and repr(listen) in err
    assert not (tmp_path / "box").exists()


def test_box_init_refuses_a_bad_feed_address(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.write_bytes(b"x")
    code, _out, err = invoke("box", "init", "--data", tmp_path / "box", "--root", root,
                             "--channel", "national/x", "--feed", "1.2.3.999:8471")
    assert code == 2 and "feed" in err and "1.2.3.999:8471" in err


def test_config_load_refuses_a_bad_listen_address(tmp_path: Path) -> None:
    (tmp_path / "box.toml").write_text('channels = ["national/x"]\nlisten = "999.1.1.1:5"\n')
    with pytest.raises(ConfigError, match=r"box\.toml.*listen.*999\.1\.1\.1:5"):
        BoxConfig.load(tmp_path)
