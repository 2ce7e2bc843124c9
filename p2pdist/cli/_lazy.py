"""A click group whose subcommands are imported when used, not at start.

A box's `p2pdist box fetch` process should not carry the HTTP server, zeroconf and the seeder in
memory (about 17 MB here), and `p2pdist --help` should not import libtorrent.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from ._lang import translate_help


class LazyGroup(click.Group):
    """`lazy` maps a command name to "module:attribute" under `p2pdist.cli`."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _sep, attr = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(f"p2pdist.cli.{module}"), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            translate_help(command)
            self.commands[cmd_name] = command
        return super().get_command(ctx, cmd_name)
