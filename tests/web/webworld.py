"""The station's web tests' world: a signed release with a real, playable clip, boxes and
seeders as real daemons (`p2pdist box run`, `p2pdist seeder run`) on loopback.

The sample bundle's films are random bytes (right sizes, not playable); the world adds, as the
demo does, one real two-second WebM clip (`p2pdist.web.add_sample_clip`, 15 KB, made with
ffmpeg's test source) as a film of its own theme, so a browser can play it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p2pdist.childproc import Child, stop_all
from p2pdist.web import add_sample_clip
from tests.world import make_trust_root, run_cli, wait_until

TAG = secrets.token_hex(4)
CHANNEL = f"national/web-{TAG}"
CLIP = Path(__file__).parents[2] / "p2pdist" / "web" / "sample" / "clip.webm"
CLIP_TITLE = "测试短片"
CLIP_THEME = "样片"
BUNDLE = 1_000_000
BIG_PATH = "电影/样片/长片.webm"
BIG_TITLE = "长片"
BIG_SIZE = 48 * 1024 * 1024
"""Larger than every socket buffer between the box and the test, so an answer is still being
read from the file when the test swaps the release under it."""



@dataclass(frozen=True)
class World:
    dir: Path
    root: Path
    content: Path
    manifest: Path
    content2: Path
    manifest2: Path
    """v2: the same catalog, the long film's bytes changed."""
    channel: str = CHANNEL

    def publish(self, data: Path, version: int = 1) -> None:
        manifest, content = ((self.manifest, self.content) if version == 1
                             else (self.manifest2, self.content2))
        run_cli("release", "publish", manifest, "--content", content, "--to", data,
                "--root", self.root)


def build_world(d: Path) -> World:
    from p2pdist.sample import write_sample

    make_trust_root(d)
    content = d / "content"
    write_sample(content, BUNDLE, seed=5)
    add_sample_clip(content)
    with (content / "catalog.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[[file]]\npath = "{BIG_PATH}"\nkind = "film"\nthemes = ["{CLIP_THEME}"]\n'
                f'title = "{BIG_TITLE}"\nduration = 5400\n')
    content2 = d / "content2"
    shutil.copytree(content, content2)
    (content / BIG_PATH).write_bytes(b"1" * BIG_SIZE)
    (content2 / BIG_PATH).write_bytes(b"2" * BIG_SIZE)
    manifests = []
    for v, c in ((1, content), (2, content2)):
        manifests.append(d / f"m{v}")
        run_cli("release", "build", c, "--channel", CHANNEL, "--version", str(v),
                "--catalog", c / "catalog.toml", "--out", manifests[-1])
        run_cli("release", "sign", manifests[-1], "--key", d / "release")
    return World(d, d / "root.v1", content, manifests[0], content2, manifests[1])


def http(url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
         data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request; (status, headers, body) also for 4xx/5xx answers. No redirects followed."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def get_json(url: str) -> Any:
    status, _h, body = http(url)
    assert status == 200, (url, status, body[:200])
    return json.loads(body)


def wait_for(pred: Callable[[], Any], timeout: float, what: str, every: float = 0.3) -> Any:
    return wait_until(pred, timeout, what, every=every,
                      ignore=(OSError, AssertionError, ValueError))


class Daemons:
    """Real `p2pdist` daemons, all stopped at teardown."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, *args: str | Path, name: str) -> tuple[Child, dict[str, Any]]:
        c = Child(args, name=name)
        self.children.append(c)
        return c, c.wait_event("ready", 60)

    def close(self) -> None:
        stop_all(self.children)
