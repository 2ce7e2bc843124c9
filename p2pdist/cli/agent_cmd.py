"""`p2pdist box init` and `p2pdist box run`: set up a box and run its daemon."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

import click
import trio

from keys import MAX_ROOT_BYTES

from ..agent import BoxAgent
from ..boxstate import BoxState
from ..config import SITE_MODES, WEB_PORT, BoxConfig, default_web
from ..i18n import _
from ._common import console, data_option, json_option, read_file


@click.command("init")
@data_option
@click.option("--root", "root", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("The trust root to pin (from the national center)."))
@click.option("--channel", "channels", multiple=True, required=True,
              help=_("Channel to follow, e.g. national/winter-2027 (repeat)."))
@click.option("--seeder", "seeders", multiple=True, help=_("Seeder feed URL (repeat)."))
@click.option("--neighbour", "neighbours", multiple=True,
              help=_("Feed URL of a same-site box, where the LAN filters mDNS (repeat)."))
@click.option("--lan", "lan", multiple=True, help=_("LAN subnet, e.g. 192.168.1.0/24 (repeat)."))
@click.option("--wan-limit", "wan_limit", multiple=True,
              help=_("WAN cap, e.g. '2Mbit@08:00-18:00' (repeat)."))
@click.option("--policy", "policy", multiple=True,
              help=_("Which files: kinds=course,handbook / themes=... / exclude-themes=..."))
@click.option("--site", default="", help=_("Site (station) name; boxes of one site share the "
                                           "uplink."))
@click.option("--site-mode", type=click.Choice(SITE_MODES), default="shared-uplink",
              show_default=True, help=_("own-link: every box may use the WAN."))
@click.option("--listen", default="0.0.0.0:6881", show_default=True, help=_("Swarm address."))
@click.option("--feed", default="0.0.0.0:8471", show_default=True, help=_("Feed HTTP address."))
@click.option("--mdns/--no-mdns", default=True, help=_("LAN discovery (zeroconf)."))
@click.option("--mdns-interface", "mdns_interfaces", multiple=True,
              help=_("Only these local IPs for mDNS (repeat)."))
@click.option("--poll", "poll_interval_s", type=float, default=300.0, show_default=True,
              help=_("Seconds between polls of the seeders."))
@click.option("--utp/--no-utp", default=False, show_default=True,
              help=_("uTP besides TCP (yields on a busy uplink; costs CPU)."))
@click.option("--web", default=None,
              help=
                  _("The station's library web HOST:PORT (default: the feed's "
                    "address, port {web_port}; \"\" for none).").format(web_port=WEB_PORT))
def init(data: Path, root: Path, channels: tuple[str, ...], seeders: tuple[str, ...],
         neighbours: tuple[str, ...], lan: tuple[str, ...], wan_limit: tuple[str, ...],
         policy: tuple[str, ...], site: str, site_mode: str, listen: str, feed: str, mdns: bool,
         mdns_interfaces: tuple[str, ...], poll_interval_s: float, utp: bool,
         web: str | None) -> None:
    """Pin the trust root, make the box's identity key and write DATA/box.toml."""
    config = BoxConfig(channels=channels, seeders=seeders, neighbours=neighbours, site=site,
                       site_mode=site_mode, lan=lan, wan_limit=wan_limit, policy=policy,
                       listen=listen, feed=feed, mdns=mdns, mdns_interfaces=mdns_interfaces,
                       poll_interval_s=poll_interval_s, utp=utp,
                       web=default_web(feed) if web is None else web)
    state = BoxState(data)
    pinned = state.pin_root(read_file(root, _("trust root"), MAX_ROOT_BYTES))
    box_id = state.identity().keyid
    path = config.save(data)
    console.print(_("box {id} initialised in {dir} (trust root v{v}, config {cfg})").format(
        id=box_id[:16], dir=data, v=pinned.version, cfg=path))


LOG_LEVELS = ("debug", "info", "warning", "error")


@click.command("run")
@data_option
@json_option(_("Print a JSON 'ready' line when up."))
@click.option("-v", "--verbose", is_flag=True, help=_("Log more (same as --log-level info)."))
@click.option("--log-level", "log_level", type=click.Choice(LOG_LEVELS), default=None,
              help=_("Log level (default info: each update step; journald keeps it)."))
def run(data: Path, as_json: bool, verbose: bool, log_level: str | None) -> None:
    """Run the box daemon: poll, verify, download, activate, seed; until SIGTERM / Ctrl-C."""
    level = (log_level or "info").upper()
    if verbose and log_level is None:
        level = "INFO"
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    config = BoxConfig.load(data)
    agent = BoxAgent(data, config)

    async def main() -> None:
        # Signals are caught from the first moment, so a stop in any phase (starting,
        # downloading, checking) cancels the agent; the swarm saves resume data on its way out.
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            logging.getLogger("p2pdist").info(_("box daemon starting in {dir}").format(dir=data))
            async with trio.open_nursery() as nursery:
                async def stop_on_signal() -> None:
                    async for sig in signals:
                        logging.getLogger("p2pdist").info(
                            _("stopping on {signal}: saving resume data and exiting").format(
                                signal=signal.Signals(sig).name))
                        nursery.cancel_scope.cancel()
                        return

                nursery.start_soon(stop_on_signal)
                await nursery.start(agent.run)
                ready = {"event": "ready", "node_id": agent.node_id,
                         "swarm_port": agent.swarm.listen_port, "feed_port": agent.feed_port,
                         "web_port": agent.web_port}
                if as_json:
                    click.echo(json.dumps(ready), nl=True)
                    sys.stdout.flush()
                else:
                    console.print(_("box {id} running: swarm port {sp}, feed port {fp}").format(
                        id=agent.node_id[:16], sp=agent.swarm.listen_port, fp=agent.feed_port))

    trio.run(main)
