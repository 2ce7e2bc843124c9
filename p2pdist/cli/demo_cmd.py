"""`p2pdist demo`: the whole system in one command, on loopback, with embedded defaults.

1. The national center's workflow: keys, a trust root, a sample bundle shaped like the campaign,
   a signed release published at the origin (and two hostile manifests refused).
2. The swarm: an origin, a provincial seeder and boxes in sites as separate processes, with WAN
   links emulated by peer-class caps; live progress per box; then a summary with each box's
   update time, bytes from LAN neighbours vs seeders vs origin, the lower bound for the set-up,
   and what one download per box would take. `--json` prints the summary as the last line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner
from rich.live import Live
from rich.table import Table

from keys import P2PDistError

from ..demo import CHANNEL, DemoSwarm, Links, disk_usage, free_prefix, fresh_dir, parse_base_address
from ..errors import TransferError
from ..i18n import _
from ..sample import parse_size
from ..web import add_sample_clip
from ._common import console, human_size, json_option

MARKER = ".p2pdist-demo"
TIMEOUT_S = 600


def _cli(*args: str | Path) -> str:
    """Run one p2pdist command in-process, as an operator would type it."""
    from . import cli

    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    if r.exit_code != 0:
        raise P2PDistError(_("demo step `p2pdist {cmd}` failed:\n{out}").format(
            cmd=" ".join(map(str, args)), out=r.output))
    return r.output


def _step(text: str) -> None:
    console.rule(f"[bold]{text}")


def prepare_release(out: Path, size: str) -> Path:
    """The center's side; returns the pinned root file. The release is published at out/origin."""
    k = out / "keys"
    k.mkdir()
    _step(_("1. the national center: keys, trust root, sample bundle, signed release"))
    for name in ("root-a", "root-b", "release"):
        _cli("keys", "generate", k / name)
    root = out / "root.v1"
    _cli("keys", "root", "init", "--root-key", k / "root-a.pub", "--root-key", k / "root-b.pub",
         "--threshold", "2", "--release-key", k / "release.pub", "--release-threshold", "1",
         "--channel", "national/", "--expires", "365", "--out", root)
    for name in ("root-a", "root-b"):
        _cli("keys", "root", "sign", root, "--key", k / name)
    console.print(_("trust root v1: 2 of 2 root keys; the release key may sign national/..."))
    content = out / "bundle"
    _cli("sample", content, "--size", size)
    add_sample_clip(content)  # one real clip, so the library plays something
    mf = out / "release.v1.manifest"
    _cli("release", "build", content, "--channel", CHANNEL, "--version", "1", "--catalog",
         content / "catalog.toml", "--expires", "90", "--out", mf)
    _cli("release", "sign", mf, "--key", k / "release")
    console.print(_cli("release", "verify", mf, "--root", root, "--content", content).strip())
    bad = out / "tampered.manifest"
    data = bytearray(mf.read_bytes())
    data[len(data) // 2] ^= 1
    bad.write_bytes(bytes(data))
    r = CliRunner().invoke(cli_root(), ["release", "verify", str(bad), "--root", str(root)])
    console.print(_("a manifest with one flipped bit is refused: {msg}").format(
        msg=r.output.strip().splitlines()[-1] if r.output.strip() else r.exit_code))
    _cli("release", "publish", mf, "--content", content, "--to", out / "origin", "--root", root)
    console.print(_("published at the origin ({dir})").format(dir=out / "origin"))
    return root


def cli_root() -> click.Group:
    from . import cli

    return cli


def _table(swarm: DemoSwarm, size: int) -> Table:
    t = Table(_("box"), _("site"), _("state"), _("progress"), _("rate"), _("from LAN"),
              _("from seeder"), _("from origin"), _("WAN"), title=_("{t:.0f}s").format(
                  t=time.monotonic() - swarm.t0))
    for b in swarm.boxes:
        ch = b.last.get("channels", {}).get(CHANNEL, {})
        tor = ch.get("torrent") or {}
        done = tor.get("bytes_done", 0)
        rec = tor.get("received", {})
        state = ch.get("phase", "starting")
        if b.done_at is not None:
            state = _("done in {s:.0f}s").format(s=b.done_at)
        wan = _("elected") if b.last and b.last.get("elected") == b.last.get("node_id") else ""
        t.add_row(b.name, b.site, state, f"{100 * done / size:.0f}%",
                  f"{human_size(tor.get('download_rate', 0))}/s",
                  human_size(rec.get("lan", 0)), human_size(rec.get("seeder", 0)),
                  human_size(rec.get("wan", 0)), wan)
    return t


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-out"), show_default=True, help=_("Working folder (recreated)."))
@click.option("--size", default="200MB", show_default=True, help=_("Sample bundle size."))
@click.option("--boxes", type=click.IntRange(1, 30), default=8, show_default=True,
              help=_("How many boxes to run."))
@click.option("--sites", type=click.IntRange(1, 10), default=2, show_default=True,
              help=_("How many sites (stations) the boxes are spread over."))
@click.option("--base-address", "base_address", default=None,
              help=_("Loopback /16 to run on, e.g. 127.5.0.0 (default: the first one whose "
                     "box ports are free)."))
@json_option(_("Print the summary as one JSON object."))
@click.option("--stay", is_flag=True,
              help=_("Keep everything running after the summary (the library and dashboard "
                   "stay up) until Ctrl-C."))
def demo(out: Path, size: str, boxes: int, sites: int, base_address: str | None, as_json: bool,
         stay: bool) -> None:
    """Run the whole system on loopback: sign a release, seed it, watch boxes update."""
    total = parse_size(size)
    prefix = (parse_base_address(base_address) if base_address is not None
              else free_prefix(boxes, sites))
    console.quiet = as_json
    out = out.resolve()
    fresh_dir(out, MARKER)
    root = prepare_release(out, size)
    links = Links()
    _step(_("2. the swarm: origin, provincial seeder, {n} boxes in {k} sites").format(
        n=boxes, k=sites))
    console.print(_("links: origin up {o}/s, seeder up {s}/s, each site down {d}/s and up "
                    "{u}/s, LAN unlimited").format(
                        o=human_size(links.origin_up), s=human_size(links.seeder_up),
                        d=human_size(links.site_down), u=human_size(links.site_up)))
    console.print(_("addresses: {prefix}.0.0/16 on loopback").format(prefix=prefix))
    with DemoSwarm(out, root, boxes, sites, links, _cli, prefix) as swarm:
        swarm.start()
        _print_urls(swarm)
        deadline = time.monotonic() + TIMEOUT_S
        with Live(_table(swarm, total), console=console, refresh_per_second=2,
                  transient=False) as live:
            while not swarm.all_done():
                if time.monotonic() > deadline:
                    raise TransferError(_("the demo swarm did not finish in {s}s").format(
                        s=TIMEOUT_S))
                crashed = swarm.crashed()
                if crashed:
                    raise TransferError(_("a demo process stopped: {what}").format(
                        what=crashed[0]))
                swarm.poll()
                live.update(_table(swarm, total))
                time.sleep(1.0)
            time.sleep(1.5)  # one more status round so the byte counts are final
            swarm.poll()
            live.update(_table(swarm, total))
        summary = swarm.summary(total)
        summary["library_urls"] = swarm.library_urls()
        summary["dashboard_url"] = swarm.dashboard_url
        summary["base_address"] = f"{prefix}.0.0"
        summary["out_dir"] = str(out)
        summary["out_bytes"] = disk_usage(out)
        _print_summary(summary)
        console.print(_("the demo's data is in {dir} ({size} on disk); the next `p2pdist demo` "
                        "deletes it, or remove it yourself").format(
                            dir=out, size=human_size(summary["out_bytes"])))
        if as_json:
            console.quiet = False
            click.echo(json.dumps(summary, ensure_ascii=False))
        if stay:
            _print_urls(swarm)
            console.print(_("everything stays up; press Ctrl-C to stop"))
            _wait_for_ctrl_c()


def _print_urls(swarm: DemoSwarm) -> None:
    urls = swarm.library_urls()
    if urls:
        console.print(_("the station library of box1: {url} (every box serves one on its "
                        "address, port 8480)").format(url=urls[0]))
    console.print(_("the national center's dashboard: {url}").format(url=swarm.dashboard_url))


def _wait_for_ctrl_c() -> None:
    import signal

    stop = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    old = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, old)


def _print_summary(s: dict[str, Any]) -> None:
    _step(_("3. summary"))
    lan = sum(b["bytes_from_lan"] for b in s["boxes"])
    seed = sum(b["bytes_from_seeders"] for b in s["boxes"])
    origin = sum(b["bytes_from_origin"] for b in s["boxes"])
    console.print(_("every box updated in {m}s; the lower bound for this set-up is {b}s "
                    "({r}x)").format(m=s["makespan_s"], b=s["bound_s"],
                                     r=s["makespan_over_bound"]))
    console.print(_("one download per box would take at least {o}s: {x}x slower").format(
        o=s["one_download_per_box_s"], x=s["speedup_vs_one_download_per_box"]))
    console.print(_("boxes got {lan} from LAN neighbours, {seed} from the seeder and {orig} "
                    "from the origin; the origin sent {o} ({oc:.2f} copies), the seeder {se} "
                    "({sc:.2f} copies)").format(
                        lan=human_size(lan), seed=human_size(seed), orig=human_size(origin),
                        o=human_size(s["origin_egress_bytes"]),
                        oc=s["origin_egress_bytes"] / s["size"],
                        se=human_size(s["seeder_egress_bytes"]),
                        sc=s["seeder_egress_bytes"] / s["size"]))
