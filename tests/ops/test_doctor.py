"""`p2pdist doctor`: it checks what the config names, every row reports its own problem, it runs
on a broken data directory, and its support bundle carries the recent logs but never a key."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from p2pdist.childproc import Child, stop_all
from p2pdist.cli import cli


def invoke(*args: str | Path) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = CliRunner().invoke(cli, [str(a) for a in args])
    assert "Traceback" not in r.output
    return r.exit_code, json.loads(r.stdout.strip().splitlines()[-1])


def rows(doc: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {c["name"]: c for c in doc["checks"]}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("trust")
    run = CliRunner().invoke
    for k in ("rk", "rel"):
        assert run(cli, ["keys", "generate", str(d / k)]).exit_code == 0
    assert run(cli, ["keys", "root", "init", "--root-key", str(d / "rk.pub"), "--threshold", "1",
                     "--release-key", str(d / "rel.pub"), "--release-threshold", "1",
                     "--channel", "national/", "--out", str(d / "root.v1")]).exit_code == 0
    assert run(cli, ["keys", "root", "sign", str(d / "root.v1"), "--key",
                     str(d / "rk")]).exit_code == 0
    return d / "root.v1"


def init_box(data: Path, root: Path, ip: str) -> None:
    r = CliRunner().invoke(cli, ["box", "init", "--data", str(data), "--root", str(root),
                                 "--channel", "national/x", "--listen", f"{ip}:0",
                                 "--feed", f"{ip}:0", "--web", "", "--no-mdns"])
    assert r.exit_code == 0, r.output


def test_a_broken_data_dir_fails_its_own_rows_and_the_doctor_still_runs(tmp_path: Path) -> None:
    data = tmp_path / "box"
    data.mkdir()
    (data / "state").write_text("not a folder")       # the trust state is broken
    (data / "releases").write_text("not a folder")    # so is the store
    (data / "box.toml").write_text("listen = [[[")    # and the config
    code, doc = invoke("doctor", "--data", data, "--json")
    assert code == 1
    r = rows(doc)
    assert r["clock"]["verdict"] == "pass", r["clock"]  # no storage error under "clock"
    assert r["store"]["verdict"] == "fail" and r["store"]["detail"], r["store"]
    assert r["trust root"]["verdict"] == "fail"
    assert r["configuration"]["verdict"] == "fail" and "box.toml" in r["configuration"]["detail"]
    assert r["daemon"]["verdict"] == "fail"


def test_a_data_dir_that_does_not_exist_is_named(tmp_path: Path) -> None:
    code, doc = invoke("doctor", "--data", tmp_path / "nowhere", "--json")
    assert code == 1
    r = rows(doc)
    assert "does not exist" in r["data directory"]["detail"]
    assert r["clock"]["verdict"] == "pass"
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.slow
def test_the_swarm_port_is_probed_on_the_configured_address_and_logs_reach_the_bundle(
        tmp_path: Path, root: Path) -> None:
    data = tmp_path / "box"
    ip = "127.0.0.77"  # not an interface address: only the config names it
    init_box(data, root, ip)
    (data / "logs").mkdir()
    (data / "logs" / "box.log").write_text(
        "INFO p2pdist: found national/x v3\n-----BEGIN PRIVATE KEY----- leaked\nINFO done\n")
    daemon = Child(["box", "run", "--data", str(data), "--json"], name="box")
    try:
        daemon.wait_event("ready", 30)
        report = tmp_path / "support.tar.gz"
        _code, doc = invoke("doctor", "--data", data, "--json", "--report", report)
        port = rows(doc)["swarm port"]
        assert port["verdict"] == "pass" and ip in port["detail"], port
    finally:
        stop_all([daemon])
    secrets = [p.read_bytes() for p in data.rglob("*.key")]
    assert secrets  # the identity key exists, and must not travel
    with tarfile.open(report) as tar:
        names = tar.getnames()
        assert "logs/box.log" in names
        log = tar.extractfile("logs/box.log").read()  # type: ignore[union-attr]
        assert b"found national/x v3" in log and b"PRIVATE KEY" not in log
        for m in tar.getmembers():
            f = tar.extractfile(m)
            body = f.read() if f is not None else b""
            assert b"PRIVATE KEY" not in body, m.name
            assert not any(s in body for s in secrets), m.name
            assert not m.name.endswith(".key")
