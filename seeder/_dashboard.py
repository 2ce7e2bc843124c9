"""The operator's dashboard a seeder serves (`seeder init --web`): rollout, service, demand.

Read-only and without a login (nothing here writes; a write would need one). Every view reads
the check-in database afresh through `rollout_report`, the same data `seeder status --json`
prints:

====================  ==============================================================
``/``                 the dashboard (HTML, Chinese first, English by Accept-Language)
``/api/report``       everything below in one JSON object (`seeder status --json`)
``/api/rollout``      per channel and version; per box: done / downloading / stuck
``/api/service``      plays per unit, title and theme; the ranking of units
``/api/demand``       点单 by theme, kind and wish across boxes
``/api/boxes.csv``    one row per box and channel
``/api/ranking.csv``  the ranking of units by service
``/api/demand.csv``   one row per demand key
====================  ==============================================================
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from html import escape
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from p2pdist.i18n import _, language
from p2pdist.web import CSP, pick_language, static_file

from ._report import rollout_report


class DashboardApp:
    """The ASGI app over a function that makes the report (`rollout_report` with settings)."""

    def __init__(self, report: Callable[[float], dict[str, Any]]) -> None:
        self.report = report
        self.app = Starlette(routes=[
            Route("/", self.home),
            Route("/api/report", self.api("report")),
            Route("/api/rollout", self.api("rollout")),
            Route("/api/service", self.api("service")),
            Route("/api/demand", self.api("demand")),
            Route("/api/boxes.csv", self.csv(boxes_rows)),
            Route("/api/ranking.csv", self.csv(ranking_rows)),
            Route("/api/demand.csv", self.csv(demand_rows)),
            Route("/static/{name}", self.static),
        ])

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    async def _report(self) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(self.report, time.time())

    def api(self, view: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            r = await self._report()
            if view == "rollout":
                r = {k: v for k, v in r.items() if k != "service"}
            elif view == "service":
                r = {k: v for k, v in r["service"].items() if k != "demand"}
            elif view == "demand":
                r = r["service"]["demand"]
            return JSONResponse(r)
        return endpoint

    def csv(self, rows: Callable[[dict[str, Any]], list[list[Any]]]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            out = io.StringIO()
            csv.writer(out).writerows(rows(await self._report()))
            return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
        return endpoint

    async def static(self, request: Request) -> Response:
        found = static_file(request.path_params["name"])
        if found is None:
            return JSONResponse({"error": "Not Found"}, status_code=404)
        return Response(found[0], media_type=found[1])

    async def home(self, request: Request) -> Response:
        report = await self._report()
        lang = pick_language(request.headers.get("accept-language"))
        with language([lang]):
            html = render(report, "zh-CN" if lang == "zh_CN" else "en")
        return HTMLResponse(html, headers={"content-language": lang, "vary": "accept-language",
                                           "content-security-policy": CSP})


def boxes_rows(r: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [["box_id", "site", "via", "channel", "version", "state", "status",
                              "progress", "rate", "problem", "last_seen", "clock_trusted"]]
    for b in r["boxes"]:
        for c, ch in (b["channels"] or {"": {}}).items():
            rows.append([b["box_id"], b["site"], b["via"], c, ch.get("version"), ch.get("state"),
                         ch.get("status"), ch.get("progress"), ch.get("rate"),
                         ch.get("problem"), b["last_seen"], b["clock_trusted"]])
    return rows


def ranking_rows(r: dict[str, Any]) -> list[list[Any]]:
    keys = ["rank", "box_id", "site", "via", "plays", "titles_played", "days_active"]
    return [keys] + [[u[k] for k in keys] for u in r["service"]["ranking"]]


def demand_rows(r: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = [["type", "value", "requests", "boxes"]]
    d = r["service"]["demand"]
    for kind, key in (("theme", "by_theme"), ("kind", "by_kind"), ("wish", "wishes")):
        rows += [[kind, x["value"], x["requests"], x["boxes"]] for x in d[key]]
    return rows


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(head)}">{escape(_("nothing reported yet"))}</td></tr>'
    return f'<table class="grid {cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _ago(now: float, t: float | None) -> str:
    if t is None:
        return escape(_("never"))
    s = max(0, now - t)
    if s < 90:
        return escape(_("{n} s ago").format(n=round(s)))
    if s < 7200:
        return escape(_("{n} min ago").format(n=round(s / 60)))
    return escape(_("{n} h ago").format(n=round(s / 3600)))


def _rate(n: int) -> str:
    return f"{n / 1e6:.1f} MB/s" if n >= 100_000 else f"{n / 1e3:.0f} kB/s"


def _box_state(ch: dict[str, Any]) -> str:
    if ch["status"] == "done":
        return f'<span class="ok">{escape(_("update done"))}</span>'
    if ch.get("problem"):
        return (f'<span class="bad">{escape(_("stuck"))}</span>: '
                f'<span class="small">{escape(ch["problem"])}</span>')
    if ch["state"] == "downloading":
        return escape(_("downloading {p}% at {rate}").format(
            p=round(100 * ch["progress"]), rate=_rate(ch.get("rate") or 0)))
    if ch["status"] == "stale":
        return f'<span class="bad">{escape(_("silent"))}</span>'
    return escape(ch["state"])


def render(r: dict[str, Any], lang: str) -> str:
    now = r["generated"]
    svc = r["service"]
    rollout = _table(
        [_("channel"), _("latest"), _("done"), _("in progress"), _("stale"), _("never seen"),
         _("versions")],
        [[escape(c), escape(f"v{x['latest']}" if x["latest"] else "-"), str(x["done"]),
          str(x["in_progress"]), str(x["stale"]), str(x["never_seen"]),
          escape(", ".join(f"v{v}: {n}" for v, n in x["versions"].items()))]
         for c, x in r["channels"].items()])
    boxes = []
    for b in sorted(r["boxes"], key=lambda b: (b["via"] or "", b["site"] or "", b["box_id"])):
        for c, ch in b["channels"].items():
            clock = "" if b["clock_trusted"] in (True, None) else " ⚠"
            boxes.append([escape(b["via"] or "-"), escape(b["site"] or "-"),
                          f"<code>{escape(b['box_id'][:12])}</code>", escape(c),
                          escape(f"v{ch['version']}"), _box_state(ch),
                          _ago(now, b["last_seen"]) + escape(clock)])
    box_table = _table([_("via"), _("site"), _("box"), _("channel"), _("version"), _("state"),
                        _("last seen")], boxes, "boxes")
    ranking = _table([_("rank"), _("site"), _("box"), _("plays"), _("titles played"),
                      _("days active")],
                     [[str(u["rank"]), escape(u["site"] or "-"),
                       f"<code>{escape(u['box_id'][:12])}</code>", str(u["plays"]),
                       str(u["titles_played"]), str(u["days_active"])]
                      for u in svc["ranking"]])
    titles = _table([_("title"), _("plays")], [[escape(t["name"]), str(t["plays"])]
                                              for t in svc["plays_by_title"][:20]])
    themes = _table([_("theme"), _("plays")], [[escape(t["name"] or _("(no theme)")),
                                                str(t["plays"])] for t in svc["plays_by_theme"]])
    d = svc["demand"]
    demand = _table([_("asked for"), _("requests"), _("boxes")],
                    [[escape(_("theme: {v}").format(v=x["value"])), str(x["requests"]),
                      str(x["boxes"])] for x in d["by_theme"]]
                    + [[escape(_("kind: {v}").format(v=x["value"])), str(x["requests"]),
                        str(x["boxes"])] for x in d["by_kind"]]
                    + [[escape(_("wish: {v}").format(v=x["value"])), str(x["requests"]),
                        str(x["boxes"])] for x in d["wishes"]])
    seen = sum(1 for b in r["boxes"] if b["seen"])
    summary = _("{boxes} boxes reported in {n} check-ins.").format(boxes=seen, n=r["checkins"])
    links = " · ".join(f'<a href="{u}">{escape(n)}</a>' for u, n in (
        ("/api/report", "JSON"), ("/api/boxes.csv", _("boxes (CSV)")),
        ("/api/ranking.csv", _("ranking (CSV)")), ("/api/demand.csv", _("demand (CSV)"))))
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10">
<title>{escape(_("Rollout dashboard"))}</title>
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css"></head><body>
<header><span class="home"><img src="/static/icon.svg" alt="" width="32" height="32">
<span>{escape(_("Rollout dashboard"))}</span></span><nav>{links}</nav></header>
<main class="dashboard"><p>{escape(summary)}</p>
<h2>{escape(_("Rollout per channel and version"))}</h2>{rollout}
<h2>{escape(_("Boxes by province, site and box"))}</h2>{box_table}
<div class="cols"><section><h2>{escape(_("Ranking of units by service"))}</h2>{ranking}</section>
<section><h2>{escape(_("Demand (点单)"))}</h2>{demand}</section></div>
<div class="cols"><section><h2>{escape(_("Plays by title"))}</h2>{titles}</section>
<section><h2>{escape(_("Plays by theme"))}</h2>{themes}</section></div>
</main></body></html>"""


def make_app(data: Any, *, channels: tuple[str, ...] | None, allowed: frozenset[str] | None,
             stale_hours: float) -> DashboardApp:
    """The dashboard over the seeder data directory `data`."""
    return DashboardApp(lambda now: rollout_report(data, channels=channels, allowed=allowed,
                                                   stale_hours=stale_hours, now=now))
