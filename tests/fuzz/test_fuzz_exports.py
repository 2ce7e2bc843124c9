"""Fuzz target: USB export folders (a stick is anyone's).

A strategy builds an export from pieces of a valid one (the box's own v1 export and a signed
v2) mixed with regular files of random bytes, symlinks (to /dev/zero, to directories, to
valid files, dangling), FIFOs, directories and sparse files, at the places `import` reads.
Only typed errors escape, no import grows memory past the bound or hangs, and the box's
active release is untouched unless a complete, valid v2 was offered.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from fuzz_world import CHANNEL, Trust
from hypothesis import given
from hypothesis import strategies as st

from keys import P2PDistError
from p2pdist.boxstate import BoxState
from p2pdist.sneakernet import EXPORT_DIR, import_releases
from p2pdist.store import Store
from tests.fuzz_budget import BATCH, Meter, drive
from tests.sneaker_world import tree_digest

pytestmark = pytest.mark.fuzz

THINGS = ("valid", "random", "devzero", "dir-link", "valid-link", "dangling", "fifo",
          "directory", "sparse", "absent")


def _put(kind: str, path: Path, valid: bytes | Path | None, data: bytes) -> None:
    """Put a thing of `kind` at `path` (`valid` is what a good export holds there)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "valid" and isinstance(valid, bytes):
        path.write_bytes(valid)
    elif kind == "valid" and isinstance(valid, Path):
        shutil.copyfile(valid, path)
    elif kind == "random":
        path.write_bytes(data)
    elif kind == "devzero":
        path.symlink_to("/dev/zero")
    elif kind == "dir-link":
        path.symlink_to("/")
    elif kind == "valid-link" and valid is not None:
        src = path.with_name(path.name + ".real")
        if isinstance(valid, bytes):
            src.write_bytes(valid)
        else:
            shutil.copyfile(valid, src)
        path.symlink_to(src.name)
    elif kind == "dangling":
        path.symlink_to("nowhere")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "sparse":
        with path.open("wb") as f:
            f.truncate(1 << 34)


@st.composite
def exports(draw: st.DrawFn, trust: Trust) -> list[tuple[str, str, bytes]]:
    """A recipe: (target, kind, random bytes) for the places an import reads."""
    films = sorted(p.relative_to(trust.content_v2).as_posix()
                   for p in trust.content_v2.rglob("*") if p.is_file())
    targets = ["root.v1", "root.v2", "v1.manifest", "v2.manifest", *[f"v2/{f}" for f in films]]
    recipe = []
    for t in targets:
        kind = draw(st.sampled_from(THINGS)) if draw(st.integers(0, 3)) == 0 else "valid"
        recipe.append((t, kind, draw(st.binary(max_size=64))))
    return recipe


def _build(recipe: list[tuple[str, str, bytes]], trust: Trust, into: Path) -> Path:
    exp = into / EXPORT_DIR
    shutil.copytree(trust.drive / EXPORT_DIR, exp, symlinks=True)
    rel = exp / "releases" / CHANNEL
    for target, kind, data in recipe:
        if target == "root.v1":
            _put(kind, exp / "roots" / "root.v1", trust.keys.root_v1, data)
        elif target == "root.v2":
            _put(kind, exp / "roots" / "root.v2", trust.keys.root_v2, data)
        elif target == "v1.manifest":
            _put(kind, rel / "v1.manifest", trust.manifest_v1, data)
        elif target == "v2.manifest":
            _put(kind, rel / "v2.manifest", trust.manifest_v2, data)
        else:
            film = target.removeprefix("v2/")
            _put(kind, rel / "v2" / film, trust.content_v2 / film, data)
    return into


def _fresh_box(trust: Trust, at: Path) -> tuple[Store, BoxState]:
    shutil.rmtree(at, ignore_errors=True)
    shutil.copytree(trust.box, at, symlinks=True)
    return Store(at, reserve=0), BoxState(at)


def test_fuzz_export_folders(trust: Trust, tmp_path: Path) -> None:
    meter = Meter()
    box = [_fresh_box(trust, tmp_path / "box")]
    before = tree_digest(box[0][0].active_dir(CHANNEL))

    @BATCH
    @given(exports(trust))
    def batch(recipe: list[tuple[str, str, bytes]]) -> None:
        store, state = box[0]
        with tempfile.TemporaryDirectory(dir=tmp_path) as d:
            drive_dir = _build(recipe, trust, Path(d))
            with (meter.measure([r[:2] for r in recipe if r[1] != "valid"]),
                  contextlib.suppress(P2PDistError)):
                import_releases(store, state, drive_dir)
        version = store.active_version(CHANNEL)
        if version == 1:
            assert tree_digest(store.active_dir(CHANNEL)) == before
        else:  # a valid v2 was complete on the drive: it must be exactly v2
            assert version == 2
            assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(trust.content_v2)
            box[0] = _fresh_box(trust, tmp_path / "box")

    drive("export folders", batch, meter)
