"""Fixtures for the box daemon's end-to-end tests: one signed world per session, a fleet of
daemons per test (all stopped at teardown)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agentworld import Fleet, World, build_world


@pytest.fixture(scope="session")
def agent_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("agent-world"))


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    f = Fleet(tmp_path)
    try:
        yield f
    finally:
        f.close()
