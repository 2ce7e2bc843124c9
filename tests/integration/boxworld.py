"""Helpers for box-level integration tests: the signed release world, child processes.

v2 changes 5 of the 24 film files of v1 (same seed otherwise), so an update from v1 to v2 should
move only those bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from keys import load_trust
from manifest import Manifest, VerifiedRelease, decode_envelope, verify_manifest
from p2pdist.childproc import Child

BUNDLE = 24_000_000



@dataclass(frozen=True)
class World:
    dir: Path
    root: Path
    content1: Path
    content2: Path
    manifest1: Path
    manifest2: Path
    origin: Path
    """Seeds v1."""
    origin2: Path
    """Seeds v2."""

    def release(self, which: int) -> VerifiedRelease:
        path = self.manifest1 if which == 1 else self.manifest2
        root = load_trust(self.root.read_bytes(), [], 2_000_000_000 - 10**9)
        return verify_manifest(path.read_bytes(), root, None, 2_000_000_000 - 10**9)

    def manifest(self, which: int) -> Manifest:
        path = self.manifest1 if which == 1 else self.manifest2
        return Manifest.decode_body(decode_envelope(path.read_bytes()).signed)


class Procs:
    """Starts children and stops every one of them at teardown."""

    def __init__(self) -> None:
        self.children: list[Child] = []

    def start(self, *args: str | Path, name: str = "") -> Child:
        c = Child(args, name=name)
        self.children.append(c)
        return c

    def seeder(self, data: Path, ip: str = "127.0.0.1", *extra: str) -> tuple[Child, int]:
        c = self.start("seed", "--data", data, "--listen", f"{ip}:0", "--json", *extra,
                       name="seeder")
        return c, int(c.wait_event("listening", 30)["port"])

    def box(self, w: World, data: Path, ip: str, *extra: str | Path, which: int = 1,
            name: str = "box") -> Child:
        return self.start("box", "fetch", w.manifest1 if which == 1 else w.manifest2,
                          "--data", data, "--root", w.root, "--listen", f"{ip}:0",
                          "--reserve", "1MiB", "--json", *extra, name=name)


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "catalog.toml"}
