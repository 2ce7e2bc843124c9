"""The box's library over real HTTP, served by a real `box run` daemon from its active release."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from urllib.parse import quote

import pytest
from webworld import CLIP, CLIP_TITLE, World, get_json, http

pytestmark = pytest.mark.slow


def catalog(world: World) -> list[dict[str, object]]:
    with (world.content / "catalog.toml").open("rb") as f:
        return list(tomllib.load(f)["file"])


def test_library_lists_every_title_under_each_of_its_themes(library_box: str,
                                                            web_world: World) -> None:
    lib = get_json(f"{library_box}/api/library")
    titles = lib["titles"]
    shelves = {(s["kind"], s["theme"]): {titles[i]["title"] for i in s["titles"]}
               for s in lib["shelves"]}
    entries = catalog(web_world)
    assert len(titles) == len(entries)
    for e in entries:
        for theme in e["themes"]:
            assert e["title"] in shelves[(e["kind"], theme)], (e, theme)
    # the home page shows each title and theme too (server-rendered, Chinese by default)
    status, headers, body = http(f"{library_box}/")
    page = body.decode()
    assert status == 200 and headers["content-language"] == "zh_CN"
    for e in entries:
        assert str(e["title"]) in page
        for theme in e["themes"]:
            assert str(theme) in page


def test_content_urls_are_stable_per_title(library_box: str) -> None:
    first = get_json(f"{library_box}/api/library")["titles"]
    again = get_json(f"{library_box}/api/library")["titles"]
    assert first == again
    from p2pdist.web import title_id

    clip = next(t for t in first.values() if t["title"] == CLIP_TITLE)
    assert clip["id"] == title_id(clip["channel"], "film", CLIP_TITLE)


def test_range_requests_answer_206_with_the_right_bytes(library_box: str) -> None:
    clip = next(t for t in get_json(f"{library_box}/api/library")["titles"].values()
                if t["title"] == CLIP_TITLE)
    url = f"{library_box}{clip['media']}"
    data = CLIP.read_bytes()
    status, headers, body = http(url)
    assert (status, body, headers["accept-ranges"]) == (200, data, "bytes")
    assert headers["content-type"] == "video/webm"
    status, headers, body = http(url, headers={"Range": "bytes=100-1099"})
    assert status == 206 and body == data[100:1100]
    assert headers["content-range"] == f"bytes 100-1099/{len(data)}"
    status, headers, body = http(url, headers={"Range": "bytes=-10"})
    assert status == 206 and body == data[-10:]
    status, headers, body = http(url, headers={"Range": "bytes=1000-"})
    assert status == 206 and body == data[1000:]
    status, headers, _b = http(url, headers={"Range": f"bytes={len(data)}-"})
    assert status == 416 and headers["content-range"] == f"bytes */{len(data)}"
    status, headers, body = http(url, method="HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == str(len(data))


@pytest.mark.parametrize("path", [
    "/media/../../box.toml",
    "/media/..%2f..%2fbox.toml",
    "/media/%2e%2e/%2e%2e/state/identity.key",
    "/static/../../box.toml",
    "/static/..%2f_app.py",
    "/media/" + quote("电影/样片/测试短片.webm", safe=""),
    "/t/0000000000000000",
    "/state/identity.key",
    "/active/x",
    "/box.toml",
])
def test_a_path_from_a_url_never_reaches_the_file_system(library_box: str, path: str) -> None:
    status, _h, body = http(library_box + path)
    assert status == 404, (path, body[:200])


def test_content_is_get_only(library_box: str) -> None:
    clip = next(t for t in get_json(f"{library_box}/api/library")["titles"].values()
                if t["title"] == CLIP_TITLE)
    for method in ("POST", "PUT", "DELETE"):
        status, _h, _b = http(f"{library_box}{clip['media']}", method=method, data=b"x")
        assert status == 405, method


def test_english_by_the_browsers_language(library_box: str) -> None:
    _s, headers, body = http(f"{library_box}/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert headers["content-language"] == "en" and "Station library" in body.decode()
    _s, headers, body = http(f"{library_box}/", headers={"Accept-Language": "zh-CN,en;q=0.5"})
    assert headers["content-language"] == "zh_CN" and "Station library" not in body.decode()


def test_search_by_title(library_box: str) -> None:
    _s, _h, body = http(f"{library_box}/search?q={quote('短片')}")
    assert CLIP_TITLE in body.decode()
    _s, _h, body = http(f"{library_box}/search?q={quote('没有这个')}")
    assert CLIP_TITLE not in body.decode()


def test_plays_and_requests_are_counted_in_aggregate(library_box: str, web_world: World) -> None:
    lib = get_json(f"{library_box}/api/library")
    clip = next(t for t in lib["titles"].values() if t["title"] == CLIP_TITLE)
    handbook = next(t for t in lib["titles"].values() if t["kind"] == "handbook")
    assert http(f"{library_box}/api/plays/{clip['id']}", method="POST")[0] == 200
    assert http(f"{library_box}/api/plays/{clip['id']}", method="POST")[0] == 200
    assert http(f"{library_box}/api/plays/0000000000000000", method="POST")[0] == 404
    assert http(f"{library_box}{handbook['media']}")[0] == 200  # an open from byte 0
    assert http(f"{library_box}{handbook['media']}", headers={"Range": "bytes=10-"})[0] == 206
    form = "choice=" + quote(f"theme:{clip['themes'][0]}")
    status, headers, _b = http(f"{library_box}/request", method="POST", data=form.encode(),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303 and headers["location"] == "/request?done=1"
    wish = "wish=" + quote("  多一些\n关于手机支付的课 ") + "&choice="
    http(f"{library_box}/request", method="POST", data=wish.encode())
    http(f"{library_box}/request", method="POST", data=b"choice=theme:not-offered")
    status, _h, _b = http(f"{library_box}/request", method="POST", data=b"x" * 5000)
    assert status == 413
    service = get_json(f"{library_box}/api/service")
    assert service["plays"] == {CLIP_TITLE: 2, handbook["title"]: 1}
    assert sum(service["days"].values()) == 3
    assert service["requests"] == {f"theme:{clip['themes'][0]}": 1,
                                   "wish:多一些 关于手机支付的课": 1}
    assert "127.0.0.1" not in json.dumps(service)


def test_the_requests_form_is_rate_limited(library_box: str) -> None:
    answers = [http(f"{library_box}/request", method="POST", data=b"wish=more")[1]["location"]
               for _ in range(25)]
    assert answers[:20] == ["/request?done=1"] * 20
    assert answers[-1] == "/request?busy=1"
    assert get_json(f"{library_box}/api/service")["requests"] == {"wish:more": 20}


def test_static_assets_ship_in_the_package(library_box: str) -> None:
    for name in ("style.css", "icon.svg"):
        status, _h, body = http(f"{library_box}/static/{name}")
        assert status == 200 and body
        assert body == (Path(__file__).parents[2] / "p2pdist/web/static" / name).read_bytes()


def test_an_update_mid_play_does_not_break_the_answer_being_read(
        library_box: str, web_world: World, tmp_path: Path) -> None:
    import urllib.request

    from webworld import BIG_SIZE, BIG_TITLE

    big = next(t for t in get_json(f"{library_box}/api/library")["titles"].values()
               if t["title"] == BIG_TITLE)
    url = f"{library_box}{big['media']}"
    with urllib.request.urlopen(url, timeout=30) as r:
        head = r.read(1 << 20)
        web_world.publish(tmp_path / "box", version=2)  # activates v2 under the reader
        assert get_json(f"{library_box}/api/library")["releases"][0]["version"] == 2
        rest = r.read()
    assert head + rest == b"1" * BIG_SIZE
    status, _h, body = http(url, headers={"Range": "bytes=0-9"})
    assert (status, body) == (206, b"2" * 10)  # the next request reads the new release
    assert get_json(f"{library_box}/api/library")["titles"][big["id"]]["version"] == 2
