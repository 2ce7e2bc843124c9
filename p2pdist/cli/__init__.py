"""The `p2pdist` command line: a thin error boundary over the layers below (STYLE.md point 4).

Known errors (`P2PDistError`) become one plain message on stderr and an exit code; anything else
still shows its traceback, because that is a bug to report.

Exit codes: 0 ok, 1 other p2pdist error, 2 usage or configuration, 3 trust (verification failed),
4 storage, 5 transfer.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from keys import P2PDistError, TrustError

from ..errors import ConfigError, StorageError, TransferError
from ..i18n import _


def exit_code_for(err: P2PDistError) -> int:
    if isinstance(err, ConfigError):
        return 2
    if isinstance(err, TrustError):
        return 3
    if isinstance(err, StorageError):
        return 4
    if isinstance(err, TransferError):
        return 5
    return 1


class ErrorBoundary(click.Group):
    """The top group: turns `P2PDistError` from any subcommand into a message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except P2PDistError as e:
            self._report(ctx, e)
        except BaseExceptionGroup as group:
            # trio nurseries wrap errors in groups; a group of only known errors is still known.
            known, rest = group.split(P2PDistError)
            if known is None or rest is not None:
                raise
            self._report(ctx, _first_leaf(known))

    @staticmethod
    def _report(ctx: click.Context, e: BaseException) -> None:
        assert isinstance(e, P2PDistError)
        kind = type(e).__name__
        click.echo(_("error ({kind}): {msg}").format(kind=kind, msg=e), err=True)
        ctx.exit(exit_code_for(e))


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


@click.group(cls=ErrorBoundary)
@click.version_option(package_name="p2pdist")
def cli() -> None:
    """p2pdist: signed releases for resource service boxes, shared peer to peer."""


def _register() -> None:
    from . import agent_cmd  # noqa: F401  (adds box init / box run)
    from .box_cmd import box_group, seed
    from .demo_cmd import demo
    from .keys_cmd import keys_group
    from .release_cmd import release_group
    from .sample_cmd import sample
    from .sneakernet_cmd import export, import_
    from .tech_cmd import discover, doctor, library, peers, status, verify

    cli.add_command(keys_group)
    cli.add_command(release_group)
    cli.add_command(sample)
    cli.add_command(demo)
    cli.add_command(box_group)
    cli.add_command(seed)
    cli.add_command(export)
    cli.add_command(import_)
    for command in (status, peers, discover, verify, library, doctor):
        cli.add_command(command)


_register()


def main() -> None:
    sys.exit(cli.main(prog_name="p2pdist"))


__all__ = ["cli", "exit_code_for", "main"]
