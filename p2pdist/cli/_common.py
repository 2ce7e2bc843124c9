"""Helpers shared by the CLI commands: passphrases, atomic writes, sizes, the console."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from keys import SigningKey, load_signing_key

from ..errors import ConfigError
from ..i18n import _
from ..safe_read import read_bounded

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

DEFAULT_DATA = "/var/lib/p2pdist"
data_option = click.option(
    "--data", "data", type=click.Path(file_okay=False, path_type=Path),
    envvar="P2PDIST_DATA", default=DEFAULT_DATA, show_default=True,
    help=_("The box's data directory (or $P2PDIST_DATA)."))

JSON_META = "p2pdist.json"
JSON_PRINTED_META = "p2pdist.json-printed"


def _remember_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    # `meta` is shared by every context of one invocation: the error boundary reads it to
    # answer a failing `--json` command with a JSON error object instead of an empty stdout.
    if value:
        ctx.meta[JSON_META] = True
    return value


F = TypeVar("F", bound=Callable[..., Any])


def json_option(help: str | None = None) -> Callable[[F], F]:
    """The `--json` flag of every command (parameter `as_json`), known to the error boundary."""
    return click.option("--json", "as_json", is_flag=True,
                        help=help or _("Print one JSON object."), callback=_remember_json)


def print_json(obj: Any) -> None:
    """One JSON object on stdout; the error boundary then adds no second (error) object."""
    click.echo(json.dumps(obj, ensure_ascii=False))
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[JSON_PRINTED_META] = True


def box_data_dir(data: Path) -> Path:
    """`data` if it is a box's data directory (`box init` pinned a root there), else refuse.

    Reading commands must not answer "nothing here" about a folder that was never a box, nor
    create store folders in it.

    Raises:
        ConfigError: neither state/roots/ nor box.toml is there.
    """
    from ..config import CONFIG_NAME  # here: the config pulls in the swarm (libtorrent)

    if not (data / "state" / "roots").is_dir() and not (data / CONFIG_NAME).is_file():
        raise ConfigError(
            _("{dir} is not a p2pdist box data directory (no state/roots/ nor {config}): run "
              "`p2pdist box init --data {dir}` first, or give the right --data").format(
                dir=data, config=CONFIG_NAME))
    return data


passphrase_file_option = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=_("File whose first line is the key's passphrase (else $P2PDIST_PASSPHRASE)."),
)


def read_passphrase(passphrase_file: Path | None) -> bytes | None:
    """The passphrase from --passphrase-file or $P2PDIST_PASSPHRASE, or None."""
    if passphrase_file is not None:
        try:
            line = passphrase_file.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(
                _("cannot read passphrase file {path}: {err}").format(
                    path=passphrase_file, err=e.strerror
                )
            ) from e
        return line[0].encode() if line and line[0] else None
    env = os.environ.get("P2PDIST_PASSPHRASE")
    return env.encode() if env else None


def _is_encrypted(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return b"ENCRYPTED" in f.read(64)
    except OSError:
        return False  # load_signing_key names the problem


def load_key(path: Path, passphrase_file: Path | None) -> SigningKey:
    """The private key at `path`; an encrypted one with no passphrase given asks for it (hidden)
    when a person is at a terminal, and otherwise fails naming --passphrase-file."""
    passphrase = read_passphrase(passphrase_file)
    if passphrase is None and _is_encrypted(path) and sys.stdin.isatty():
        typed: str = click.prompt(_("passphrase for {path}").format(path=path), hide_input=True)
        passphrase = typed.encode() or None
    return load_signing_key(path, passphrase)


def read_file(path: Path, what: str, limit: int) -> bytes:
    """A file the technician named: a regular file (symlinks followed) of at most `limit`."""
    return read_bounded(path, limit, what, follow_symlinks=True)


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def human_duration(seconds: int) -> str:
    h, rem = divmod(seconds, 3600)
    m = rem // 60
    if h:
        return _("{h}h{m:02d}m").format(h=h, m=m)
    return _("{m}m").format(m=m)
