"""Advert: what a node announces, and the strict parser for what neighbours announce (pure)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from p2pdist.discovery import SERVICE_TYPE, Advert, BadAdvertError
from p2pdist.discovery._advert import (
    MAX_CHANNELS,
    MAX_TXT_BYTES,
    MAX_TXT_STRING,
    instance_label,
)
from p2pdist.errors import PeerError

NODE = "0123456789abcdef" * 4
NAME = f"p2pdist-{NODE[:16]}.{SERVICE_TYPE}"
ADDRS = ["127.0.0.1"]


def advert(**fields: object) -> Advert:
    base: dict[str, object] = {
        "node_id": NODE,
        "role": "box",
        "feed_port": 8000,
        "swarm_port": 6881,
        "site": "湖南省某乡文化站",
        "channels": {"national/winter-2027": 3, "province/hunan/x": 1},
        "addresses": ("127.0.0.1",),
    }
    base.update(fields)
    return Advert(**base)  # type: ignore[arg-type]


def txt(**overrides: bytes | None) -> dict[bytes, bytes | None]:
    record: dict[bytes, bytes | None] = {
        b"v": b"1",
        b"id": NODE.encode(),
        b"r": b"box",
        b"s": "湖南省某乡文化站".encode(),
        b"sp": b"6881",
        b"ch": b"national/winter-2027:3,province/hunan/x:1",
    }
    for key, value in overrides.items():
        if value is None and key.endswith("_absent"):
            record.pop(key.removesuffix("_absent").encode(), None)
        else:
            record[key.encode()] = value
    return record


def encode(values: Mapping[str, str]) -> dict[bytes, bytes | None]:
    return {k.encode(): v.encode() for k, v in values.items()}


def wire_size(values: Mapping[str, str]) -> int:
    return sum(1 + len(f"{k}={v}".encode()) for k, v in values.items())


class TestToTxt:
    def test_short_keys_and_compact_channels(self) -> None:
        assert advert().to_txt() == {
            "v": "1",
            "id": NODE,
            "r": "box",
            "sp": "6881",
            "s": "湖南省某乡文化站",
            "ch": "national/winter-2027:3,province/hunan/x:1",
        }

    def test_empty_site_and_channels_are_omitted(self) -> None:
        assert advert(site="", channels={}).to_txt() == {
            "v": "1",
            "id": NODE,
            "r": "box",
            "sp": "6881",
        }

    def test_round_trip(self) -> None:
        a = advert()
        assert Advert.from_txt(NAME, ADDRS, 8000, encode(a.to_txt())) == a

    def test_many_long_channels_are_truncated_under_the_budget(self) -> None:
        channels = {f"province/region-{i:02d}/{'x' * 40}": 999_999_999 for i in range(MAX_CHANNELS)}
        a = advert(role="seeder", site="站" * 16, channels=channels)
        values = a.to_txt()
        assert wire_size(values) <= MAX_TXT_BYTES
        assert all(len(f"{k}={v}".encode()) <= MAX_TXT_STRING for k, v in values.items())
        assert values["m"] == "1"
        parsed = Advert.from_txt(NAME, ADDRS, 8000, encode(values))
        assert parsed.more_channels
        assert 0 < len(parsed.channels) < len(channels)
        # The first channels in name order are kept, with their versions.
        kept = sorted(channels)[: len(parsed.channels)]
        assert dict(parsed.channels) == {c: channels[c] for c in kept}

    def test_one_string_stays_under_255_bytes_even_with_room_in_the_record(self) -> None:
        channels = {f"c{i:02d}": 1 for i in range(MAX_CHANNELS)}  # 64 x "cNN:1," = 384 bytes
        values = advert(site="", channels=channels).to_txt()
        assert len(("ch=" + values["ch"]).encode()) <= MAX_TXT_STRING
        assert values["m"] == "1"

    def test_a_partial_advert_stays_partial(self) -> None:
        values = advert(channels={"a": 1}, more_channels=True).to_txt()
        assert values["m"] == "1" and values["ch"] == "a:1"


class TestFromTxt:
    def test_valid_record(self) -> None:
        a = Advert.from_txt(NAME, ["127.0.0.1", "fe80::1%2", "2001:db8::1"], 8000, txt())
        assert a.node_id == NODE and a.role == "box" and a.site == "湖南省某乡文化站"
        assert a.feed_port == 8000 and a.swarm_port == 6881
        assert dict(a.channels) == {"national/winter-2027": 3, "province/hunan/x": 1}
        assert a.addresses == ("127.0.0.1", "fe80::1%2", "2001:db8::1")
        assert not a.more_channels

    def test_optional_keys_and_unknown_keys(self) -> None:
        record = txt(s_absent=None, ch_absent=None, future=b"whatever", flag=None)
        a = Advert.from_txt(NAME, ADDRS, 8000, record)
        assert a.site == "" and dict(a.channels) == {}

    def test_renamed_instance_is_accepted(self) -> None:
        name = f"p2pdist-{NODE[:16]}-2.{SERVICE_TYPE}"
        assert Advert.from_txt(name, ADDRS, 8000, txt()).node_id == NODE

    def test_swarm_port_zero_means_not_seeding(self) -> None:
        assert Advert.from_txt(NAME, ADDRS, 8000, txt(sp=b"0")).swarm_port == 0

    def test_more_flag(self) -> None:
        assert Advert.from_txt(NAME, ADDRS, 8000, txt(m=b"1")).more_channels
        assert not Advert.from_txt(NAME, ADDRS, 8000, txt(m=b"0")).more_channels

    def test_addresses_are_normalized_and_deduplicated(self) -> None:
        a = Advert.from_txt(NAME, ["2001:DB8:0::1", "2001:db8::1"], 8000, txt())
        assert a.addresses == ("2001:db8::1",)

    def test_error_is_a_peer_error_and_does_not_echo_the_value(self) -> None:
        hostile = "\x1b[31m" + "A" * 100
        with pytest.raises(BadAdvertError) as info:
            Advert.from_txt(NAME, ADDRS, 8000, txt(id=hostile.encode()))
        assert isinstance(info.value, PeerError)
        assert "\x1b" not in str(info.value) and "AAAA" not in str(info.value)
        assert info.value.name == NAME and info.value.field == "node_id"

    LIES: list[tuple[str, dict[str, object], str]] = [  # noqa: RUF012
        ("non-hex id", {"txt": txt(id=b"z" * 64)}, "node_id"),
        ("uppercase id", {"txt": txt(id=NODE.upper().encode())}, "node_id"),
        ("short id", {"txt": txt(id=NODE[:15].encode())}, "node_id"),
        ("long id", {"txt": txt(id=(NODE + "0").encode())}, "node_id"),
        ("no id", {"txt": txt(id_absent=None)}, "node_id"),
        ("id without value", {"txt": txt(id=None)}, "node_id"),
        ("id of another node", {"txt": txt(id=("f" * 64).encode())}, "name"),
        ("name of another type", {"name": f"p2pdist-{NODE[:16]}._http._tcp.local."}, "name"),
        ("name with junk suffix", {"name": f"p2pdist-{NODE[:16]}-x.{SERVICE_TYPE}"}, "name"),
        ("newer format", {"txt": txt(v=b"2")}, "v"),
        ("no format", {"txt": txt(v_absent=None)}, "v"),
        ("unknown role", {"txt": txt(r=b"admin")}, "role"),
        ("no role", {"txt": txt(r_absent=None)}, "role"),
        ("swarm port too big", {"txt": txt(sp=b"65536")}, "swarm_port"),
        ("swarm port huge", {"txt": txt(sp=b"9" * 40)}, "swarm_port"),
        ("swarm port negative", {"txt": txt(sp=b"-1")}, "swarm_port"),
        ("swarm port leading zero", {"txt": txt(sp=b"0080")}, "swarm_port"),
        ("swarm port with sign", {"txt": txt(sp=b"+80")}, "swarm_port"),
        ("swarm port with space", {"txt": txt(sp=b" 80")}, "swarm_port"),
        ("swarm port empty", {"txt": txt(sp=b"")}, "swarm_port"),
        ("no swarm port", {"txt": txt(sp_absent=None)}, "swarm_port"),
        ("swarm port not ascii", {"txt": txt(sp="８０".encode())}, "swarm_port"),
        ("feed port zero", {"port": 0}, "feed_port"),
        ("feed port too big", {"port": 70_000}, "feed_port"),
        ("no feed port", {"port": None}, "feed_port"),
        ("huge version", {"txt": txt(ch=b"national/x:99999999999")}, "channels"),
        ("version zero", {"txt": txt(ch=b"national/x:0")}, "channels"),
        ("negative version", {"txt": txt(ch=b"national/x:-1")}, "channels"),
        ("float version", {"txt": txt(ch=b"national/x:1e3")}, "channels"),
        ("no version", {"txt": txt(ch=b"national/x")}, "channels"),
        ("uppercase channel", {"txt": txt(ch=b"National/X:1")}, "channels"),
        ("dotdot channel", {"txt": txt(ch=b"../etc:1")}, "channels"),
        ("absolute channel", {"txt": txt(ch=b"/national:1")}, "channels"),
        ("empty channel entry", {"txt": txt(ch=b"a:1,,b:2")}, "channels"),
        ("duplicate channel", {"txt": txt(ch=b"a:1,a:2")}, "channels"),
        (
            "too many channels",
            {"txt": txt(ch=",".join(f"c{i}:1" for i in range(MAX_CHANNELS + 1)).encode())},
            "channels",
        ),
        ("channels not ascii", {"txt": txt(ch="频道:1".encode())}, "channels"),
        ("site too long", {"txt": txt(s=("站" * 17).encode())}, "site"),
        ("site with control character", {"txt": txt(s=b"a\nb")}, "site"),
        ("site not utf-8", {"txt": txt(s=b"\xff\xfe")}, "site"),
        ("bad more flag", {"txt": txt(m=b"yes")}, "more_channels"),
        ("address not an IP", {"addresses": ["box.local"]}, "addresses"),
        ("address empty", {"addresses": [""]}, "addresses"),
        ("multicast address", {"addresses": ["224.0.0.251"]}, "addresses"),
        ("unspecified address", {"addresses": ["0.0.0.0"]}, "addresses"),
        ("no address", {"addresses": []}, "addresses"),
        ("too many addresses", {"addresses": [f"10.0.0.{i}" for i in range(1, 18)]}, "addresses"),
        ("huge TXT record", {"txt": txt(pad=b"x" * 1100)}, "txt"),
        (
            "too many TXT keys",
            {"txt": {**txt(), **{f"k{i}".encode(): b"" for i in range(40)}}},
            "txt",
        ),
        ("str values", {"txt": {k.decode(): v for k, v in txt().items()}}, "txt"),
    ]

    @pytest.mark.parametrize(("case", "lie", "field"), LIES, ids=[c for c, _, _ in LIES])
    def test_each_lie_is_a_precise_error(
        self, case: str, lie: dict[str, object], field: str
    ) -> None:
        args: dict[str, object] = {"name": NAME, "addresses": ADDRS, "port": 8000, "txt": txt()}
        args.update(lie)
        with pytest.raises(BadAdvertError) as info:
            Advert.from_txt(**args)  # type: ignore[arg-type]
        assert info.value.field == field, str(info.value)
        assert field in str(info.value)


class TestConstructor:
    @pytest.mark.parametrize(
        "fields",
        [
            {"node_id": "xyz"},
            {"node_id": NODE.upper()},
            {"role": "root"},
            {"feed_port": 0},
            {"feed_port": True},
            {"swarm_port": -1},
            {"swarm_port": 65536},
            {"site": "站" * 17},
            {"site": "a\tb"},
            {"channels": {"Bad": 1}},
            {"channels": {"ok": 0}},
            {"channels": {"ok": True}},
            {"channels": {"ok": 1_000_000_000}},
            {"channels": {f"c{i}": 1 for i in range(MAX_CHANNELS + 1)}},
            {"addresses": ("not-an-ip",)},
            {"addresses": "127.0.0.1"},
            {"more_channels": "yes"},
        ],
    )
    def test_invalid_fields_raise_value_error(self, fields: dict[str, object]) -> None:
        with pytest.raises(ValueError):
            advert(**fields)

    def test_values_are_normalized_and_immutable(self) -> None:
        a = advert(
            site="e\u0301",  # NFD
            channels={"b": 2, "a": 1},
            addresses=["::1", "0:0::1", "127.0.0.1"],
        )
        assert a.site == "\u00e9"
        assert list(a.channels) == ["a", "b"]
        assert a.addresses == ("::1", "127.0.0.1")
        with pytest.raises(TypeError):
            a.channels["c"] = 3  # type: ignore[index]
        assert a == advert(site="é", channels={"a": 1, "b": 2}, addresses=("::1", "127.0.0.1"))

    def test_own_advert_may_leave_addresses_to_discovery(self) -> None:
        assert advert(addresses=()).addresses == ()


def test_instance_label_comes_from_the_node_id() -> None:
    assert instance_label(NODE) == "p2pdist-0123456789abcdef"
    assert instance_label(NODE, 3) == "p2pdist-0123456789abcdef-3"
