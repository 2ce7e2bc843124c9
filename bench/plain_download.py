"""The scale benchmark's memory reference: plain libtorrent, with the box's own session settings
and allocator settings, downloading the same torrent from the same origin, and nothing else (no
agent, no store, no feed, no discovery). What the box holds above this is the box's own.

Usage: python bench/plain_download.py TORRENT SAVE_DIR IP PEER_PORT
Prints one JSON line: {"seconds", "peak_rss_mb", "peak_anon_mb_end", "bytes"}.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

from p2pdist._libtorrent import lt  # noqa: E402
from p2pdist.swarm import SwarmConfig  # noqa: E402
from p2pdist.swarm._session import open_session  # noqa: E402  (the box's own session factory)

TIMEOUT_S = 3600


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    torrent, save, ip, port = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    config = SwarmConfig(listen_interfaces=f"{ip}:0", resume_dir=save / "resume")
    ses = open_session(config, upload_limit=0, download_limit=0)
    atp = lt.add_torrent_params()
    atp.ti = lt.torrent_info(torrent.read_bytes())
    atp.save_path = str(save)
    t0 = time.monotonic()
    h = ses.add_torrent(atp)
    h.connect_peer(("127.0.0.1", port))
    while not h.status().is_seeding:
        if time.monotonic() - t0 > TIMEOUT_S:
            raise SystemExit("plain download: not done within the time limit")
        time.sleep(0.25)
        ses.pop_alerts()  # keep the queue short, as the box's pump does
    print(json.dumps({"seconds": round(time.monotonic() - t0, 1),
                      "peak_rss_mb": round(status_kb("VmHWM") / 1024, 1),
                      "peak_anon_mb_end": round(status_kb("RssAnon") / 1024, 1),
                      "bytes": h.status().total_wanted_done}))


if __name__ == "__main__":
    main()
