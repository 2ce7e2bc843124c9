"""`p2pdist export PATH` and `p2pdist import PATH`: releases on a USB drive, for boxes offline."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from keys import MAX_ROOT_BYTES

from ..boxstate import BoxState
from ..config import CONFIG_NAME, BoxConfig
from ..errors import ConfigError
from ..i18n import _
from ..install import InstallReport
from ..sneakernet import NotFollowed, export_releases, import_releases
from ..store import Store
from ._common import console, human_size, read_file

data_option = click.option("--data", "data", required=True,
                           type=click.Path(file_okay=False, path_type=Path),
                           help=_("The box's data directory."))


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=console, transient=True)


@click.command("export")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@data_option
@click.option("--channel", "channels", multiple=True, help=_("Only these channels (repeat)."))
@click.option("--root", "roots", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("Trust roots to include (pinned first) instead of the box's own."))
@click.option("--create", is_flag=True,
              help=_("Create PATH if missing (by default it must exist: a mounted drive)."))
def export(path: Path, data: Path, channels: tuple[str, ...], roots: tuple[Path, ...],
           create: bool) -> None:
    """Write the active release(s), their signed manifests and the trust roots to PATH."""
    if not create and not path.is_dir():
        raise ConfigError(_("the export target {path} does not exist or is not a folder (is the "
                            "USB drive mounted?); mount it, or pass --create to make the "
                            "folder").format(path=path))
    store = Store(data)
    chain = ([read_file(r, _("trust root"), MAX_ROOT_BYTES) for r in roots] if roots
             else BoxState(data).chain())
    with _bar() as bar:
        task = bar.add_task(_("exporting"), total=None)
        report = export_releases(store, chain, path, channels=list(channels) or None,
                                 progress=lambda d, t: bar.update(task, completed=d, total=t))
    for ch, v in report.releases:
        console.print(_("exported {channel} v{v}").format(channel=ch, v=v))
    console.print(_("{size} written to {dir}").format(size=human_size(report.bytes),
                                                      dir=report.folder))
    console.print(_("everything is on the disk: the drive at {path} is safe to unplug").format(
        path=path))


@click.command("import")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@data_option
@click.option("--root", "root", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("Pin this trust root first (a box that was never initialised)."))
@click.option("--follow", "follow", multiple=True,
              help=
                  _("Follow this channel from now on (added to box.toml) and import it (repeat)."))
def import_(path: Path, data: Path, root: Path | None, follow: tuple[str, ...]) -> None:
    """Verify the releases under PATH against this box's trust root and activate them.

    A box with a box.toml imports only the channels it follows (or those given with --follow).
    """
    state = BoxState(data)
    if root is not None:
        state.pin_root(read_file(root, _("trust root"), MAX_ROOT_BYTES))
    followed: frozenset[str] | None = None
    if (data / CONFIG_NAME).is_file():
        config = BoxConfig.load(data)
        extra = tuple(c for c in follow if c not in config.channels)
        if extra:
            config = dataclasses.replace(config, channels=(*config.channels, *extra))
            config.save(data)
        followed = frozenset(config.channels)
    store = Store(data)
    with _bar() as bar:
        task = bar.add_task(_("verifying and copying"), total=None)
        results = import_releases(store, state, path, followed=followed,
                                  progress=lambda d, t: bar.update(task, completed=d, total=t))
    for r in results:
        if isinstance(r, InstallReport):
            console.print(_("activated {channel} v{v}: {n} files, {copied} copied, {reused} "
                            "reused").format(channel=r.channel, v=r.version, n=r.files,
                                             copied=human_size(r.bytes_copied),
                                             reused=human_size(r.bytes_reused)))
        else:
            console.print(r)
    if results and not any(isinstance(r, InstallReport) for r in results) and any(
            isinstance(r, NotFollowed) for r in results):
        raise ConfigError(_("nothing imported: the drive holds only channels this box does not "
                            "follow; add one with --follow CHANNEL"))
