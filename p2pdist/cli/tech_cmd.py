"""The technician's commands: status, peers, verify, library, doctor (and discover).

status and peers ask the running daemon over the control socket; verify, library and doctor read
the data directory directly, so they work when the daemon is down too. Every command has --json
for tools and a rich table for people.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from manifest import catalog_of

from ..control import DaemonNotRunningError, request
from ..errors import ContentMismatchError
from ..i18n import _
from ..integrity import box_policy, expected_files, mark_damaged
from ..store import Store
from ._common import (
    box_data_dir,
    console,
    data_option,
    human_duration,
    human_size,
    json_option,
    print_json,
)
from ._labels import label


def _eta(seconds: float | None) -> str:
    return human_duration(int(seconds)) if seconds else "-"


@click.command("status")
@data_option
@json_option()
def status(data: Path, as_json: bool) -> None:
    """The active release, update state, progress with rate and ETA, last error."""
    try:
        st = request(box_data_dir(data), "status")
    except DaemonNotRunningError:
        _status_stopped(data, as_json)
        raise
    st.pop("ok", None)
    st["daemon"] = "running"
    if as_json:
        print_json(st)
        return
    elected = _("this box") if st["elected"] == st["node_id"] else st["elected"][:12]
    console.print(_("box {id}  site {site!r} ({mode}), WAN via {elected}; up {up}; "
                    "{n} LAN neighbour(s)").format(
                        id=st["node_id"][:12], site=st["site"], mode=st["site_mode"],
                        elected=elected, up=human_duration(int(st["uptime_s"])),
                        n=st["neighbours"]))
    table = Table(_("channel"), _("active"), _("state"), _("progress"), _("rate"), _("ETA"),
                  _("problem"))
    for ch, c in st["channels"].items():
        t = c.get("torrent") or {}
        done, want = t.get("bytes_done", 0), t.get("bytes_wanted", 0)
        progress = _("{pct:.0f}% of {size}").format(
            pct=100 * done / want, size=human_size(want)) if want else "-"
        rate = f"{human_size(t.get('download_rate', 0))}/s" if t else "-"
        state = label(c["phase"]) + (f" v{c['target_version']}" if c.get("target_version") else "")
        problem = c.get("reason") or ""
        if c.get("retry_at"):
            problem += _(" (retry in {s}s)").format(s=max(0, int(c["retry_at"] - time.time())))
        table.add_row(ch, f"v{c['active_version']}" if c["active_version"] else "-", state,
                      progress, rate, _eta(t.get("eta_s")), problem)
    console.print(table)
    for e in st.get("last_errors", [])[-3:]:
        console.print(_("[yellow]recent problem[/yellow] {where}: {reason}").format(**e))


def _status_stopped(data: Path, as_json: bool) -> None:
    """What the disk says while the daemon is down: the active version of each channel."""
    store = Store(data)
    channels = {ch: {"active_version": store.active_version(ch)} for ch in store.channels()}
    if as_json:
        print_json({"daemon": "stopped", "data": str(data), "channels": channels})
        return
    console.print(_("the box daemon is not running; on disk in {dir}:").format(dir=data))
    if not channels:
        console.print(_("no release is active yet"))
    for ch, c in channels.items():
        v = c["active_version"]
        console.print(_("{channel}: active v{v}").format(channel=ch, v=v) if v is not None
                      else _("{channel}: no active release").format(channel=ch))


@click.command("peers")
@data_option
@json_option()
def peers(data: Path, as_json: bool) -> None:
    """Peers by source (LAN / WAN / seeder) with bytes and rates, and LAN neighbours."""
    p = request(box_data_dir(data), "peers")
    p.pop("ok", None)
    if as_json:
        print_json(p)
        return
    table = Table(_("channel"), _("state"), _("LAN"), _("WAN"), _("seeders"), _("down"),
                  _("up"), _("from LAN"), _("from seeders"))
    for ch, t in p["torrents"].items():
        table.add_row(ch, label(t["state"]), str(t["peers"].get("lan", 0)),
                      str(t["peers"].get("wan", 0)), str(t["peers"].get("seeder", 0)),
                      f"{human_size(t['download_rate'])}/s", f"{human_size(t['upload_rate'])}/s",
                      human_size(t["received"].get("lan", 0)),
                      human_size(t["received"].get("seeder", 0)))
    console.print(table)
    nb = Table(_("neighbour"), _("site"), _("address"), _("channels"))
    for n in p["neighbours"]:
        nb.add_row(n["node_id"][:12], n["site"], f"{n['ip']}:{n['feed_port']}",
                   ", ".join(f"{c} v{v}" for c, v in n["channels"].items()))
    console.print(nb)


def _present(store: Store, channel: str, version: int) -> list[Any]:
    m = store.load_manifest(channel, version)
    return [f for f in m.files if (store.release_dir(channel, version) / f.path).is_file()]


@click.command("verify")
@data_option
@json_option()
def verify(data: Path, as_json: bool) -> None:
    """Re-hash every file of the active release(s) against the signed manifest."""
    store = Store(box_data_dir(data))
    results: dict[str, Any] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console, transient=True,
                  disable=as_json) as bar:
        for ch in store.channels():
            v = store.active_version(ch)
            if v is None:
                continue
            m = store.load_manifest(ch, v)
            files = expected_files(store, m, box_policy(data))
            task = bar.add_task(f"{ch} v{v}", total=sum(f.size for f in files))
            bad = store.verify_release(m, files, partial(_advance, bar, task))
            results[ch] = {"version": v, "files": len(files),
                           "bytes": sum(f.size for f in files), "bad": [f.path for f in bad]}
            if bad:
                mark_damaged(data, m, [f.path for f in bad])
    if as_json:
        print_json({"channels": results, "ok": all(not r["bad"] for r in results.values())})
    else:
        for ch, r in results.items():
            mark = "[green]OK[/green]" if not r["bad"] else "[red]DAMAGED[/red]"
            console.print(_("{mark} {channel} v{v}: {n} files, {size}").format(
                mark=mark, channel=ch, v=r["version"], n=r["files"], size=human_size(r["bytes"])))
            for p in r["bad"]:
                console.print(_("  damaged or missing: {path}").format(path=p))
    damaged = [p for r in results.values() for p in r["bad"]]
    if damaged:
        raise ContentMismatchError(
            _("{n} file(s) are missing or differ from the signed manifest (e.g. {path}); a "
              "running daemon fetches them again within a minute, or at its next start").format(
                n=len(damaged), path=damaged[0]))


def _advance(bar: Progress, task: TaskID, done: int, _total: int) -> None:
    bar.update(task, completed=done)


@click.command("library")
@data_option
@json_option()
def library(data: Path, as_json: bool) -> None:
    """What this box can play now: themes, titles, durations."""
    store = Store(box_data_dir(data))
    out: dict[str, Any] = {}
    for ch in store.channels():
        v = store.active_version(ch)
        if v is None:
            continue
        m = store.load_manifest(ch, v)
        cat = catalog_of(tuple(_present(store, ch, v)))
        out[ch] = {"version": v, "title": m.title, "themes": [
            {"theme": g.theme, "kinds": [k.value for k in g.kinds], "duration": g.duration,
             "titles": [{"title": f.title, "kind": f.kind.value, "duration": f.duration,
                         "path": f.path} for f in g.files]} for g in cat.groups]}
    if as_json:
        print_json(out)
        return
    if not out:
        console.print(_("nothing to play yet: no release is active"))
    for ch, lib in out.items():
        console.print(_("[bold]{title}[/bold] ({channel} v{v})").format(
            title=lib["title"], channel=ch, v=lib["version"]))
        table = Table(_("theme"), _("titles"), _("duration"))
        for g in lib["themes"]:
            table.add_row(g["theme"], "\n".join(t["title"] for t in g["titles"]),
                          human_duration(g["duration"]))
        console.print(table)


@click.command("doctor")
@data_option
@json_option()
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path),
              help=_("Also write a support bundle (tar.gz, no private keys) to this file."))
def doctor(data: Path, as_json: bool, report: Path | None) -> None:
    """Check the box: clock, disk, permissions, trust root, seeders, mDNS, swarm, daemon."""
    from ..doctor import Verdict, run_checks, write_report

    checks = run_checks(data)
    if report is not None:
        write_report(data, checks, report)
    if as_json:
        print_json({"checks": [{"name": c.name, "verdict": str(c.verdict), "detail": c.detail,
                                 "hint": c.hint} for c in checks],
                     "report": str(report) if report else None})
    else:
        colours = {Verdict.PASS: "green", Verdict.WARN: "yellow", Verdict.FAIL: "red"}
        table = Table(_("check"), _("result"), _("detail"), _("what to do"))
        for c in checks:
            col = colours[c.verdict]
            table.add_row(label(c.name), f"[{col}]{label(c.verdict)}[/{col}]", c.detail, c.hint)
        console.print(table)
        if report is not None:
            console.print(_("support bundle written to {path}").format(path=report))
    if any(c.verdict is Verdict.FAIL for c in checks):
        raise SystemExit(1)


@click.command("discover")
@data_option
@json_option()
@click.option("--seconds", type=float, default=3.0, show_default=True,
              help=_("How long to listen when the daemon is not running."))
@click.option("--interface", "interfaces", multiple=True,
              help=_("Local IP to listen on (repeat; default: all)."))
def discover(data: Path, as_json: bool, seconds: float, interfaces: tuple[str, ...]) -> None:
    """Neighbours seen on the LAN (asks the daemon, or listens itself when it is not running)."""
    import trio

    from ..control import DaemonNotRunningError
    from ..discovery import scan

    source = "daemon"
    try:
        found = request(data, "peers")["neighbours"]
    except DaemonNotRunningError:
        source = "scan"
        neighbours = trio.run(scan, list(interfaces) or None, seconds)
        found = [{"node_id": n.advert.node_id, "role": n.advert.role, "site": n.advert.site,
                  "ip": n.advert.addresses[0] if n.advert.addresses else "",
                  "feed_port": n.advert.feed_port, "swarm_port": n.advert.swarm_port,
                  "channels": dict(n.advert.channels)} for n in neighbours]
    if as_json:
        print_json({"source": source, "neighbours": found})
        return
    table = Table(_("neighbour"), _("role"), _("site"), _("address"), _("channels"))
    for n in found:
        table.add_row(n["node_id"][:12], n.get("role", "box"), n["site"],
                      f"{n['ip']}:{n['feed_port']}",
                      ", ".join(f"{c} v{v}" for c, v in n["channels"].items()))
    console.print(table)
    console.print(_("{n} neighbour(s) ({how})").format(
        n=len(found), how=_("from the daemon") if source == "daemon" else
        _("listened {s:.0f}s").format(s=seconds)))
