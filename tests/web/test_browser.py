"""The library and the dashboard in a real browser (Debian's headless chromium, selenium).

Screenshots go to the test's temporary folder, or to $P2PDIST_SCREENSHOTS when set (that is how
the ones under docs/ were made).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from webworld import CLIP_TITLE, World, get_json, wait_for

pytestmark = pytest.mark.slow


def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("P2PDIST_SCREENSHOTS") or tmp_path)


def test_the_library_lists_every_title_under_its_theme_and_a_film_plays(
        library_box: str, web_world: World, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    lib = get_json(f"{library_box}/api/library")
    browser.set_window_size(1280, 900)
    browser.get(f"{library_box}/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    shown: dict[str, set[str]] = {}
    for shelf in browser.find_elements(By.CSS_SELECTOR, "section.shelf"):
        theme = shelf.find_element(By.TAG_NAME, "h3").text.split(" ")[0]
        names = {e.text for e in shelf.find_elements(By.CSS_SELECTOR, ".card .name")}
        shown.setdefault(theme, set()).update(names)
    for t in lib["titles"].values():
        for theme in t["themes"]:
            assert t["title"] in shown[theme], (t["title"], theme)
    browser.save_screenshot(str(shots(tmp_path) / "library-desktop.png"))

    clip = next(t for t in lib["titles"].values() if t["title"] == CLIP_TITLE)
    browser.set_window_size(412, 915)  # a phone
    browser.get(f"{library_box}/")
    browser.save_screenshot(str(shots(tmp_path) / "library-phone.png"))
    browser.get(f"{library_box}/t/{clip['id']}")
    assert browser.find_element(By.TAG_NAME, "h1").text == CLIP_TITLE
    browser.execute_script("const v = document.getElementById('player'); v.muted = true; "
                           "v.play();")

    def playing() -> float | None:
        state = browser.execute_script(
            "const v = document.getElementById('player');"
            "return [v.readyState, v.currentTime, v.error && v.error.code];")
        assert state[2] is None, f"media error {state[2]}"
        return float(state[1]) if state[0] >= 2 and state[1] > 0 else None

    first = wait_for(playing, 20, "playback")
    wait_for(lambda: (playing() or 0) > first, 20, "currentTime advancing")
    browser.save_screenshot(str(shots(tmp_path) / "library-phone-title.png"))
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name);")
    assert loaded and all(u.startswith(library_box) for u in loaded), loaded  # no CDN
    # the page's beacon counted the play
    wait_for(lambda: get_json(f"{library_box}/api/service")["plays"].get(CLIP_TITLE) == 1, 10,
             "the play counted")
