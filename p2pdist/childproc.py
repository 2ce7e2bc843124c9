"""Child p2pdist processes that report JSON lines: the demo, benchmarks and tests run boxes and
seeders as real processes through this.

Each child is `python -m p2pdist ... --json`; a reader thread parses its stdout into events, so
the parent waits on an event with a deadline instead of sleeping, and a stuck child can never
hang the parent. `stop()` sends SIGTERM, then SIGKILL after a grace period; `kill()` is the power
cut.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .i18n import _

Event = dict[str, Any]


class ChildError(RuntimeError):
    """A child exited or did not report the awaited event in time (stderr tail included)."""


class Child:
    """One `python -m p2pdist ARGS` process (or `command + ARGS`) with its JSON-line events.

    Each event is stamped with the parent's `time.monotonic()` on arrival (key ``_t``), so a
    benchmark that reads events later still knows when they happened.

    Args:
        args: the command's arguments.
        name: for messages.
        env: variables added to the parent's environment (or the whole environment when
            `inherit_env` is False).
        cwd: the working directory.
        command: what to run instead of ``python -m p2pdist`` (e.g. ``ip netns exec NS``
            followed by a program).
        stdout_path: write stdout to this file instead of parsing events from it.
    """

    def __init__(self, args: Sequence[str | os.PathLike[str]], *, name: str = "",
                 env: dict[str, str] | None = None, cwd: Path | None = None,
                 command: Sequence[str] | None = None, stdout_path: Path | None = None,
                 inherit_env: bool = True) -> None:
        self.name = name or str(args[0])
        self.args = [str(a) for a in args]
        self.started = time.monotonic()
        self.exited_at: float | None = None
        self._events: queue.Queue[Event | None] = queue.Queue()
        self.events: list[Event] = []
        self._stderr: list[str] = []
        self.tracebacks = 0  # lines of its stderr that start a traceback, over its life
        # -P: the working folder is not put on sys.path, so a `keys/` folder there (the README's
        # workflow makes one) cannot shadow the `keys` package
        prefix = (list(command) if command is not None
                  else [sys.executable, "-P", "-m", "p2pdist"])
        out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*prefix, *self.args],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})} if inherit_env else dict(env or {}), cwd=cwd,
            start_new_session=True,  # Ctrl-C in a terminal reaches the parent only; it stops us
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

    def poll(self) -> int | None:
        """Exit code, or None while running; stamps the exit time the first time it is seen."""
        rc = self.proc.poll()
        if rc is not None and self.exited_at is None:
            self.exited_at = time.monotonic()
        return rc

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("{"):
                try:
                    ev = json.loads(line)
                except json.JSONDecodeError:
                    self._stderr.append(line)
                    continue
                if isinstance(ev, dict):
                    ev["_t"] = time.monotonic()
                    self._events.put(ev)
        self._events.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.tracebacks += "Traceback" in line
            self._stderr.append(line)
            del self._stderr[:-50]

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr[-20:])

    def wait_event(self, kind: str, timeout: float,
                   where: Callable[[Event], bool] | None = None) -> Event:
        """The next event of `kind` (matching `where`), reading at most until `timeout`.

        Raises:
            ChildError: the child ended or the time ran out first.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChildError(
                    _("{name}: no {kind!r} event within {timeout:.0f}s\n{stderr_tail}").format(
                        name=self.name, kind=kind, timeout=timeout, stderr_tail=self.stderr_tail))
            try:
                ev = self._events.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if ev is None:
                self._events.put(None)
                raise ChildError(
                    _("{name} exited ({wait}) before {kind!r}:\n{stderr_tail}").format(
                        name=self.name, wait=self.proc.wait(), kind=kind,
                        stderr_tail=self.stderr_tail))
            self.events.append(ev)
            if ev.get("event") == kind and (where is None or where(ev)):
                return ev

    def latest(self, kind: str, settle_s: float) -> Event | None:
        """Read events for `settle_s` seconds and return the newest of `kind` seen so far
        (periodic reports such as a seeder's stats)."""
        deadline = time.monotonic() + settle_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                ev = self._events.get(timeout=left)
            except queue.Empty:
                break
            if ev is None:
                self._events.put(None)
                break
            self.events.append(ev)
        return next((e for e in reversed(self.events) if e.get("event") == kind), None)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as e:
            raise ChildError(
                _("{name} still running after {timeout:.0f}s").format(
                    name=self.name, timeout=timeout)) from e

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM (the child saves its state), then SIGKILL after `grace` seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        return self.kill()

    def kill(self) -> int:
        """SIGKILL: the power cut."""
        if self.proc.poll() is None:
            self.proc.kill()
        return self.proc.wait(10)


def stop_all(children: Sequence[Child], grace: float = 10.0) -> None:
    """Stop every child (SIGTERM all first, so they shut down in parallel)."""
    for c in children:
        if c.proc.poll() is None:
            c.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for c in children:
        try:
            c.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            c.kill()
