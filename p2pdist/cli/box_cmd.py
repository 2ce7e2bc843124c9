"""`p2pdist box fetch` and `p2pdist seed`: run the swarm for one update, or serve a data dir.

`box fetch` is the manual update path a technician (or a test, or a benchmark) can drive: verify
a manifest file against the trust root, fetch it from the given peers into the box's store,
activate it, optionally keep seeding. `seed` serves every active release of a data directory.
With `--json` both print one JSON object per line (events), the last one being the result.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import trio

from manifest import MAX_ENVELOPE_BYTES

from ..errors import ConfigError
from ..fetch import fetch_release, release_key
from ..i18n import _
from ..sample import parse_size
from ..seeding import seed_active
from ..store import Policy, Store
from ..swarm import PeerSource, Swarm, SwarmConfig, TorrentSnapshot, WanSchedule
from ..trust import floors, verify_release_for
from ._common import console, human_size, json_option, read_file
from .release_cmd import load_roots

STATS_INTERVAL_S = 1.0
existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def parse_endpoint(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(_("{text!r} is not HOST:PORT").format(text=text))
    return host.strip("[]"), int(port)


def _emit(as_json: bool, event: str, **fields: Any) -> None:
    if as_json:
        click.echo(json.dumps({"event": event, **fields}, ensure_ascii=False), nl=True)


def _snapshot_fields(s: TorrentSnapshot) -> dict[str, Any]:
    d = asdict(s)
    d["state"] = str(s.state)
    d["peers"] = {str(k): v for k, v in s.peers.items()}
    d["received"] = {str(k): v for k, v in s.received.items()}
    return d


def swarm_options(f: Any) -> Any:
    for opt in reversed([
        click.option("--listen", default="0.0.0.0:6881", show_default=True,
                     help=_("Swarm listen address (port 0: any free port).")),
        click.option("--lan", "lan_subnets", multiple=True,
                     help=_("Subnet whose peers are LAN (unlimited), e.g. 192.168.1.0/24.")),
        click.option("--wan-limit", "wan_limit", multiple=True,
                     help=_("WAN cap, e.g. '2Mbit@08:00-18:00' (repeat).")),
        json_option(_("JSON lines on stdout.")),
        click.option("--utp/--no-utp", default=False, show_default=True,
                     help=_("uTP besides TCP (yields to other traffic on a shared uplink, but "
                          "costs CPU: ~10x slower than TCP on loopback here).")),
    ]):
        f = opt(f)
    return f


def _swarm_config(data: Path, listen: str, lan: tuple[str, ...], wan: tuple[str, ...],
                  utp: bool, resume_interval_s: float = 1.0) -> SwarmConfig:
    return SwarmConfig(
        enable_utp=utp,
        listen_interfaces=listen,
        resume_dir=data / "state" / "resume",
        lan_subnets=lan,
        wan_schedule=WanSchedule.parse(wan) if wan else WanSchedule(),
        resume_interval_s=resume_interval_s,
    )


async def _serve_until_signal() -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _sig in signals:
            return


@click.command("fetch")
@click.argument("manifest_file", type=existing_file)
@click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path), required=True,
              help=_("The box's data directory (store)."))
@click.option("--root", "roots", type=existing_file, multiple=True, required=True,
              help=_("Trusted root; repeat to walk rotations (pinned first)."))
@click.option("--peer", "peers", multiple=True, help=_("Seeder HOST:PORT (repeat)."))
@click.option("--lan-peer", "lan_peers", multiple=True, help=
    _("LAN neighbour HOST:PORT (repeat)."))
@click.option("--policy", "policy", multiple=True,
              help=_("Which files: kinds=course,handbook / themes=... / exclude-themes=..."))
@click.option("--seed/--no-seed", default=False, help=_("Keep seeding after activation."))
@click.option("--reserve", default="256MiB", show_default=True,
              help=_("Free space to leave on the data disk."))
@click.option("--resume-interval", type=float, default=1.0, show_default=True,
              help=_("Seconds between resume-data saves (what a power cut can lose)."))
@click.option("--stall-timeout", "stall_timeout", type=click.FloatRange(min=1), default=180.0,
              show_default=True,
              help=_("Give up (exit 5) after this many seconds without data while files are "
                   "missing."))
@swarm_options
def fetch(manifest_file: Path, data: Path, roots: tuple[Path, ...], peers: tuple[str, ...],
          lan_peers: tuple[str, ...], policy: tuple[str, ...], seed: bool, reserve: str,
          resume_interval: float, stall_timeout: float, listen: str,
          lan_subnets: tuple[str, ...], wan_limit: tuple[str, ...], as_json: bool,
          utp: bool) -> None:
    """Verify MANIFEST_FILE, fetch it from peers into the store, verify the files, activate."""
    now = int(time.time())
    root = load_roots(roots, now)
    blob = read_file(manifest_file, _("manifest"), MAX_ENVELOPE_BYTES)
    store = Store(data, reserve=parse_size(reserve))
    pol = Policy.parse(*policy) if policy else Policy()
    endpoints = [(parse_endpoint(p), PeerSource.SEEDER) for p in peers]
    endpoints += [(parse_endpoint(p), PeerSource.LAN) for p in lan_peers]
    release = verify_release_for(
        blob, root, floors(root, store.active_version, store.manifest_envelope), now)
    config = _swarm_config(data, listen, lan_subnets, wan_limit, utp, resume_interval)

    async def main() -> None:
        swarm = Swarm(config)
        async with trio.open_nursery() as nursery:
            await nursery.start(swarm.run)
            _emit(as_json, "listening", port=swarm.listen_port)
            m = release.manifest
            if not release.is_new:
                if not as_json:
                    console.print(_("{channel} v{v} is already active").format(
                        channel=m.channel, v=m.version))
                _emit(as_json, "done", channel=m.channel, version=m.version, already=True)
            else:
                def progress(s: TorrentSnapshot) -> None:
                    _emit(as_json, "progress", **_snapshot_fields(s))

                report = await fetch_release(swarm, store, release, policy=pol, peers=endpoints,
                                             on_progress=progress,
                                             stall_timeout_s=stall_timeout)
                if as_json:
                    _emit(True, "done", **{k: v for k, v in asdict(report).items() if k != "gc"})
                else:
                    console.print(_("activated {channel} v{v}: {size} wanted, {reused} reused, "
                                    "{moved} downloaded in {s:.1f}s").format(
                                        channel=m.channel, v=m.version,
                                        size=human_size(report.bytes_wanted),
                                        reused=human_size(report.bytes_reused),
                                        moved=human_size(report.payload_download),
                                        s=report.seconds))
            if seed:
                await seed_active(swarm, store, skip={release_key(release)})
                _emit(as_json, "seeding")
                await _serve_until_signal()
            await swarm.aclose()
            nursery.cancel_scope.cancel()

    trio.run(main)


async def _report_stats(swarm: Swarm, keys: list[str]) -> None:
    """Once a second, what each torrent has sent (benchmarks read the seeder's egress here)."""
    while True:
        await trio.sleep(STATS_INTERVAL_S)
        _emit(True, "stats", torrents={k: _snapshot_fields(swarm.snapshot(k)) for k in keys})


@click.command("seed")
@click.option("--data", "data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              required=True, help=_("A data directory with active releases."))
@swarm_options
def seed(data: Path, listen: str, lan_subnets: tuple[str, ...], wan_limit: tuple[str, ...],
         as_json: bool, utp: bool) -> None:
    """Seed every active release of a data directory until stopped (SIGTERM / Ctrl-C)."""
    store = Store(data)
    config = _swarm_config(data, listen, lan_subnets, wan_limit, utp)

    async def main() -> None:
        swarm = Swarm(config)
        async with trio.open_nursery() as nursery:
            await nursery.start(swarm.run)
            keys = await seed_active(swarm, store, skip=set())
            if not keys:
                raise ConfigError(_("{dir} has no active release to seed").format(dir=data))
            _emit(as_json, "listening", port=swarm.listen_port, torrents=keys)
            if as_json:
                nursery.start_soon(_report_stats, swarm, keys)
            else:
                console.print(_("seeding {keys} on port {port}").format(
                    keys=", ".join(keys), port=swarm.listen_port))
            await _serve_until_signal()
            await swarm.aclose()
            nursery.cancel_scope.cancel()

    trio.run(main)
