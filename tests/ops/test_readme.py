"""The README works as written: its console commands, pasted in order into an empty folder.

Every `$ ` line of README.md runs as a real process (in a network namespace of its own, so the
README's fixed loopback addresses are free and nothing leaves the machine); each must exit 0.
Daemons (`box run`, `seeder run`, `... &`) run until the end of their block, where they must
stop on SIGTERM with exit 0 and no traceback in their log. Where the README promises an outcome
("both boxes done", "b ... takes it from a"), the test waits for it, bounded, before the next
command. Only system paths move into the folder and the sample is smaller.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from readme_script import README, Step, blocks

from tests.world import wait_until

SUBSTITUTIONS = {
    "/var/lib/p2pdist": "station-box",
    "/media/usb": "usb",  # "mounted": made before the export
    "/tmp/a": "a",
    "/tmp/b": "b",
    "--size 200MB": "--size 8MB",
}
COMMAND_TIMEOUT_S = 300
OUTCOME_TIMEOUT_S = 180
STOP_TIMEOUT_S = 20
READY_MARKS = ("running: swarm port", "seeder_ready")

pytestmark = [pytest.mark.slow, pytest.mark.netns]


class World:
    """The folder, the namespace and the daemons of one README run."""

    def __init__(self, folder: Path, ns: str) -> None:
        self.folder = folder
        self.ns = ns
        self.env = {**os.environ, "LANG": "C", "LC_ALL": "C", "P2PDIST_PASSPHRASE": "hunter2",
                    "PYTHONUNBUFFERED": "1"}
        self.env.pop("P2PDIST_LANG", None)
        self.env.pop("P2PDIST_DATA", None)
        self.daemons: list[tuple[Step, subprocess.Popen[bytes], Path]] = []

    def argv(self, words: tuple[str, ...]) -> list[str]:
        assert words[0] == "p2pdist", words
        # the installed command, as a user runs it (`python -m` would put the folder, with its
        # keys/ directory, ahead of the `keys` package on sys.path)
        script = Path(sys.executable).with_name("p2pdist")
        return ["ip", "netns", "exec", self.ns, str(script), *words[1:]]

    def run(self, words: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(words), cwd=self.folder, env=self.env, text=True,
                              capture_output=True, timeout=COMMAND_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)

    def start(self, step: Step) -> None:
        log = self.folder / f"daemon-{len(self.daemons)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(self.argv(step.argv), cwd=self.folder, env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self.daemons.append((step, proc, log))

    def check_daemons_alive(self) -> None:
        for step, proc, log in self.daemons:
            assert proc.poll() is None, f"{step.line} ended ({proc.returncode}):\n{log.read_text()}"

    def stop_daemons(self) -> None:
        for step, _proc, log in self.daemons:
            # up first: a daemon stopped before it handles signals proves nothing
            self.wait_for(f"{step.line} is up", lambda log=log: any(
                mark in log.read_text(errors="replace") for mark in READY_MARKS))
        for _step, proc, _log in self.daemons:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        problems = []
        for step, proc, log in self.daemons:
            try:
                code = proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            text = log.read_text(errors="replace")
            if code != 0 or "Traceback" in text:
                problems.append(f"{step.line}: exit {code}\n{text[-3000:]}")
        self.daemons.clear()
        assert not problems, "\n".join(problems)

    def wait_for(self, what: str, done: Callable[[], bool]) -> None:
        def reached() -> bool:
            self.check_daemons_alive()
            return done()

        wait_until(reached, OUTCOME_TIMEOUT_S, f"README outcome ({what})", every=0.5)

    def active(self, data: str) -> bool:
        r = self.run(("p2pdist", "status", "--data", data, "--json"))
        if r.returncode != 0 or not r.stdout.strip():
            return False
        channels = json.loads(r.stdout.splitlines()[-1]).get("channels", {})
        return any(c.get("active_version") for c in channels.values())


def _outcome(world: World, step: Step) -> None:
    """Wait, before `step`, for what the README says has happened by then."""
    if step.argv[:3] == ("p2pdist", "seeder", "status"):
        world.wait_for("both boxes done", lambda: world.active("box1") and world.active("box2"))
    if step.argv[:2] == ("p2pdist", "status") and "b" in step.argv:
        world.wait_for("b takes the release from a", lambda: world.active("b"))


def test_every_readme_command_works_in_an_empty_folder(tmp_path: Path, netns: str) -> None:
    world = World(tmp_path, netns)
    (tmp_path / "usb").mkdir()
    ran = 0
    try:
        for block in blocks(README.read_text(encoding="utf-8"), SUBSTITUTIONS):
            for step in block:
                if step.daemon:
                    world.start(step)
                    continue
                _outcome(world, step)
                r = world.run(step.argv)
                assert r.returncode == 0, (
                    f"README command failed ({r.returncode}): {step.line}\n{r.stdout}\n{r.stderr}")
                assert "Traceback" not in r.stderr, step.line
                ran += 1
            world.check_daemons_alive()
            world.stop_daemons()
    finally:
        for _step, proc, _log in world.daemons:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert ran >= 35  # every console block ran, not an empty parse
