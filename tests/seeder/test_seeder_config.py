"""seeder.toml: what is accepted, and errors that name the key at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from seeder_helpers import CHANNEL, Trust, write_config

from keys import SigningKey
from p2pdist.cli import cli
from p2pdist.errors import ConfigError
from seeder import load_config

BOX = SigningKey.generate().keyid


def _base(trust: Trust) -> dict[str, Any]:
    return {"data": "data", "root": trust.root, "origin": True}


def test_origin_config_with_defaults_and_relative_paths(tmp_path: Path, trust: Trust) -> None:
    path = write_config(tmp_path / "seeder.toml", **_base(trust))
    c = load_config(path)
    assert c.data == tmp_path / "data" and c.root == trust.root
    assert c.origin and c.upstream == () and c.channels == (CHANNEL,)
    assert c.allow_boxes is None and c.forward_to is None and not c.dht
    swarm = c.swarm_config()
    assert swarm.connections_limit == 2000 and swarm.dht_bootstrap_nodes == ()


def test_follower_with_allow_file_forwarding_and_dht(tmp_path: Path, trust: Trust) -> None:
    (tmp_path / "boxes.txt").write_text(f"# station boxes\n{BOX}  # 城关站\n\n")
    path = write_config(tmp_path / "s.toml", data="d", root=trust.root,
                        upstream="http://10.0.0.1:8470", forward_to="http://10.0.0.1:8470",
                        allow_boxes="boxes.txt", dht=True, listen="0.0.0.0:6881",
                        wan_limit=["up=8Mbit@08:00-18:00"])
    c = load_config(path)
    assert c.upstream == ("http://10.0.0.1:8470",) and c.allow_boxes == frozenset({BOX})
    assert c.dht_bootstrap() == (("127.0.0.1", 6881),)  # its own node
    joined = write_config(tmp_path / "j.toml", **_base(trust), dht=True,
                          dht_nodes=["10.0.0.1:6881"])
    assert load_config(joined).swarm_config().dht_bootstrap_nodes == (("10.0.0.1", 6881),)


@pytest.mark.parametrize(("changes", "key"), [
    ({"data": None}, "data"),
    ({"root": None}, "root"),
    ({"upstream": "http://10.0.0.1:8470"}, "origin/upstream"),
    ({"origin": False}, "origin/upstream"),
    ({"origin": "yes"}, "origin"),
    ({"channels": []}, "channels"),
    ({"channels": ["National/Test"]}, "channels"),
    ({"origin": False, "upstream": ["ftp://10.0.0.1"]}, "upstream"),
    ({"forward_to": "10.0.0.1:8470"}, "forward_to"),
    ({"allow_boxes": ["not-a-box"]}, "allow_boxes"),
    ({"allow_boxes": "missing.txt"}, "allow_boxes"),
    ({"poll_interval_s": 0}, "poll_interval_s"),
    ({"stale_hours": -1}, "stale_hours"),
    ({"super_seed_min_peers": 0}, "super_seed_min_peers"),
    ({"super_seed_min_peers": "many"}, "super_seed_min_peers"),
    ({"listen": "localhost:6881"}, "listen"),
    ({"feed": "0.0.0.0"}, "feed"),
    ({"metrics": "9470"}, "metrics"),
    ({"max_connections": "many"}, "max_connections"),
    ({"dht": True, "listen": "127.0.0.1:0"}, "dht"),
    ({"dht": True, "dht_nodes": ["router.example.org:6881"]}, "dht_nodes"),
    ({"dht_nodes": ["10.0.0.1:6881"]}, "dht_nodes"),
    ({"wan_limit": ["8 parsecs"]}, "wan_limit"),
    ({"lan": ["10.0.0.0/33"]}, "lan"),
    ({"tracker": "http://x"}, "tracker"),
])
def test_errors_name_the_key(tmp_path: Path, trust: Trust, changes: dict[str, Any],
                             key: str) -> None:
    settings = {**_base(trust), **changes}
    path = write_config(tmp_path / "seeder.toml", **settings)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(path) in str(e.value) and key in str(e.value), e.value


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="seeder init"):
        load_config(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("data = [")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_config(tmp_path / "bad.toml")


def test_init_writes_a_commented_config_that_loads(tmp_path: Path, trust: Trust) -> None:
    out = tmp_path / "seeder.toml"
    args = ["seeder", "init", "--out", str(out), "--data", str(tmp_path / "data"), "--root",
            str(trust.root), "--channel", CHANNEL, "--upstream", "http://10.0.0.1:8470"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert text.count("#") > 10 and 'upstream = ["http://10.0.0.1:8470"]' in text
    assert load_config(out).upstream == ("http://10.0.0.1:8470",)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "already exists" in again.output


def test_init_refuses_a_config_that_would_not_load(tmp_path: Path, trust: Trust) -> None:
    out = tmp_path / "seeder.toml"
    r = CliRunner().invoke(cli, ["seeder", "init", "--out", str(out), "--data", "d", "--root",
                                 str(trust.root), "--channel", CHANNEL])
    assert r.exit_code == 2 and "origin" in r.output
    assert not out.exists()
