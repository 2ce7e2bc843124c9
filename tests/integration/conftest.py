"""Fixtures: a signed release world (keys, root, two releases, an origin) and child processes.

v2 changes 5 of the 24 film files of v1 (same seed otherwise), so an update from v1 to v2 should
move only those bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from boxworld import BUNDLE, Procs, World

from p2pdist.childproc import stop_all
from p2pdist.sample import write_sample
from tests.world import build_signed, make_trust_root, run_cli


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    d = tmp_path_factory.mktemp("world")
    make_trust_root(d)
    write_sample(d / "c1", BUNDLE, seed=7)
    write_sample(d / "c2", BUNDLE, seed=7, change_films=5)
    for v, c in ((1, "c1"), (2, "c2")):
        build_signed(d / c, "national/test", v, d / f"m{v}", d / "release")
    run_cli("release", "publish", d / "m1", "--content", d / "c1", "--to", d / "origin",
            "--root", d / "root.v1")
    run_cli("release", "publish", d / "m2", "--content", d / "c2", "--to", d / "origin2",
            "--root", d / "root.v1")
    return World(d, d / "root.v1", d / "c1", d / "c2", d / "m1", d / "m2", d / "origin",
                 d / "origin2")


@pytest.fixture
def procs() -> Iterator[Procs]:
    p = Procs()
    try:
        yield p
    finally:
        stop_all(p.children)


