"""A small signed world built through the Python API, for the sneakernet and box-state tests.

Keys, trust roots v1 (national/ delegated to the release key) and v2 (a rotation to a new root
key that also delegates province/hunan/ to a new key), a forged v2 signed only by an outsider,
and helpers that build signed releases from sample bundles and install them into a box.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keys
from keys import PublicKey, Root, SigningKey
from manifest import verify_manifest_with
from p2pdist.boxstate import BoxState
from p2pdist.catalog_file import read_catalog
from p2pdist.install import InstallReport, install_from_folder
from p2pdist.release import build_release
from p2pdist.sample import CATALOG_NAME
from p2pdist.store import Store

NOW = int(time.time())
YEAR = 365 * 86400
CHANNEL = "national/test"
HUNAN = "province/hunan/test"

Role = tuple[str, Sequence[PublicKey], int, Sequence[str]]


def make_root(version: int, root_keys: Sequence[SigningKey], roles: Sequence[Role],
              signers: Sequence[SigningKey], *, created: int = NOW - 3600,
              expires: int = NOW + YEAR, threshold: int = 1) -> bytes:
    """A root envelope (bytes) with `root_keys` as root keys, signed by `signers`."""
    root = Root.new(version=version, created=created, expires=expires,
                    root_keys=[k.public for k in root_keys], root_threshold=threshold,
                    release_roles=roles)
    env = keys.Envelope(root.encode_body())
    for k in signers:
        env = env.sign(k)
    return env.encode()


@dataclass(frozen=True)
class Keys:
    root: SigningKey
    root2: SigningKey
    release: SigningKey
    hunan: SigningKey
    outsider: SigningKey
    root_v1: bytes
    root_v2: bytes
    """Rotates to `root2` (signed by `root` and `root2`) and adds the hunan role."""
    forged_v2: bytes
    """Same shape as a v2, but signed only by `outsider` (its own root key)."""


def make_keys() -> Keys:
    rk, rk2, rel, hun, out = (SigningKey.generate() for _ in range(5))
    national: Role = ("national", [rel.public], 1, ["national/"])
    v1 = make_root(1, [rk], [national], [rk])
    v2 = make_root(2, [rk2], [national, ("hunan", [hun.public], 1, ["province/hunan/"])],
                   [rk, rk2])
    forged = make_root(2, [out], [national, ("hunan", [out.public], 1, ["province/hunan/"])],
                       [out])
    return Keys(rk, rk2, rel, hun, out, v1, v2, forged)


def build_signed(content: Path, channel: str, version: int, key: SigningKey) -> bytes:
    """The signed manifest envelope of `content` (its catalog.toml is not part of the release)."""
    cat = content / CATALOG_NAME
    m = build_release(content, channel=channel, version=version, catalog=read_catalog(cat),
                      catalog_path=cat, expires_days=30)
    return m.sign(key)


def trusted(roots: Sequence[bytes]) -> Root:
    return keys.load_trust(roots[0], list(roots[1:]), NOW)


def install_into(data: Path, roots: Sequence[bytes], envelope: bytes,
                 content: Path) -> InstallReport:
    """Pin `roots[0]` in `data` (if nothing is pinned), accept the rest, install the release."""
    state = BoxState(data)
    if not state.root_files():
        state.pin_root(roots[0])
    have = state.trusted_root(0).version
    newer = [r for r in roots if keys.parse_root_envelope(r)[1].version > have]
    root = state.accept_roots(newer, NOW) if newer else state.trusted_root(NOW)
    store = Store(data, reserve=0)
    vr = verify_manifest_with(envelope, root, store.active_version, NOW)
    return install_from_folder(store, vr, content, link=False)


def tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular file under `folder` (following the active link), catalog aside."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != CATALOG_NAME}
