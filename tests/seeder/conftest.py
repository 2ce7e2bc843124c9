"""Fixtures: one trust root for the session; child processes stopped at teardown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seeder_helpers import Procs, Trust, make_trust

from p2pdist.childproc import stop_all


@pytest.fixture(scope="session")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return make_trust(tmp_path_factory.mktemp("trust"))


@pytest.fixture
def procs() -> Iterator[Procs]:
    p = Procs()
    try:
        yield p
    finally:
        stop_all(p.children)
