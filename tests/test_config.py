"""box.toml: a round trip through save/load, and a plain ConfigError naming the key for every bad
value (the file is read at start; a mistake must say which line to fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pdist.config import CONFIG_NAME, BoxConfig
from p2pdist.errors import ConfigError
from p2pdist.store import Policy
from p2pdist.swarm import WanSchedule

BASE = 'channels = ["national/test"]\n'

FULL = BoxConfig(
    channels=("national/test", "province/hunan/winter-2027"),
    seeders=("http://seed.example:8080/", "https://cdn.example/p2p"),
    site='乡镇站 "三号" \\ 东',
    site_mode="own-link",
    lan=("192.168.1.0/24", "10.0.0.0/8", "fd00::/8"),
    wan_limit=("2Mbit@08:00-18:00", "up=512kbit,down=8Mbit@18:00-22:00", "8Mbit"),
    policy=("kinds=course,handbook", "exclude-themes=战争片"),
    listen="0.0.0.0:7000",
    feed="127.0.0.1:9000",
    mdns=False,
    mdns_interfaces=("192.168.1.5", "::1"),
    poll_interval_s=60.5,
)


def write(data: Path, text: str) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    path = data / CONFIG_NAME
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_with_every_setting(tmp_path: Path) -> None:
    path = FULL.save(tmp_path / "data")
    assert path == tmp_path / "data" / CONFIG_NAME
    loaded = BoxConfig.load(tmp_path / "data")
    assert loaded == FULL
    assert loaded.box_policy() == Policy.parse(*FULL.policy)
    assert loaded.wan_schedule() == WanSchedule.parse(FULL.wan_limit)
    text = path.read_text(encoding="utf-8")
    for name in ("channels", "seeders", "site", "site_mode", "lan", "wan_limit", "policy",
                 "listen", "feed", "mdns", "mdns_interfaces", "poll_interval_s"):
        assert f"\n{name} = " in text


def test_round_trip_of_the_defaults(tmp_path: Path) -> None:
    cfg = BoxConfig(channels=("national/test",))
    cfg.save(tmp_path)
    assert BoxConfig.load(tmp_path) == cfg
    assert cfg.box_policy() == Policy()
    assert cfg.wan_schedule() == WanSchedule()


def test_save_replaces_the_file(tmp_path: Path) -> None:
    BoxConfig(channels=("national/test",)).save(tmp_path)
    FULL.save(tmp_path)
    assert BoxConfig.load(tmp_path) == FULL


def test_a_minimal_hand_written_file_takes_the_defaults(tmp_path: Path) -> None:
    write(tmp_path, BASE + "poll_interval_s = 30\n")
    cfg = BoxConfig.load(tmp_path)
    assert cfg == BoxConfig(channels=("national/test",), poll_interval_s=30.0)
    assert isinstance(cfg.poll_interval_s, float)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param('channels = ["National/Test"]\n', "National/Test", id="bad-channel"),
        pytest.param("channels = []\n", "channel", id="no-channel"),
        pytest.param('site = "x"\n', "channels", id="missing-channels"),
        pytest.param(BASE + 'seeders = ["ftp://seed.example/"]\n', "seeder",
                     id="non-http-seeder"),
        pytest.param(BASE + 'seeders = ["seed.example:8080"]\n', "seeder", id="bare-seeder"),
        pytest.param(BASE + 'lan = ["192.168.1.0/33"]\n', "lan", id="bad-subnet"),
        pytest.param(BASE + 'lan = ["station-lan"]\n', "lan", id="subnet-not-an-address"),
        pytest.param(BASE + 'site_mode = "satellite"\n', "site_mode", id="bad-site-mode"),
        pytest.param(BASE + 'colour = "red"\n', "colour", id="unknown-key"),
        pytest.param(BASE + "[extra]\nx = 1\n", "extra", id="unknown-table"),
        pytest.param(BASE + "listen = 6881\n", "listen", id="int-for-string"),
        pytest.param('channels = "national/test"\n', "channels", id="string-for-list"),
        pytest.param(BASE + "lan = [1]\n", "lan", id="list-of-ints"),
        pytest.param(BASE + 'mdns = "yes"\n', "mdns", id="string-for-bool"),
        pytest.param(BASE + "mdns = 1\n", "mdns", id="int-for-bool"),
        pytest.param(BASE + "poll_interval_s = true\n", "poll_interval_s", id="bool-for-number"),
        pytest.param(BASE + 'poll_interval_s = "60"\n', "poll_interval_s",
                     id="string-for-number"),
        pytest.param(BASE + "poll_interval_s = 0\n", "poll_interval_s", id="zero-interval"),
        pytest.param(BASE + "election_grace_s = -1\n", "election_grace_s",
                     id="negative-grace"),
        pytest.param(BASE + "election_grace_s = 11\n", "election_grace_s", id="long-grace"),
        pytest.param(BASE + 'mdns_interfaces = ["eth0"]\n', "mdns_interfaces",
                     id="bad-mdns-interface"),
        pytest.param(BASE + 'policy = ["colour=red"]\n', "policy", id="bad-policy-key"),
        pytest.param(BASE + 'policy = ["kinds=films"]\n', "policy", id="bad-policy-kind"),
        pytest.param(
            BASE + 'wan_limit = ["fast@08:00-18:00"]\n', "wan_limit", id="bad-wan-limit"),
    ],
)
def test_bad_value_names_the_file_and_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        BoxConfig.load(tmp_path)
    msg = str(info.value)
    assert str(path) in msg
    assert key in msg


def test_bad_wan_limit_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + 'wan_limit = ["fast@08:00-18:00"]\n')
    with pytest.raises(ConfigError, match="fast@08:00-18:00") as info:
        BoxConfig.load(tmp_path)
    assert str(path) in str(info.value)


def test_missing_file_says_to_run_box_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="box init") as info:
        BoxConfig.load(tmp_path / "nowhere")
    assert CONFIG_NAME in str(info.value)


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "site = \n")
    with pytest.raises(ConfigError, match="line 2") as info:
        BoxConfig.load(tmp_path)
    assert str(path) in str(info.value)


def test_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    tmp_path.joinpath(CONFIG_NAME).write_bytes(BASE.encode() + b'site = "\xff"\n')
    with pytest.raises(ConfigError):
        BoxConfig.load(tmp_path)


def test_constructor_validates_too() -> None:
    with pytest.raises(ConfigError, match="at least one channel"):
        BoxConfig(channels=())
    with pytest.raises(ConfigError, match="site_mode"):
        BoxConfig(channels=("national/test",), site_mode="")
    with pytest.raises(ConfigError):
        BoxConfig(channels=("national/test",), wan_limit=("2Mbit@25:00-26:00",))


@pytest.mark.parametrize("site", ["一号站\n二号站", "a\x7fb"])
def test_round_trip_of_control_characters(tmp_path: Path, site: str) -> None:
    cfg = BoxConfig(channels=("national/test",), site=site)
    cfg.save(tmp_path)
    assert BoxConfig.load(tmp_path) == cfg


def test_tab_in_a_string_round_trips(tmp_path: Path) -> None:
    cfg = BoxConfig(channels=("national/test",), site="a\tb")
    cfg.save(tmp_path)
    assert BoxConfig.load(tmp_path) == cfg


def test_nan_poll_interval_is_refused(tmp_path: Path) -> None:
    write(tmp_path, BASE + "poll_interval_s = nan\n")
    with pytest.raises(ConfigError, match="poll_interval_s"):
        BoxConfig.load(tmp_path)
