"""Processes inside a testbed namespace, with JSON-line events stamped on arrival.

`p2pdist.childproc.Child` runs `python -m p2pdist` on the host; here every process must start
inside a namespace (`ip netns exec NS ...`, which execs, so `Popen.pid` is the process itself and
teardown can kill it by PID). Events are stamped with `time.monotonic()` by the reader thread as
they arrive, so a benchmark that collects them later still knows when each box finished.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Event = dict[str, Any]

# Children must never reach a proxy outside the namespaces (curl and httpx honour these).
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY",
               "ALL_PROXY", "no_proxy", "NO_PROXY")


class NsProcError(RuntimeError):
    """A process exited or did not report the awaited event in time (stderr tail included)."""


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without proxy settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class NsProc:
    """One process in a namespace; parses `{...}` lines of its stdout into stamped events."""

    def __init__(self, ns: str, argv: Sequence[str | os.PathLike[str]], *, name: str,
                 env: dict[str, str] | None = None, cwd: Path | None = None,
                 stdout_path: Path | None = None) -> None:
        self.name = name
        self.ns = ns
        self.started = time.monotonic()
        self.exited_at: float | None = None
        self._events: queue.Queue[Event | None] = queue.Queue()
        self.events: list[Event] = []
        self._stderr: list[str] = []
        out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE  # noqa: SIM115
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *[str(a) for a in argv]],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
            env=clean_env(env), cwd=cwd,
            start_new_session=True,  # Ctrl-C reaches the parent only; teardown stops us
        )
        if stdout_path:
            out.close()  # type: ignore[union-attr]
            self._events.put(None)
        else:
            threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("{"):
                try:
                    ev = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(ev, dict):
                    ev["_t"] = time.monotonic()
                    self._events.put(ev)
        self._events.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip())
            del self._stderr[:-50]

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr[-15:])

    def wait_event(self, kind: str, timeout: float,
                   where: Callable[[Event], bool] | None = None) -> Event:
        """The next event of `kind` (matching `where`), waiting at most `timeout` seconds.

        Raises:
            NsProcError: the process ended or the time ran out first.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NsProcError(f"{self.name}: no {kind!r} event within {timeout:.0f}s\n"
                                  f"{self.stderr_tail}")
            try:
                ev = self._events.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if ev is None:
                self._events.put(None)
                raise NsProcError(f"{self.name} exited ({self.proc.wait()}) before {kind!r}:\n"
                                  f"{self.stderr_tail}")
            self.events.append(ev)
            if ev.get("event") == kind and (where is None or where(ev)):
                return ev

    def poll(self) -> int | None:
        """Exit code, or None while running; stamps the exit time the first time it is seen."""
        rc = self.proc.poll()
        if rc is not None and self.exited_at is None:
            self.exited_at = time.monotonic()
        return rc

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def stop_all(procs: Sequence[NsProc], grace: float = 8.0) -> None:
    """SIGTERM every process first (they shut down in parallel), then SIGKILL stragglers."""
    for p in procs:
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.proc.kill()
            p.proc.wait(5)
