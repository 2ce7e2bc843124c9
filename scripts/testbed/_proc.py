"""Processes inside a testbed namespace: `p2pdist.childproc.Child` run through
``ip netns exec NS`` (which execs, so `pid` is the process itself and teardown can kill it by
PID), with proxy settings removed so nothing is ever sent towards a proxy outside the testbed.
"""

from __future__ import annotations

import os
import time
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
                 stdout_path: Path | None = None, log_path: Path | None = None) -> None:
        self.ns = ns
        self.log_path = log_path
        self._log = log_path.open("a", encoding="utf-8") if log_path else None
        super().__init__(argv, name=name, env=clean_env(env), inherit_env=False, cwd=cwd,
                         command=["ip", "netns", "exec", ns], stdout_path=stdout_path)

    def _read_stderr(self) -> None:
        """Besides the tail and the traceback count, every stderr line goes to `log_path`,
        stamped with the parent's monotonic clock (timelines read when a log line came)."""
        if self._log is None:
            super()._read_stderr()
            return
        assert self.proc.stderr is not None
        with self._log:
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip()
                self.tracebacks += "Traceback" in line
                self._stderr.append(line)
                del self._stderr[:-50]
                self._log.write(f"{time.monotonic():.3f} {line}\n")
                self._log.flush()


__all__ = ["Event", "NsProc", "NsProcError", "clean_env", "stop_all"]
