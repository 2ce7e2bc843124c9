"""What the daemon tells the technician's commands over the control socket."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from keys import P2PDistError

from ..hashing import hashed_bytes
from ..i18n import _
from ..swarm import TorrentSnapshot

if TYPE_CHECKING:
    from ._agent import BoxAgent


def agent_status(agent: BoxAgent) -> dict[str, Any]:
    """The `status` answer: identity, site, election, and each channel's update state."""
    channels = {}
    for c, m in agent.machines.items():
        d: dict[str, Any] = m.describe()
        key = agent.downloading.get(c) or agent.seeding.get(c)
        if key is not None:
            with contextlib.suppress(P2PDistError):
                d["torrent"] = snapshot_json(agent.swarm.snapshot(key))
        d["wan"] = agent.wan_enabled.get(c)
        d["stall"] = agent.stalls.get(c)
        d["rejected"] = agent.rejected[c][1] if c in agent.rejected else None
        channels[c] = d
    return {
        "node_id": agent.node_id,
        "site": agent.config.site,
        "site_mode": agent.config.site_mode,
        "elected": agent.elected(),
        "election_settled": agent.election_settled.is_set(),
        "demoted": sorted(agent.demotions.active(agent.clock())),
        "uptime_s": round(agent.clock() - agent.started_at, 1),
        "swarm_port": agent.swarm.listen_port,
        "feed_port": agent.feed_port,
        "web_port": agent.web_port,
        "root_version": agent.trust.root.version,
        "channels": channels,
        "neighbours": len(agent.neighbours),
        "last_errors": agent.last_errors[-5:],
        "repair": agent.repairer.status() if hasattr(agent, "repairer") else {},
        "hashed_bytes": hashed_bytes(),
    }


async def handle_control(agent: BoxAgent, req: dict[str, Any]) -> dict[str, Any]:
    """Answer one control-socket request (`status`, `peers`, `update`)."""
    cmd = req["cmd"]
    if cmd == "status":
        return agent_status(agent)
    if cmd == "peers":
        return {"torrents": {c: snapshot_json(agent.swarm.snapshot(k))
                             for c, k in {**agent.seeding, **agent.downloading}.items()},
                "neighbours": [{**n.__dict__, "role": "box"}
                               for n in agent.neighbours.values()]}
    if cmd == "update":
        agent.poke()
        return {"poked": True}
    raise P2PDistError(_("unknown command {cmd!r}").format(cmd=cmd))


def snapshot_json(s: TorrentSnapshot) -> dict[str, Any]:
    left = max(0, s.bytes_wanted - s.bytes_done)
    return {
        "state": str(s.state),
        "bytes_done": s.bytes_done,
        "bytes_wanted": s.bytes_wanted,
        "download_rate": s.download_rate,
        "upload_rate": s.upload_rate,
        "eta_s": round(left / s.download_rate) if s.download_rate > 0 and left else None,
        "peers": {str(k): v for k, v in s.peers.items()},
        "received": {str(k): v for k, v in s.received.items()},
        "total_payload_upload": s.total_payload_upload,
        "hash_failures": s.hash_failures,
        "peer_bans": s.peer_bans,
        "dial_failures": s.dial_failures,
        "error": s.error,
    }
