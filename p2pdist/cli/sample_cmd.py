"""`p2pdist sample DIR`: write the campaign-shaped sample bundle and its catalog."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from ..i18n import _
from ..sample import parse_size, write_sample
from ._common import console, human_size


@click.command("sample")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--size", default="200MB", show_default=True, help=_("Total size, e.g. 200MB, 1GB."))
@click.option("--seed", type=int, default=0, show_default=True,
              help=_("Same seed, same bytes (useful for reproducible benchmarks)."))
def sample(out_dir: Path, size: str, seed: int) -> None:
    """Write a sample bundle like the campaign's: 18 courses, 25 films, a handbook."""
    total = parse_size(size)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(_("writing sample"), total=total)
        summary = write_sample(out_dir, total, seed=seed,
                               progress=lambda done, tot: bar.update(task, completed=done,
                                                                     total=tot))
    console.print(_("wrote {n} files ({size}) to {dir}; catalog: {cat}").format(
        n=summary.files, size=human_size(summary.total_bytes), dir=out_dir,
        cat=summary.catalog))
