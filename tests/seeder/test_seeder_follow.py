"""A follower verifies what its upstream offers like a box does: a manifest signed by a key the
trust root does not list is refused (logged and counted), and nothing is fetched."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import trio
from seeder_helpers import CHANNEL, Trust, start, write_config

from p2pdist.feeds import serve_feed
from p2pdist.sample import MIN_TOTAL_SIZE, write_sample
from tests.world import run_cli


class Upstream:
    """A feed that offers one manifest (whatever its signatures) and the real root v1."""

    def __init__(self, root: bytes, manifest: bytes) -> None:
        self._root = root
        self._manifest = manifest

    def info(self) -> Mapping[str, Any]:
        return {"api": 1, "node_id": "upstream", "role": "seeder", "channels": {CHANNEL: 1},
                "swarm_port": 0, "root_version": 1}

    def root(self, version: int) -> bytes | None:
        return self._root if version == 1 else None

    def manifest(self, channel: str) -> bytes | None:
        return self._manifest

    async def changed(self, timeout_s: float) -> None:
        await trio.sleep(timeout_s)  # never changes: a held request waits its whole time

    def checkin(self, body: bytes, peer: str) -> tuple[int, Mapping[str, Any]] | None:
        return None


async def test_an_untrusted_manifest_from_upstream_is_refused(
        tmp_path: Path, trust: Trust, nursery: trio.Nursery,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="seeder")
    write_sample(tmp_path / "content", MIN_TOTAL_SIZE, seed=1)
    run_cli("keys", "generate", tmp_path / "outsider")
    run_cli("release", "build", tmp_path / "content", "--channel", CHANNEL, "--version", "1",
            "--catalog", tmp_path / "content" / "catalog.toml", "--out", tmp_path / "m1")
    run_cli("release", "sign", tmp_path / "m1", "--key", tmp_path / "outsider")
    upstream = Upstream(trust.root.read_bytes(), (tmp_path / "m1").read_bytes())
    port = await nursery.start(serve_feed, upstream, "127.0.0.1:0")
    config = write_config(tmp_path / "s.toml", data="data", root=trust.root,
                          upstream=f"http://127.0.0.1:{port}", poll_interval_s=0.2)
    service = await start(nursery, config)
    with trio.fail_after(10):
        while "upstream_rejected" not in caplog.text:
            await trio.sleep(0.05)
    assert "error=KeyNotInRoleError" in caplog.text
    assert service.metrics.registry.get_sample_value("p2pdist_seeder_upstream_errors_total")
    assert service.store.active_version(CHANNEL) is None and service.store.releases(CHANNEL) == []
