"""The supervised download, with real `box run` daemons: a newer release mid-download, a
source that goes away and comes back, a stop in every phase, host-name seeders.

The source is a box on its own 127.0.0.x address, no mDNS, uploading at 2 MB/s, so the 8 MB
download is caught half way; it comes back on the same ports (fixed, not 0) when restarted.
Each test asserts the daemon is alive (or exited 0 on a stop) and no traceback was logged.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from agentworld import (
    BUNDLE,
    CHANNEL,
    Box,
    Fleet,
    World,
    free_port,
    run_cli,
    tree_digest,
)
from agentworld import wait_all as wait_for

from p2pdist.store import Store

pytestmark = pytest.mark.slow


def source_and_box(w: World, fleet: Fleet, ip: str, *, up: str = "2MB") -> tuple[Box, Box]:
    """A capped source on `ip` (fixed ports, so it can come back) and a box that follows it."""
    src, box = fleet.box("source"), fleet.box("box")
    feed = free_port(ip)
    src.init(w, "--no-mdns", "--site-mode", "own-link", "--wan-limit", f"up={up}",
             listen=f"{ip}:{free_port(ip)}", feed=f"{ip}:{feed}")
    box_ip = ip.rsplit(".", 1)[0] + "." + str(int(ip.rsplit(".", 1)[1]) + 1)
    box.init(w, "--no-mdns", "--site-mode", "own-link", "--seeder", f"http://{ip}:{feed}",
             listen=f"{box_ip}:0", feed=f"{box_ip}:0")
    toml = box.data / "box.toml"  # a short stall period, so the tests stay fast
    toml.write_text(toml.read_text().replace("stall_s = 60.0", "stall_s = 3.0"))
    return src, box


def mid_download(box: Box) -> None:
    box.wait(lambda s: 0 < box.torrent(s).get("bytes_done", 0) < BUNDLE
             and box.channel(s)["phase"] == "downloading", 30, "a download under way",
             every=0.05)


def healthy(box: Box) -> None:
    assert box.child is not None
    assert box.child.proc.poll() is None, box.child.stderr_tail
    assert box.child.tracebacks == 0, box.child.stderr_tail


def build_release(w: World, version: int, content: Path) -> Path:
    out = w.dir / f"extra-m{version}"
    if not out.exists():
        run_cli("release", "build", content, "--channel", CHANNEL, "--version", str(version),
                "--catalog", content / "catalog.toml", "--out", out)
        run_cli("release", "sign", out, "--key", w.dir / "release")
    return out


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapping", "disjoint"])
def test_a_newer_release_published_mid_download_supersedes_it(
        agent_world: World, fleet: Fleet, overlap: bool) -> None:
    """The source stops seeding v1 and seeds only the newer release: the box switches to it
    (keeping v1's finished files when they are shared) instead of sitting at 0 peers."""
    from p2pdist.sample import write_sample

    w = agent_world
    ip = "127.0.0.70" if overlap else "127.0.0.72"
    src, box = source_and_box(w, fleet, ip)
    w.publish(1, src.data)
    src.start()
    box.start()
    mid_download(box)
    src.stop()
    if overlap:
        version, content, manifest = 2, w.content[2], w.manifest[2]
    else:
        content = w.dir / "c3-disjoint"
        if not content.exists():
            write_sample(content, BUNDLE, seed=33)
        version, manifest = 3, build_release(w, 3, content)
    run_cli("release", "publish", manifest, "--content", content, "--to", src.data,
            "--root", w.root)
    src.start()
    st = box.wait_active(version, 90)
    healthy(box)
    assert tree_digest(Store(box.data).active_dir(CHANNEL)) == tree_digest(content)
    assert box.channel(st)["stall"] is None


def test_the_only_seeder_gone_mid_download_is_redialled_when_it_returns(
        agent_world: World, fleet: Fleet) -> None:
    w = agent_world
    src, box = source_and_box(w, fleet, "127.0.0.74")
    w.publish(1, src.data)
    src.start()
    box.start()
    mid_download(box)
    src.kill()
    st = box.wait(lambda s: box.channel(s)["stall"] is not None, 30, "the stall in status")
    stall = box.channel(st)["stall"]
    assert stall["missing_files"] and stall["message"], stall
    assert Store(box.data).active_version(CHANNEL) is None
    # Past libtorrent's own limit of 3 failed dials, after which it never dialled again.
    box.wait(lambda s: box.torrent(s).get("dial_failures", 0) >= 5, 60, "5 failed dials")
    src.start()
    back = time.monotonic()
    box.wait_active(1, 60)
    print(f"\nactive {time.monotonic() - back:.1f} s after the source came back")
    healthy(box)
    assert box.active_digest() == w.digest(1)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("phase", ["starting", "downloading", "seeding"])
def test_a_stop_in_any_phase_exits_0_without_a_traceback(
        agent_world: World, fleet: Fleet, sig: signal.Signals, phase: str) -> None:
    w = agent_world
    src, box = source_and_box(w, fleet, "127.0.0.76")
    w.publish(1, src.data)
    src.start()
    box.launch()
    assert box.child is not None
    if phase == "starting":
        wait_for(lambda: "box daemon starting" in box.child.stderr_tail, 30, "the first line")
    else:
        box.wait_ready()
        if phase == "downloading":
            mid_download(box)
        else:
            box.wait_active(1, 60)
    assert box.child is not None
    box.child.proc.send_signal(sig)
    try:
        code = box.child.proc.wait(5)  # a bound, not a measurement: systemd waits 90 s
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running 5 s after {sig.name}:\n{box.child.stderr_tail}")
    assert code == 0, box.child.stderr_tail
    assert box.child.tracebacks == 0, box.child.stderr_tail
    if phase == "seeding":
        assert box.active_digest() == w.digest(1)
    if phase != "starting":
        box.start()  # whatever was saved is usable: the update completes
        box.wait_active(1, 60)
        healthy(box)
        assert box.active_digest() == w.digest(1)


def test_a_seeder_given_by_host_name_is_resolved(agent_world: World, fleet: Fleet) -> None:
    w = agent_world
    src, box = fleet.box("source"), fleet.box("box")
    src.init(w, "--no-mdns", "--site-mode", "own-link")
    w.publish(1, src.data)
    src.start()
    box.init(w, "--no-mdns", "--site-mode", "own-link", "--seeder",
             f"http://localhost:{src.ready['feed_port']}")
    box.start()
    st = box.wait_active(1, 60)
    healthy(box)
    assert box.received(st)["seeder"] > 0
    assert box.active_digest() == w.digest(1)


def test_a_root_rotation_offered_by_two_sources_in_one_poll(agent_world: World,
                                                             fleet: Fleet) -> None:
    """Both honest seeders carry root v2: the box takes it once and penalizes neither."""
    from p2pdist.boxstate import BoxState

    w = agent_world
    root_v2 = w.dir / "root.v2"
    if not root_v2.exists():
        run_cli("keys", "generate", w.dir / "release2")
        run_cli("keys", "root", "rotate", w.root, "--out", root_v2, "--add-role", "national2",
                "--release-key", w.dir / "release2.pub", "--release-threshold", "1",
                "--channel", "national/")
        run_cli("keys", "root", "sign", root_v2, "--key", w.dir / "root", "--previous", w.root)
    pub = w.dir / "pub-rotated"
    if not pub.exists():
        w.publish(1, pub)
        BoxState(pub).pin_root(w.root.read_bytes())
        BoxState(pub).accept_roots([root_v2.read_bytes()], int(time.time()))
        run_cli("export", w.dir / "usb-rotated", "--create", "--data", pub)
    sources = [fleet.box(f"source{i}") for i in (1, 2)]
    urls = []
    for i, src in enumerate(sources):
        ip = f"127.0.0.{80 + i}"
        src.init(w, "--no-mdns", "--site-mode", "own-link", listen=f"{ip}:0", feed=f"{ip}:0")
        run_cli("import", w.dir / "usb-rotated", "--data", src.data)
        src.start()
        urls += ["--seeder", f"http://{ip}:{src.ready['feed_port']}"]
    box = fleet.box("box")
    box.init(w, "--no-mdns", "--site-mode", "own-link", *urls, listen="127.0.0.83:0",
             feed="127.0.0.83:0")
    box.start()
    st = box.wait_active(1, 60)
    healthy(box)
    assert st["root_version"] == 2, st
    assert st["last_errors"] == [], st
    assert box.active_digest() == w.digest(1)
