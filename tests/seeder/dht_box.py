"""A box that knows no peer, only a DHT node: fetch one torrent, report, exit.

Usage: dht_box.py LISTEN DHT_HOST:PORT TORRENT_FILE KEY SAVE_PATH. Prints one JSON line
{"event": "complete", "received": {...}} once every piece is in (the test bounds the wait).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import trio

from p2pdist.swarm import Swarm, SwarmConfig


async def main(listen: str, node: str, torrent: Path, key: str, save_path: Path) -> None:
    host, _sep, port = node.rpartition(":")
    swarm = Swarm(SwarmConfig(listen_interfaces=listen, resume_dir=save_path / "resume",
                              dht_bootstrap_nodes=((host, int(port)),)))
    async with trio.open_nursery() as nursery:
        await nursery.start(swarm.run)
        await swarm.add_torrent(key, torrent.read_bytes(), save_path)
        await swarm.wait_complete(key)
        received = {str(k): v for k, v in swarm.snapshot(key).received.items()}
        print(json.dumps({"event": "complete", "received": received}), flush=True)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    listen, node, torrent, key, save = sys.argv[1:6]
    trio.run(main, listen, node, Path(torrent), key, Path(save))
