"""The operator's dashboard over a real two-level run: an origin, a province forwarding to it,
two boxes in two sites fetching the release; a 点单 on a box's library reaches the origin's
dashboard through a real signed check-in (and the province's forward)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from webworld import CLIP_TITLE, Daemons, World, get_json, http, wait_for

from tests.world import run_cli

pytestmark = pytest.mark.slow

SITES = ("红星乡", "河口镇")


def _seeder(daemons: Daemons, d: Path, name: str, *args: str | Path) -> dict[str, Any]:
    config = d / f"{name}.toml"
    run_cli("seeder", "init", "--out", config, "--data", d / name, "--metrics", "", "--poll",
            "1", *args)
    return daemons.start("seeder", "run", "--config", config, "--json", name=name)[1]


def _box(daemons: Daemons, w: World, data: Path, ip: str, site: str, seeder: str
         ) -> dict[str, Any]:
    run_cli("box", "init", "--data", data, "--root", w.root, "--channel", w.channel,
            "--seeder", seeder, "--listen", f"{ip}:0", "--feed", f"{ip}:0", "--no-mdns",
            "--site", site, "--site-mode", "own-link", "--poll", "2", "--web", f"{ip}:0")
    return daemons.start("box", "run", "--data", data, "--json", name=data.name)[1]


def test_the_origin_sees_the_rollout_and_the_demand_of_every_box(
        web_world: World, daemons: Daemons, tmp_path: Path, browser: Any) -> None:
    w = web_world
    origin = _seeder(daemons, tmp_path, "origin", "--root", w.root, "--channel", w.channel,
                     "--origin", "--listen", "127.0.0.1:0", "--feed", "127.0.0.1:0",
                     "--web", "127.0.0.1:0")
    w.publish(tmp_path / "origin")
    origin_feed = f"http://127.0.0.1:{origin['feed_port']}"
    province = _seeder(daemons, tmp_path, "province", "--root", w.root, "--channel", w.channel,
                       "--upstream", origin_feed, "--forward-to", origin_feed,
                       "--listen", "127.0.0.2:0", "--feed", "127.0.0.2:0",
                       "--web", "127.0.0.2:0")
    province_feed = f"http://127.0.0.2:{province['feed_port']}"
    boxes = [_box(daemons, w, tmp_path / f"box{i}", f"127.0.1.{i + 1}", site, province_feed)
             for i, site in enumerate(SITES)]
    dash = f"http://127.0.0.1:{origin['web_port']}"

    def all_done() -> bool:
        r = get_json(f"{dash}/api/rollout")
        return r["channels"].get(w.channel, {}).get("done") == len(SITES)

    wait_for(all_done, 120, "both boxes done on the origin's dashboard")
    rollout = get_json(f"{dash}/api/rollout")
    assert {b["site"] for b in rollout["boxes"]} == set(SITES)
    assert {b["box_id"] for b in rollout["boxes"]} == {b["node_id"] for b in boxes}
    # forwarded by the province (on loopback its connections come from 127.0.0.1), not sent
    # by the boxes (127.0.1.x) themselves
    assert all(b["via"] and not b["via"].startswith("127.0.1.") for b in rollout["boxes"])

    # A visitor at the first site asks for a theme and writes a wish, and plays the clip.
    lib = f"http://127.0.1.1:{boxes[0]['web_port']}"
    clip = next(t for t in get_json(f"{lib}/api/library")["titles"].values()
                if t["title"] == CLIP_TITLE)
    for form in (f"choice={quote('theme:' + clip['themes'][0])}",
                 "wish=" + quote("多放几部戏曲片")):
        assert http(f"{lib}/request", method="POST", data=form.encode())[0] == 303
    assert http(f"{lib}/api/plays/{clip['id']}", method="POST")[0] == 200
    # The box checks in at its next start (and every few minutes): restart it.
    daemons.children[2].stop()
    daemons.start("box", "run", "--data", tmp_path / "box0", "--json", name="box0-again")

    def demand() -> Any:
        d = get_json(f"{dash}/api/demand")
        return d if d["wishes"] else None

    d = wait_for(demand, 60, "the wish on the origin's dashboard")
    assert d["wishes"] == [{"value": "多放几部戏曲片", "requests": 1, "boxes": 1}]
    assert d["by_theme"] == [{"value": clip["themes"][0], "requests": 1, "boxes": 1}]
    service = get_json(f"{dash}/api/service")
    assert service["ranking"][0]["box_id"] == boxes[0]["node_id"]
    assert service["ranking"][0]["plays"] == 1
    assert service["plays_by_theme"] == [{"name": clip["themes"][0], "plays": 1}]
    rows = list(csv.reader(io.StringIO(http(f"{dash}/api/demand.csv")[2].decode())))
    assert ["wish", "多放几部戏曲片", "1", "1"] in rows
    # the province's own dashboard shows the same boxes
    assert len(get_json(f"http://127.0.0.2:{province['web_port']}/api/rollout")["boxes"]) == 2

    from selenium.webdriver.common.by import By

    browser.set_window_size(1280, 1000)
    browser.get(f"{dash}/")
    text = browser.find_element(By.TAG_NAME, "main").text
    for b in boxes:
        assert b["node_id"][:12] in text
    assert "多放几部戏曲片" in text and "已完成" in text
    browser.save_screenshot(str(Path(os.environ.get("P2PDIST_SCREENSHOTS") or tmp_path)
                                / "dashboard.png"))
