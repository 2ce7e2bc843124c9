"""`p2pdist seeder ...`: run a seeder, see the rollout it hears about, write its configuration.

The `seeder` package is imported inside each command only: listing or loading this group costs
nothing to a box.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from pathlib import Path
from typing import Any

import click
import trio
from rich.table import Table

from ..errors import ConfigError
from ..i18n import _
from ._common import console, human_size, json_option

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)
LOG_LEVELS = ("debug", "info", "warning")


@click.group("seeder")
def seeder_group() -> None:
    """National origin and provincial seeders: run one, see rollout progress."""


@seeder_group.command("run")
@click.option("--config", "config_path", type=existing_file, required=True,
              help=_("The seeder's seeder.toml."))
@json_option(_("Print a JSON 'ready' line when up."))
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True)
def run(config_path: Path, as_json: bool, log_level: str) -> None:
    """Seed, serve the feed and take check-ins until SIGTERM / Ctrl-C."""
    from seeder import SeederService, load_config

    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    service = SeederService(load_config(config_path))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            ready = {"event": "ready", "node_id": service.node_id,
                     "swarm_port": service.swarm.listen_port, "feed_port": service.feed_port,
                     "metrics_port": service.metrics_port, "web_port": service.web_port}
            if as_json:
                click.echo(json.dumps(ready))
            else:
                console.print(_("seeder {id} running: swarm port {sp}, feed port {fp}, metrics "
                                "port {mp}").format(id=service.node_id[:16], sp=ready["swarm_port"],
                                                    fp=ready["feed_port"],
                                                    mp=ready["metrics_port"] or "-"))
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _sig in signals:
                    break
            await service.aclose()

    trio.run(main)


@seeder_group.command("status")
@click.option("--config", "config_path", type=existing_file, help=_("The seeder's seeder.toml."))
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help=_("The seeder's data directory (when there is no seeder.toml at hand)."))
@click.option("--stale-hours", type=float,
              help=_("Silence after which a box counts as stale (default: the config's, or 24)."))
@click.option("--boxes", "show_boxes", is_flag=True, help=_("Also list every box."))
@json_option(_("One JSON object: channels, sites, top_titles, boxes, service."))
def status(config_path: Path | None, data: Path | None, stale_hours: float | None,
           show_boxes: bool, as_json: bool) -> None:
    """Rollout per channel and version, per site, and the most played titles."""
    from seeder import load_config, rollout_report

    if (config_path is None) == (data is None):
        raise ConfigError(_("give either --config SEEDER.TOML or --data DIR"))
    if config_path is not None:
        config = load_config(config_path)
        report = rollout_report(config.data, channels=config.channels,
                                allowed=config.allow_boxes,
                                stale_hours=stale_hours or config.stale_hours, now=time.time())
    else:
        assert data is not None
        report = rollout_report(data, channels=None, allowed=None,
                                stale_hours=stale_hours or 24.0, now=time.time())
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    _print_report(report, show_boxes)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return _("{n}s ago").format(n=round(seconds))
    if seconds < 2 * 3600:
        return _("{n}m ago").format(n=round(seconds / 60))
    if seconds < 2 * 86400:
        return _("{n}h ago").format(n=round(seconds / 3600))
    return _("{n}d ago").format(n=round(seconds / 86400))


def _print_report(report: dict[str, Any], show_boxes: bool) -> None:
    seen = [b for b in report["boxes"] if b["seen"]]
    console.print(_("{boxes} box(es) reported in {n} check-in(s); a box is stale after {h:g} h "
                    "of silence").format(boxes=len(seen), n=report["checkins"],
                                         h=report["stale_after_s"] / 3600))
    rollout = Table(_("channel"), _("latest"), _("done"), _("in progress"), _("stale"),
                    _("never seen"), _("versions"), title=_("Rollout"))
    for channel, c in report["channels"].items():
        total = c["done"] + c["in_progress"] + c["stale"] + c["never_seen"]
        share = f" ({100 * c['done'] / total:.0f}%)" if total else ""
        versions = ", ".join(f"v{v}: {n}" for v, n in sorted(
            c["versions"].items(), key=lambda kv: -int(kv[0])))
        rollout.add_row(channel, "-" if c["latest"] is None else f"v{c['latest']}",
                        f"[green]{c['done']}[/]{share}", str(c["in_progress"]),
                        f"[red]{c['stale']}[/]" if c["stale"] else "0",
                        f"[yellow]{c['never_seen']}[/]" if c["never_seen"] else "0", versions)
    console.print(rollout)
    now = report["generated"]
    sites = Table(_("site"), _("boxes"), _("up to date"), _("stale"), _("last check-in"),
                  _("plays"), title=_("Sites"))
    for name, s in report["sites"].items():
        sites.add_row(name or _("(no site)"), str(s["boxes"]), str(s["up_to_date"]),
                      f"[red]{s['stale']}[/]" if s["stale"] else "0",
                      _ago(now - s["last_seen"]), str(s["plays"]))
    console.print(sites)
    if report["top_titles"]:
        top = Table("#", _("title"), _("plays"), title=_("Most played"))
        for i, t in enumerate(report["top_titles"], 1):
            top.add_row(str(i), t["title"], str(t["plays"]))
        console.print(top)
    service = report.get("service") or {}
    if service.get("ranking"):
        ranking = Table("#", _("site"), _("box"), _("plays"), _("titles played"),
                        title=_("Units by service"))
        for u in service["ranking"][:10]:
            ranking.add_row(str(u["rank"]), u["site"] or "-", u["box_id"][:16], str(u["plays"]),
                            str(u["titles_played"]))
        console.print(ranking)
    demand = service.get("demand") or {}
    if demand.get("total"):
        asked = Table(_("asked for"), _("requests"), _("boxes"), title=_("Demand (点单)"))
        for key, label in (("by_theme", _("theme: {v}")), ("by_kind", _("kind: {v}")),
                           ("wishes", _("wish: {v}"))):
            for x in demand[key][:10]:
                asked.add_row(label.format(v=x["value"]), str(x["requests"]), str(x["boxes"]))
        console.print(asked)
    if show_boxes:
        boxes = Table(_("box"), _("site"), _("last check-in"), _("free disk"), _("channels"),
                      title=_("Boxes"))
        for b in report["boxes"]:
            chans = "; ".join(
                f"{c} v{r['version']} {r['state']} {100 * r['progress']:.0f}%"
                + (f" ({r['problem']})" if r.get("problem") else "")
                for c, r in b["channels"].items())
            boxes.add_row(b["box_id"][:16], b["site"] or "-",
                          _ago(b["age_s"]) if b["seen"] else _("never"),
                          human_size(b["free_disk"]) if b["seen"] else "-", chans)
        console.print(boxes)


@seeder_group.command("init")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default="seeder.toml",
              show_default=True, help=_("Where to write the configuration."))
@click.option("--data", required=True, help=_("The seeder's data directory."))
@click.option("--root", required=True, type=existing_file, help=_("The trust root to pin."))
@click.option("--channel", "channels", multiple=True, required=True,
              help=_("Channel to carry (repeat)."))
@click.option("--origin", is_flag=True, help=_("This is the national origin."))
@click.option("--upstream", "upstream", multiple=True, help=_("Upstream feed URL (repeat)."))
@click.option("--listen", default="0.0.0.0:6881", show_default=True, help=_("Swarm address."))
@click.option("--feed", default="0.0.0.0:8470", show_default=True, help=_("Feed HTTP address."))
@click.option("--metrics", default="127.0.0.1:9470", show_default=True,
              help=_("Prometheus metrics address (\"\" for none)."))
@click.option("--poll", "poll_interval_s", type=click.IntRange(1), default=60, show_default=True,
              help=_("Seconds between polls of upstream."))
@click.option("--web", default="", help=_("Serve the operator's dashboard on HOST:PORT."))
@click.option("--forward-to", "forward_to", default=None,
              help=_("Pass check-ins up to this parent seeder's feed URL."))
def init(out: Path, data: str, root: Path, channels: tuple[str, ...], origin: bool,
         upstream: tuple[str, ...], listen: str, feed: str, metrics: str,
         poll_interval_s: int, web: str, forward_to: str | None) -> None:
    """Write a commented seeder.toml (checked like `seeder run` would)."""
    from seeder import load_config, render_template

    if out.exists():
        raise ConfigError(_("{path} already exists; refusing to overwrite it").format(path=out))
    text = render_template(data=str(Path(data).resolve()), root=str(root.resolve()),
                           channels=channels, origin=origin, upstream=upstream, listen=listen,
                           feed=feed, metrics=metrics, poll_interval_s=poll_interval_s,
                           web=web, forward_to=forward_to)
    out.write_text(text, encoding="utf-8")
    try:
        load_config(out)
    except ConfigError:
        out.unlink()
        raise
    console.print(_("wrote {path}; start the seeder with `p2pdist seeder run --config {path}`")
                  .format(path=out))
