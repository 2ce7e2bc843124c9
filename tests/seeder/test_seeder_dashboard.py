"""The dashboard's views over a rollout report: a stuck box shows its reason, a downloading one
its progress and rate; CSV and JSON carry the same rows."""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import Any

import httpx
import trio

from p2pdist.checkin import ChannelReport
from p2pdist.feeds import serve_asgi
from seeder._dashboard import DashboardApp, boxes_rows
from seeder._rollout import BoxRecord, summarize
from seeder._service_data import service_report

C = "national/winter-2027"
NOW = 1_800_000_000.0


def report(now: float) -> dict[str, Any]:
    boxes = [
        BoxRecord("a" * 64, "红星乡", NOW, NOW - 60, 3, 0,
                  {C: ChannelReport(0, "failed", 0.3, 0, "StorageError: the disk is full")},
                  via="10.1.0.1"),
        BoxRecord("b" * 64, "河口镇", NOW, NOW - 5, 4, 0,
                  {C: ChannelReport(0, "downloading", 0.42, 1_500_000)}, via="10.2.0.1"),
        BoxRecord("c" * 64, "河口镇", NOW, NOW - 5, 4, 0, {C: ChannelReport(1, "seeding", 1.0)},
                  clock_trusted=False, via="10.2.0.1"),
    ]
    r = summarize(boxes, latest={C: 1}, allowed=None, top_titles=[], site_plays={}, now=NOW,
                  stale_after_s=86400)
    r["checkins"] = 11
    r["service"] = service_report(boxes, plays={"c" * 64: {"过年好": 4}}, days={},
                                  requests={"a" * 64: {"wish:多放戏曲": 2}},
                                  themes_of={"过年好": ("新春团聚",)})
    return r


async def test_the_dashboard_shows_stuck_downloading_and_done_boxes() -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve_asgi, DashboardApp(report), "127.0.0.1:0",
                                           name="dashboard"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            page = (await client.get("/", headers={"Accept-Language": "en"})).text
            assert "stuck" in page and "StorageError: the disk is full" in page
            assert "downloading 42% at 1.5 MB/s" in page
            assert "done" in page and "多放戏曲" in page and "⚠" in page  # untrusted clock
            zh = (await client.get("/")).text
            assert "卡住" in zh and "下载中 42%" in zh
            rows = list(csv.reader(io.StringIO((await client.get("/api/boxes.csv")).text)))
            assert rows == [[str(x) if x is not None else "" for x in row]
                            for row in boxes_rows(report(NOW))]
            assert (await client.get("/api/rollout")).json()["channels"][C]["done"] == 1
            ranking = (await client.get("/api/service")).json()["ranking"]
            assert ranking[0]["box_id"] == "c" * 64
            demand = (await client.get("/api/demand")).json()
            assert demand["wishes"][0]["value"] == "多放戏曲"
            assert (await client.post("/api/report")).status_code == 405  # read-only
            assert (await client.get("/static/..%2f_config.py")).status_code == 404
        nursery.cancel_scope.cancel()
