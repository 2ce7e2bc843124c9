"""Processes inside a testbed namespace: `p2pdist.childproc.Child` run through
``ip netns exec NS`` (which execs, so `pid` is the process itself and teardown can kill it by
PID), with proxy settings removed so nothing is ever sent towards a proxy outside the testbed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from p2pdist.childproc import Child, ChildError, Event, stop_all

# Children must never reach a proxy outside the namespaces (curl and httpx honour these).
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
               "ALL_PROXY", "no_proxy", "NO_PROXY")

NsProcError = ChildError


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without proxy settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class NsProc(Child):
    """One process in namespace `ns`; `{...}` lines of its stdout become stamped events."""

    def __init__(self, ns: str, argv: Sequence[str | os.PathLike[str]], *, name: str,
                 env: dict[str, str] | None = None, cwd: Path | None = None,
                 stdout_path: Path | None = None) -> None:
        self.ns = ns
        super().__init__(argv, name=name, env=clean_env(env), inherit_env=False, cwd=cwd,
                         command=["ip", "netns", "exec", ns], stdout_path=stdout_path)


__all__ = ["Event", "NsProc", "NsProcError", "clean_env", "stop_all"]
