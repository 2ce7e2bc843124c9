"""The signed releases the update-time benchmark moves, and how a box's copy is checked.

One key set and trust root; v1 (the sample bundle, F bytes) and v2 (the same bundle with a few
films replaced, what an update moves). Both are built and signed with the real release workflow;
v1 is published to the origin's store only when a start mode says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from manifest import Manifest, decode_envelope
from p2pdist.cli import cli
from p2pdist.sample import write_sample

CHANNEL = "national/update-bench"
CHANGED_FILMS = 12
"""Films that v2 replaces (about half the bytes: films are the big files, see `write_sample`)."""


@dataclass(frozen=True)
class Release:
    """One signed version: its manifest file, content folder and file table."""

    version: int
    manifest: Path
    content: Path
    files: dict[str, tuple[int, str]]  # path -> (size, sha256 hex)

    @property
    def size(self) -> int:
        return sum(s for s, _ in self.files.values())


@dataclass(frozen=True)
class World:
    """Keys, the pinned root and the releases (host paths; every namespace sees the same fs)."""

    work: Path
    root: Path
    releases: dict[int, Release]
    channel: str = CHANNEL

    @property
    def v1(self) -> Release:
        return self.releases[1]

    @property
    def size(self) -> int:
        return self.v1.size

    # Kept for the HTTP modes, which move v1.
    @property
    def content(self) -> Path:
        return self.v1.content

    @property
    def files(self) -> dict[str, tuple[int, str]]:
        return self.v1.files

    @property
    def relpaths(self) -> list[str]:
        return sorted(self.v1.files)

    def changed_bytes(self, old: int, new: int) -> int:
        """Bytes of `new` whose content `old` does not hold (what an update must move)."""
        have = {h for _s, h in self.releases[old].files.values()}
        return sum(s for s, h in self.releases[new].files.values() if h not in have)

    def publish(self, version: int, data: Path) -> None:
        """`p2pdist release publish` of `version` into the store at `data` (an origin's)."""
        r = self.releases[version]
        run_cli("release", "publish", r.manifest, "--content", r.content, "--to", data,
                "--root", self.root)


def run_cli(*args: str | Path) -> str:
    """Run one `p2pdist` command in this process; exit with its output when it fails."""
    r = CliRunner().invoke(cli, [str(a) for a in args])
    if r.exit_code != 0:
        raise SystemExit(f"p2pdist {' '.join(map(str, args))} failed:\n{r.output}")
    return r.output


def _release(work: Path, content: Path, version: int) -> Release:
    m = work / f"release-v{version}.manifest"
    run_cli("release", "build", content, "--channel", CHANNEL, "--version", str(version),
            "--catalog", content / "catalog.toml", "--out", m)
    run_cli("release", "sign", m, "--key", work / "release")
    body = Manifest.decode_body(decode_envelope(m.read_bytes()).signed)
    files = {f.path: (f.size, bytes(f.sha256).hex()) for f in body.files}
    return Release(version, m, content, files)


def make_world(work: Path, size: int, *, versions: int = 2) -> World:
    """Keys, root, v1 of `size` bytes (and v2 with `CHANGED_FILMS` films replaced), signed."""
    for k in ("root", "release"):
        run_cli("keys", "generate", work / k)
    run_cli("keys", "root", "init", "--root-key", work / "root.pub", "--threshold", "1",
            "--release-key", work / "release.pub", "--release-threshold", "1",
            "--channel", "national/", "--out", work / "root.v1")
    run_cli("keys", "root", "sign", work / "root.v1", "--key", work / "root")
    releases = {}
    for v in range(1, versions + 1):
        content = work / f"content-v{v}"
        write_sample(content, size, seed=11, change_films=0 if v == 1 else CHANGED_FILMS)
        releases[v] = _release(work, content, v)
    return World(work, work / "root.v1", releases)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_tree(files: dict[str, tuple[int, str]], top: Path) -> bool:
    """True when `top` holds every file of the table, byte-identical (by SHA-256)."""
    try:
        return all((top / p).is_file() and (top / p).stat().st_size == s
                   and _sha256(top / p) == h for p, (s, h) in files.items())
    except OSError:
        return False


def verify_all(files: dict[str, tuple[int, str]], tops: Sequence[Path]) -> list[bool]:
    with ThreadPoolExecutor(2) as ex:
        return list(ex.map(lambda t: verify_tree(files, t), tops))
