"""The `p2pdist` command line: a thin error boundary over the layers below (STYLE.md point 4).

Known errors (`P2PDistError`) become one plain message on stderr and an exit code (and, under
`--json`, `{"error": {"type", "message", "exit_code"}}` on stdout); anything else
still shows its traceback, because that is a bug to report.

Exit codes: 0 ok, 1 other p2pdist error, 2 usage or configuration, 3 trust (verification failed),
4 storage, 5 transfer.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from keys import P2PDistError, TrustError

from ..errors import ConfigError, StorageError, TransferError, first_known_error
from ..i18n import _
from ._common import JSON_META, JSON_PRINTED_META
from ._lang import choose_language, lang_option, translate_help
from ._lazy import LazyGroup


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


ARGS_META = "p2pdist.args"


class ErrorBoundary(LazyGroup):
    """The top group: turns `P2PDistError` from any subcommand into a message and exit code."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        given = list(args)  # before parsing consumes them: a usage error may precede --json
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta[ARGS_META] = given
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            # click's own errors (missing option, bad value, no such command): a tool that asked
            # for JSON still gets the error object on stdout; click prints usage on stderr.
            given = ctx.meta.get(ARGS_META, [])
            words = given[:given.index("--")] if "--" in given else given
            if "--json" in words:
                error = {"type": type(e).__name__, "message": e.format_message(),
                         "exit_code": e.exit_code}
                click.echo(json.dumps({"error": error}, ensure_ascii=False))
            raise
        except P2PDistError as e:
            self._report(ctx, e)
        except BaseExceptionGroup as group:
            # trio nurseries wrap errors in groups; a group of only known errors is still known.
            known = first_known_error(group)
            if known is None:
                raise
            self._report(ctx, known)

    @staticmethod
    def _report(ctx: click.Context, e: BaseException) -> None:
        assert isinstance(e, P2PDistError)
        kind = type(e).__name__
        code = exit_code_for(e)
        click.echo(_("error ({kind}): {msg}").format(kind=kind, msg=e), err=True)
        if ctx.meta.get(JSON_META) and not ctx.meta.get(JSON_PRINTED_META):
            # a tool that asked for JSON parses stdout: give it the error, never an empty line
            error = {"type": kind, "message": str(e), "exit_code": code}
            click.echo(json.dumps({"error": error}, ensure_ascii=False))
        ctx.exit(code)


COMMANDS = {
    "keys": "keys_cmd:keys_group",
    "release": "release_cmd:release_group",
    "sample": "sample_cmd:sample",
    "demo": "demo_cmd:demo",
    "box": "_box:box_group",
    "seed": "box_cmd:seed",
    "export": "sneakernet_cmd:export",
    "import": "sneakernet_cmd:import_",
    "status": "tech_cmd:status",
    "peers": "tech_cmd:peers",
    "discover": "tech_cmd:discover",
    "verify": "tech_cmd:verify",
    "library": "tech_cmd:library",
    "doctor": "tech_cmd:doctor",
    "seeder": "seeder_cmd:seeder_group",
}


@click.group(cls=ErrorBoundary, lazy=COMMANDS)
@click.version_option(package_name="p2pdist")
@lang_option
def cli() -> None:
    """p2pdist: signed releases for resource service boxes, shared peer to peer."""


def main() -> None:
    choose_language(sys.argv[1:])
    translate_help(cli)
    sys.exit(cli.main(prog_name="p2pdist"))


__all__ = ["cli", "exit_code_for", "main"]
