"""The small pieces every test world and bench builds on: the CLI run in-process, a one-key
trust root, a built and signed release, a free port, and the one bounded poll of a condition
that tests wait with.

One copy for tests/ and bench/ (benches put the repository on sys.path and import
`tests.world`). Each helper takes the CLI runner as an argument where a caller must run the
real `p2pdist` process instead (bench/scale.py measures processes).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from click.testing import CliRunner

from p2pdist.cli import cli

T = TypeVar("T")

Runner = Callable[..., Any]
"""Runs `p2pdist ARGS` and fails loudly if it exits non-zero."""


def run_cli(*args: str | Path) -> str:
    """`p2pdist ARGS` in this process; its output. Raises AssertionError naming the command and
    its output when it exits non-zero."""
    r = CliRunner().invoke(cli, [str(a) for a in args])
    assert r.exit_code == 0, (f"p2pdist {' '.join(map(str, args))} exited {r.exit_code}",
                              r.output, r.exception)
    return r.output


def make_trust_root(
    d: Path,
    run: Runner = run_cli,
    *,
    root_key: str = "root",
    release_key: str = "release",
    extra_keys: tuple[str, ...] = (),
) -> Path:
    """Generate a root key and a release key (plus `extra_keys`) in `d`, write root v1 (one
    root key, threshold 1, the release key delegated ``national/``) signed by the root key.

    Returns the signed root's path, `d/root.v1`.
    """
    for k in (root_key, release_key, *extra_keys):
        run("keys", "generate", d / k)
    run("keys", "root", "init", "--root-key", d / f"{root_key}.pub", "--threshold", "1",
        "--release-key", d / f"{release_key}.pub", "--release-threshold", "1",
        "--channel", "national/", "--out", d / "root.v1")
    run("keys", "root", "sign", d / "root.v1", "--key", d / root_key)
    return d / "root.v1"


def build_signed(
    content: Path, channel: str, version: int, out: Path, key: Path, run: Runner = run_cli
) -> Path:
    """`release build` of `content` (its catalog.toml) as `channel` v`version` into `out`,
    then `release sign` with `key`; returns `out`."""
    run("release", "build", content, "--channel", channel, "--version", str(version),
        "--catalog", content / "catalog.toml", "--out", out)
    run("release", "sign", out, "--key", key)
    return out


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now (for a daemon that must come back on the same address)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], T], timeout: float, what: str, *, every: float = 0.2,
               ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Ask `check` every `every` seconds until it returns something truthy, and return that.

    Tests wait on a condition, bounded, never for a fixed time. `check` may raise to stop the
    wait at once (a daemon that died); exceptions in `ignore` count as "not yet".

    Raises:
        AssertionError: no truthy answer within `timeout`, naming `what` and the last answer.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            answer = check()
        except ignore as e:
            last = e
        else:
            if answer:
                return answer
            last = answer
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:g} s (last: {last!r})")
        time.sleep(every)


def holds_for(check: Callable[[], bool], seconds: float, what: str, *,
              every: float = 0.2) -> None:
    """Ask `check` every `every` seconds for `seconds`; fail the first time it is false (a
    thing that must not happen, watched over a span)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert check(), what
        time.sleep(every)
