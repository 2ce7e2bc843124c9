"""`p2pdist demo`: the national center's release workflow end to end, on sample content.

It runs the same commands an operator types (see README), in a fresh folder, then shows two
hostile inputs being refused. Later layers extend the demo to the swarm.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from keys import P2PDistError

from ..errors import ConfigError
from ..i18n import _
from . import keys_cmd, release_cmd
from ._common import console
from .sample_cmd import sample

MARKER = ".p2pdist-demo"


def _fresh_dir(out: Path) -> None:
    if out.exists():
        if not (out / MARKER).exists():
            raise ConfigError(
                _("{dir} exists and was not made by `p2pdist demo`; choose another --out")
                .format(dir=out))
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("made by p2pdist demo; deleted by the next run\n")


def _step(text: str) -> None:
    console.rule(f"[bold]{text}")


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-out"), show_default=True, help="Working folder (recreated).")
@click.option("--size", default="200MB", show_default=True, help="Sample bundle size.")
@click.pass_context
def demo(ctx: click.Context, out: Path, size: str) -> None:
    """Run the release workflow on a sample bundle and show what each step did."""
    _fresh_dir(out)
    k = out / "keys"
    k.mkdir()
    _step(_("1. the center makes its keys: two root keys (kept offline) and a release key"))
    for name in ("root-a", "root-b", "release-national"):
        ctx.invoke(keys_cmd.generate, path=k / name)
    _step(_("2. trust root v1: 2 of 2 root keys; the release key may sign national/..."))
    root = out / "root.v1"
    ctx.invoke(keys_cmd.root_init, root_keys=(k / "root-a.pub", k / "root-b.pub"), threshold=2,
               release_keys=(k / "release-national.pub",), release_threshold=1,
               channels=("national/",), role_name="national", expires=365, out=root)
    for name in ("root-a", "root-b"):
        ctx.invoke(keys_cmd.root_sign, root_file=root, key_path=k / name)
    _step(_("3. sample content shaped like the campaign (titles from the source document)"))
    content = out / "bundle"
    ctx.invoke(sample, out_dir=content, size=size, seed=0)
    _step(_("4. build and sign the release manifest"))
    mf = out / "winter-2027.v1.manifest"
    ctx.invoke(release_cmd.build, content_dir=content, channel="national/winter-2027",
               version=1, catalog_path=content / "catalog.toml", expires=90, seeders=(), out=mf)
    ctx.invoke(release_cmd.sign, manifest_file=mf, key_path=k / "release-national")
    _step(_("5. a box verifies it against the pinned root, content included"))
    ctx.invoke(release_cmd.verify, manifest_file=mf, roots=(root,), content_dir=content,
               last_version=None)
    ctx.invoke(release_cmd.show, manifest_file=mf, as_json=False)
    _step(_("6. hostile inputs are refused"))
    bad = out / "tampered.manifest"
    data = bytearray(mf.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    _expect_refusal(ctx, _("a manifest with one flipped bit"), bad, root, None)
    _expect_refusal(ctx, _("a replay of v1 to a box that trusts v2 (rollback)"), mf, root, 2)
    console.print(_("[green]demo done[/green]: everything is in {dir}").format(dir=out))


def _expect_refusal(ctx: click.Context, what: str, mf: Path, root: Path,
                    last: int | None) -> None:
    try:
        ctx.invoke(release_cmd.verify, manifest_file=mf, roots=(root,), content_dir=None,
                   last_version=last)
    except P2PDistError as e:
        console.print(_("refused {what}: {kind}: {msg}").format(
            what=what, kind=type(e).__name__, msg=e))
        return
    raise AssertionError(f"the demo expected {what} to be refused")
