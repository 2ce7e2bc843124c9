"""Fast-forward recovery (manifest/FORMAT.md §10.1): a root that revokes the key that signed a
huge version resets the channel's rollback floor, so the box takes the new key's releases
without a hand edit; a rotation that keeps the key keeps the floor."""

from __future__ import annotations

from pathlib import Path

import pytest
from sneaker_world import CHANNEL, NOW, build_signed, install_into, make_root, trusted

import keys
from keys import SigningKey
from p2pdist.boxstate import BoxState
from p2pdist.install import InstallReport
from p2pdist.sample import write_sample
from p2pdist.sneakernet import export_releases, import_releases
from p2pdist.store import Store
from p2pdist.trust import rollback_floor

SIZE = 300_000


def world(tmp: Path, revoke: bool) -> tuple[bytes, bytes, Path, Path]:
    """(root v1, root v2, a box holding v1000 signed by the leaked key, a drive with root v2
    and v3 signed by the new key)."""
    rk, leaked, fresh = (SigningKey.generate() for _ in range(3))
    v1 = make_root(1, [rk], [("national", [leaked.public], 1, ["national/"])], [rk])
    kept = [] if revoke else [leaked.public]
    v2 = make_root(2, [rk], [("national", [fresh.public, *kept], 1, ["national/"])], [rk])
    content = write_sample(tmp / "c", SIZE, seed=5).root
    box = tmp / "box"
    install_into(box, [v1], build_signed(content, CHANNEL, 1000, leaked), content)
    pub = tmp / "publisher"
    install_into(pub, [v1, v2], build_signed(content, CHANNEL, 3, fresh), content)
    drive = tmp / "drive"
    export_releases(Store(pub, reserve=0), BoxState(pub).chain(), drive)
    return v1, v2, box, drive


def test_a_box_recovers_after_the_leaked_key_is_revoked(tmp_path: Path) -> None:
    v1, v2, box, drive = world(tmp_path, revoke=True)
    store = Store(box, reserve=0)
    assert store.active_version(CHANNEL) == 1000
    envelope = store.manifest_envelope(CHANNEL, 1000)
    assert rollback_floor(trusted([v1]), CHANNEL, 1000, envelope) == 1000
    assert rollback_floor(trusted([v1, v2]), CHANNEL, 1000, envelope) is None

    (report,) = import_releases(store, BoxState(box), drive, now=NOW)
    assert isinstance(report, InstallReport) and report.version == 3
    assert store.active_version(CHANNEL) == 3
    assert BoxState(box).trusted_root(NOW).version == 2


def test_a_rotation_that_keeps_the_signing_key_keeps_the_floor(tmp_path: Path) -> None:
    v1, v2, box, drive = world(tmp_path, revoke=False)
    store = Store(box, reserve=0)
    assert rollback_floor(trusted([v1, v2]), CHANNEL, 1000,
                          store.manifest_envelope(CHANNEL, 1000)) == 1000
    with pytest.raises(keys.RollbackError):
        import_releases(store, BoxState(box), drive, now=NOW)
    assert store.active_version(CHANNEL) == 1000
