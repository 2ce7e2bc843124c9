"""Run one Swarm in its own process for the multi-process tests; print JSON lines.

Usage: swarm_proc.py '<json args>'. Lines on stdout: {"event": "ready", "port": N}, then
{"event": "progress", "snapshot": {...}} every `interval_s`, and {"event": "complete",
"snapshot": {...}} once. The process keeps seeding until its stdin closes, then stops the swarm
(saving resume data) and exits 0.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

import trio

from p2pdist.swarm import PeerSource, Swarm, SwarmConfig, TorrentSnapshot, WanSchedule


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def as_json(s: TorrentSnapshot) -> dict[str, Any]:
    return dataclasses.asdict(s)


async def main(args: dict[str, Any]) -> None:
    cfg = SwarmConfig(
        listen_interfaces=args["listen"],
        resume_dir=Path(args["resume_dir"]),
        wan_schedule=WanSchedule.parse(args.get("wan_schedule", "")),
        resume_interval_s=args.get("resume_interval_s", 30.0),
    )
    swarm = Swarm(cfg)
    key = args["key"]
    async with trio.open_nursery() as nursery:
        await nursery.start(swarm.run)
        emit("ready", port=swarm.listen_port)
        torrent = Path(args["torrent"]).read_bytes()
        await swarm.add_torrent(key, torrent, Path(args["save_path"]))
        for ip, port, source in args.get("peers", []):
            swarm.connect_peer(key, (ip, port), PeerSource(source))

        async def report() -> None:
            while True:
                emit("progress", snapshot=as_json(swarm.snapshot(key)))
                await trio.sleep(args.get("interval_s", 0.1))

        nursery.start_soon(report)
        await swarm.wait_complete(key)
        emit("complete", snapshot=as_json(swarm.snapshot(key)))
        await trio.to_thread.run_sync(sys.stdin.read, abandon_on_cancel=True)
        nursery.cancel_scope.cancel()  # Swarm.run saves resume data on its way out


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    trio.run(main, json.loads(sys.argv[1]))
