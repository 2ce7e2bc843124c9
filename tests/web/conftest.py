from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from webworld import Daemons, World, build_world


@pytest.fixture(scope="session")
def web_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("web-world"))


@pytest.fixture
def daemons() -> Iterator[Daemons]:
    d = Daemons()
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def library_box(web_world: World, daemons: Daemons, tmp_path: Path) -> str:
    """A box daemon whose store holds the world's release (published straight into it), with
    its library on a free loopback port; returns the library's base URL."""
    from tests.world import run_cli

    data = tmp_path / "box"
    web_world.publish(data)
    run_cli("box", "init", "--data", data, "--root", web_world.root, "--channel",
            web_world.channel, "--listen", "127.0.0.1:0", "--feed", "127.0.0.1:0", "--no-mdns",
            "--web", "127.0.0.1:0")
    _child, ready = daemons.start("box", "run", "--data", data, "--json", name="box")
    assert ready["web_port"], ready
    return f"http://127.0.0.1:{ready['web_port']}"


@pytest.fixture
def browser() -> Iterator[object]:
    """Debian's headless chromium driven by selenium (never a downloaded browser)."""
    import shutil

    chromium = shutil.which("chromium")
    driver_bin = shutil.which("chromedriver")
    if chromium is None or driver_bin is None:
        pytest.skip("Debian's chromium and chromium-driver are not installed "
                    "(apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required", "--lang=zh-CN",
                "--no-first-run", "--disable-background-networking"):
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
