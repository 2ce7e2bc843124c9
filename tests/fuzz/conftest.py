"""Fixtures of the fuzz targets (the world is built once per session)."""

from __future__ import annotations

import pytest
from fuzz_world import Trust, make_trust


@pytest.fixture(scope="session")
def trust(tmp_path_factory: pytest.TempPathFactory) -> Trust:
    return make_trust(tmp_path_factory.mktemp("fuzz-world"))
