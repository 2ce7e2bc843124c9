"""Shared pieces of the seeder tests: trust files, seeder.toml files, in-process services.

A unique module name: pytest puts this folder on sys.path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from p2pdist.childproc import Child
from seeder import SeederService, load_config
from tests.world import make_trust_root

CHANNEL = "national/test"



@dataclass(frozen=True)
class Trust:
    """A root key, a release key delegated ``national/``, and the signed root v1."""

    dir: Path
    root: Path
    release_key: Path


def make_trust(d: Path) -> Trust:
    return Trust(d, make_trust_root(d, root_key="rootkey"), d / "release")


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Path):
        return json.dumps(str(v))
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def write_config(path: Path, **settings: Any) -> Path:
    """A seeder.toml with loopback defaults (any free port, metrics off, no super-seeding: it
    paces tiny swarms on fast links, see test_super_seeding_is_set) plus `settings`."""
    values: dict[str, Any] = {"channels": [CHANNEL], "listen": "127.0.0.1:0",
                              "feed": "127.0.0.1:0", "metrics": "", "poll_interval_s": 0.5,
                              "super_seed": False}
    values.update(settings)
    path.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in values.items()
                            if v is not None), encoding="utf-8")
    return path


async def start(nursery: trio.Nursery, config: Path) -> SeederService:
    service = SeederService(load_config(config))
    await nursery.start(service.run)
    return service


def publish_sample(trust: Trust, d: Path, size: int, seed: int) -> Path:
    """Sample content of `size` bytes built, signed as v1 and published at d/origin (the CLI
    runs its own trio loop: from an async test, call this in a worker thread)."""
    from p2pdist.sample import write_sample
    from tests.world import run_cli

    write_sample(d / "content", size, seed=seed)
    run_cli("release", "build", d / "content", "--channel", CHANNEL, "--version", "1",
            "--catalog", d / "content" / "catalog.toml", "--out", d / "m1")
    run_cli("release", "sign", d / "m1", "--key", trust.release_key)
    run_cli("release", "publish", d / "m1", "--content", d / "content", "--to", d / "origin",
            "--root", trust.root)
    return d / "origin"


def feed_url(service: SeederService, ip: str = "127.0.0.1") -> str:
    return f"http://{ip}:{service.feed_port}"


class Procs:
    """`python -m p2pdist ...` children of one test (the fixture stops them all)."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, *args: str | Path, name: str) -> Child:
        child = Child(args, name=name)
        self.children.append(child)
        return child
