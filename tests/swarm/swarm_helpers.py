"""Shared pieces of the swarm tests: releases on disk, swarms on loopback, helper processes.

Every swarm binds its own 127.0.0.x address (Linux routes all of 127/8 to loopback), so bans and
LAN/WAN classes, which work per address, behave as between separate boxes.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio

from p2pdist.swarm import Swarm, SwarmConfig
from p2pdist.torrent import create_hybrid_torrent

HELPER = Path(__file__).with_name("swarm_proc.py")
REPO = Path(__file__).resolve().parents[2]

# Chinese names on purpose: paths travel as UTF-8 end to end.
SMALL_RELEASE = {
    "课程/01 微信聊天.mp4": 1_300_000,
    "课程/02 视频通话.mp4": 900_000,
    "影片/过年好.mkv": 1_700_000,
    "学习手册.pdf": 120_000,
    "readme.txt": 1_234,
}


def make_release(root: Path, name: str, files: Mapping[str, int], seed: int = 1) -> bytes:
    """Write random files under root/name and return their hybrid torrent."""
    rng = random.Random(seed)
    folder = root / name
    for rel, size in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))
    return create_hybrid_torrent(folder, name, list(files.items()))


def tree(folder: Path) -> dict[str, bytes]:
    """Every regular file under `folder` by relative POSIX path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def config(tmp_path: Path, ip: str, **kwargs: Any) -> SwarmConfig:
    """A loopback-only config with its own resume directory."""
    return SwarmConfig(listen_interfaces=f"{ip}:0", resume_dir=tmp_path / f"resume-{ip}", **kwargs)


async def start_swarm(nursery: trio.Nursery, cfg: SwarmConfig) -> Swarm:
    swarm = Swarm(cfg)
    await nursery.start(swarm.run)
    return swarm


class SwarmProcess:
    """A Swarm in a child process (tests/swarm/swarm_proc.py) printing JSON lines."""

    def __init__(self, proc: trio.Process) -> None:
        self.proc = proc
        assert proc.stdout is not None
        self._stdout = proc.stdout
        self._buf = b""

    @classmethod
    async def start(cls, args: Mapping[str, Any]) -> SwarmProcess:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        proc = await trio.lowlevel.open_process(
            [sys.executable, str(HELPER), json.dumps(args)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        return cls(proc)

    async def line(self) -> dict[str, Any]:
        """The next JSON line; EOFError if the process closed its output."""
        while b"\n" not in self._buf:
            chunk = await self._stdout.receive_some(65536)
            if not chunk:
                raise EOFError(f"helper exited with {self.proc.poll()}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return dict(json.loads(line))

    async def until(self, event: str) -> dict[str, Any]:
        """Skip lines until one with this event."""
        while (msg := await self.line())["event"] != event:
            pass
        return msg

    async def stop(self) -> None:
        """Close stdin (the helper saves resume data and exits); kill if it lingers."""
        assert self.proc.stdin is not None
        await self.proc.stdin.aclose()
        with trio.move_on_after(15):
            await self.proc.wait()
        self.kill()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
