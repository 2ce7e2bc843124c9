"""The world of the fuzz targets: a trusted root, valid signed manifests, a box with an active
release and its USB export."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keys import Root
from p2pdist.boxstate import BoxState
from p2pdist.sample import write_sample
from p2pdist.sneakernet import export_releases
from p2pdist.store import Store
from tests.sneaker_world import (
    CHANNEL,
    Keys,
    build_signed,
    install_into,
    make_keys,
    trusted,
)


@dataclass(frozen=True)
class Trust:
    keys: Keys
    root: Root
    manifest_v1: bytes
    manifest_v2: bytes
    box: Path
    drive: Path
    content_v2: Path


def make_trust(d: Path) -> Trust:
    k = make_keys()
    c1 = write_sample(d / "c1", 200_000, seed=11).root
    c2 = write_sample(d / "c2", 200_000, seed=11, change_films=2).root
    m1 = build_signed(c1, CHANNEL, 1, k.release)
    m2 = build_signed(c2, CHANNEL, 2, k.release)
    install_into(d / "box", [k.root_v1], m1, c1)
    export_releases(Store(d / "box", reserve=0), BoxState(d / "box").chain(), d / "drive")
    return Trust(k, trusted([k.root_v1]), m1, m2, d / "box", d / "drive", c2)


__all__ = ["CHANNEL", "Trust", "make_trust"]
