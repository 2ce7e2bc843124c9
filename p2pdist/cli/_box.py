"""`p2pdist box ...`: the box's own commands, loaded when used."""

from __future__ import annotations

import click

from ._lazy import LazyGroup


@click.group("box", cls=LazyGroup, lazy={"fetch": "box_cmd:fetch", "init": "agent_cmd:init",
                                          "run": "agent_cmd:run"})
def box_group() -> None:
    """The box: set it up, run its daemon, or fetch a release by hand."""
