"""Files that are not regular files, or are too big, cost nothing before a typed refusal
(issue 11 item 1): the bounded reader, the CLI's file arguments and USB exports."""

from __future__ import annotations

import os
import resource
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sneaker_world import CHANNEL, build_signed, install_into, make_keys, tree_digest

from keys import MAX_ROOT_BYTES, P2PDistError, SizeLimitError
from manifest import MAX_ENVELOPE_BYTES
from p2pdist.boxstate import BoxState
from p2pdist.cli import cli
from p2pdist.safe_read import NotRegularFileError, read_bounded
from p2pdist.sample import write_sample
from p2pdist.sneakernet import EXPORT_DIR, export_releases, import_releases
from p2pdist.store import Store


def _make(kind: str, path: Path, limit: int) -> None:
    """Put a hostile thing of `kind` at `path`."""
    path.unlink(missing_ok=True)
    if kind == "devzero":
        path.symlink_to("/dev/zero")
    elif kind == "symlink":
        target = path.with_name(path.name + ".target")
        target.write_bytes(b"x")
        path.symlink_to(target)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "sparse":
        with path.open("wb") as f:
            f.truncate(1 << 30)
    elif kind == "one-too-big":
        path.write_bytes(bytes(limit + 1))


KINDS = ["devzero", "symlink", "fifo", "directory", "sparse", "one-too-big"]


@pytest.mark.parametrize("kind", KINDS)
def test_bounded_reader_refuses_with_a_typed_error(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "thing"
    _make(kind, p, 1000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    expected = SizeLimitError if kind in ("sparse", "one-too-big") else NotRegularFileError
    with pytest.raises(expected, match="thing"):
        read_bounded(p, 1000, "manifest")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024


def test_bounded_reader_reads_a_regular_file_and_follows_only_when_asked(tmp_path: Path) -> None:
    p = tmp_path / "ok"
    p.write_bytes(b"abc")
    assert read_bounded(p, 3, "manifest") == b"abc"
    link = tmp_path / "link"
    link.symlink_to(p)
    assert read_bounded(link, 3, "manifest", follow_symlinks=True) == b"abc"
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")
    with pytest.raises(NotRegularFileError, match="device"):
        read_bounded(zero, 3, "manifest", follow_symlinks=True)


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, Path]:
    d = tmp_path_factory.mktemp("hostile-export")
    k = make_keys()
    content = write_sample(d / "c1", 300_000, seed=5).root
    install_into(d / "box", [k.root_v1], build_signed(content, CHANNEL, 1, k.release), content)
    export_releases(Store(d / "box", reserve=0), BoxState(d / "box").chain(), d / "drive")
    return d / "drive", k.root_v1, content


@pytest.mark.parametrize("target", ["manifest", "root"])
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_export_is_refused_and_the_active_release_kept(
        drive: tuple[Path, bytes, Path], tmp_path: Path, kind: str, target: str) -> None:
    src, root, content = drive
    box = tmp_path / "box"
    state = BoxState(box)
    state.pin_root(root)
    store = Store(box, reserve=0)
    import_releases(store, state, src)
    copy = tmp_path / "drive"
    shutil.copytree(src, copy)
    exp = copy / EXPORT_DIR
    if target == "manifest":
        _make(kind, exp / "releases" / CHANNEL / "v1.manifest", MAX_ENVELOPE_BYTES)
    else:
        _make(kind, exp / "roots" / "root.v2", MAX_ROOT_BYTES)
    with pytest.raises(P2PDistError):
        import_releases(store, state, copy)
    assert store.active_version(CHANNEL) == 1
    assert tree_digest(store.active_dir(CHANNEL)) == tree_digest(content)


@pytest.mark.parametrize("kind", ["devzero", "fifo", "directory", "sparse"])
def test_cli_manifest_argument_that_is_not_a_file_is_one_line(tmp_path: Path, kind: str) -> None:
    p = tmp_path / "v1.manifest"
    _make(kind, p, MAX_ENVELOPE_BYTES)
    result = CliRunner().invoke(cli, ["release", "show", str(p)])
    assert "Traceback" not in result.output
    assert result.exit_code != 0 and str(p) in result.output
