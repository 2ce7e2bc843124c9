"""Fixtures for the manifest tests: a small real release folder and its hybrid torrents, built
once per session."""

from __future__ import annotations

import pytest
from trust_manifest_builders import RELEASE_FILES, Cast, Release, cast, make_root, write_tree

from keys import Root


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    root = write_tree(tmp_path_factory.mktemp("release") / "files", RELEASE_FILES)
    return Release(root, dict(RELEASE_FILES))


@pytest.fixture(scope="session")
def c() -> Cast:
    return cast()


@pytest.fixture(scope="session")
def root() -> Root:
    """The trusted root: national/ for the national key, province/hunan/ for hunan1 or hunan2."""
    return make_root()
