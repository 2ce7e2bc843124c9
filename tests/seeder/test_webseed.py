"""Interop: a stock client gets a release from a seeder's BEP 19 web seed, given only the
`release torrent` output; the web seed serves only the seeded releases' files, with Range.

The client is plain libtorrent through its own Python API (not the project's code), with no
peer address, no DHT, LSD, UPnP or NAT-PMP: the bytes can come from nowhere but the web seed.
"""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import httpx
import libtorrent as plain_lt
import pytest
from click.testing import CliRunner
from seeder_helpers import CHANNEL, Procs, Trust, write_config

from p2pdist.cli import cli
from tests.world import run_cli, wait_until

pytestmark = pytest.mark.slow
IP = "127.0.0.1"
DEADLINE_S = 120


def free_port(ip: str) -> int:
    with socket.socket() as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def world(trust: Trust, tmp_path: Path, procs: Procs) -> dict[str, Path | str]:
    """A release built with this seeder's web seed, published, and the origin running."""
    port = free_port(IP)
    web_seed = f"http://{IP}:{port}/webseed/"
    run_cli("sample", tmp_path / "content", "--size", "3MB")
    run_cli("release", "build", tmp_path / "content", "--channel", CHANNEL, "--version", "1",
            "--catalog", tmp_path / "content" / "catalog.toml", "--web-seed", web_seed,
            "--seeder", f"http://{IP}:{port}=127.0.0.1:6881", "--out", tmp_path / "m1")
    run_cli("release", "sign", tmp_path / "m1", "--key", trust.release_key)
    # the url-list lives outside the info dict, inside the signed torrent: it still verifies
    run_cli("release", "verify", tmp_path / "m1", "--root", trust.root,
            "--content", tmp_path / "content")
    run_cli("release", "publish", tmp_path / "m1", "--content", tmp_path / "content",
            "--to", tmp_path / "origin", "--root", trust.root)
    cfg = write_config(tmp_path / "origin.toml", data=tmp_path / "origin", root=trust.root,
                       origin=True, feed=f"{IP}:{port}")
    procs.start("seeder", "run", "--config", cfg, "--json", name="origin").wait_event("ready", 30)
    return {"dir": tmp_path, "base": f"http://{IP}:{port}", "web_seed": web_seed}


def test_release_torrent_and_show_json_give_what_a_stock_client_needs(
        world: dict[str, Path | str]) -> None:
    d = Path(world["dir"])
    out = run_cli("release", "torrent", d / "m1", "--out", d / "r.torrent")
    info = json.loads(CliRunner().invoke(cli, ["release", "show", str(d / "m1"), "--json"]).output)
    ti = plain_lt.torrent_info(str(d / "r.torrent"))
    assert str(ti.info_hashes().v1) == info["info_hash_v1"] and info["info_hash_v1"] in out
    assert str(ti.info_hashes().v2) == info["info_hash_v2"] and info["info_hash_v2"] in out
    magnet = plain_lt.parse_magnet_uri(info["magnet"])
    assert str(magnet.info_hashes.v1) == info["info_hash_v1"]
    assert str(magnet.info_hashes.v2) == info["info_hash_v2"]
    assert info["magnet"].endswith("&x.pe=127.0.0.1:6881")  # the manifest's seeder
    assert magnet.url_seeds == [world["web_seed"]] == info["web_seeds"]


def test_plain_libtorrent_downloads_from_the_web_seed_alone(
        world: dict[str, Path | str]) -> None:
    d = Path(world["dir"])
    run_cli("release", "torrent", d / "m1", "--out", d / "r.torrent")
    session = plain_lt.session({
        "listen_interfaces": f"{IP}:0", "enable_dht": False, "enable_lsd": False,
        "enable_upnp": False, "enable_natpmp": False,
        "alert_mask": plain_lt.alert.category_t.error_notification})
    atp = plain_lt.add_torrent_params()
    atp.ti = plain_lt.torrent_info(str(d / "r.torrent"))
    atp.save_path = str(d / "client")
    handle = session.add_torrent(atp)
    def seeding_from_the_web_seed_only() -> bool:
        for peer in handle.get_peer_info():
            # nobody but the web seed: no BitTorrent peer was ever named
            assert peer.connection_type in (plain_lt.peer_info.web_seed,
                                            plain_lt.peer_info.http_seed), peer.ip
        return bool(handle.status().is_seeding)

    wait_until(seeding_from_the_web_seed_only, DEADLINE_S, "a complete download from the web seed")
    name = atp.ti.name()
    content = d / "content"
    files = sorted(p.relative_to(content) for p in content.rglob("*")
                   if p.is_file() and p.name != "catalog.toml")
    assert files
    for rel in files:
        assert sha(d / "client" / name / rel) == sha(content / rel), rel
    del session


def test_web_seed_serves_only_seeded_files_read_only_with_range(
        world: dict[str, Path | str]) -> None:
    d = Path(world["dir"])
    run_cli("release", "torrent", d / "m1", "--out", d / "r.torrent")
    ti = plain_lt.torrent_info(str(d / "r.torrent"))
    name = ti.name()
    rel = next(p for p in sorted((d / "content").rglob("*.mp4")))
    path = rel.relative_to(d / "content").as_posix()
    body = rel.read_bytes()
    base = f"{world['base']}/webseed/{name}"
    with httpx.Client(timeout=10) as http:
        r = http.get(f"{base}/{path}", headers={"Range": "bytes=100-1099"})
        assert r.status_code == 206 and r.content == body[100:1100]
        assert r.headers["content-range"] == f"bytes 100-1099/{len(body)}"
        assert http.get(f"{base}/{path}").content == body
        assert http.head(f"{base}/{path}").headers["content-length"] == str(len(body))
        assert http.post(f"{base}/{path}").status_code == 405
        for bad in (f"{base}/catalog.toml", f"{base}/../../state/identity.key",
                    f"{base}/%2e%2e/%2e%2e/box.toml", f"{world['base']}/webseed/other_v1/{path}",
                    f"{base}/{path}/../../../origin.toml", f"{world['base']}/webseed/",
                    f"{base}//etc/passwd"):
            assert http.get(bad).status_code == 404, bad
        # the feed API answers on the same port as before
        assert http.get(f"{world['base']}/p2pdist/v1/info").status_code == 200
