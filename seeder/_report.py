"""`seeder status`'s and the dashboard's data: the rollout summary, the service data and the
demand over a seeder's data directory (read only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from p2pdist.store import Store

from ._db import CheckinDB, db_path
from ._rollout import summarize
from ._service_data import service_report

TOP_TITLES = 10


def rollout_report(data: Path, *, channels: tuple[str, ...] | None,
                   allowed: frozenset[str] | None, stale_hours: float, now: float
                   ) -> dict[str, Any]:
    """Summarize what the boxes reported to the seeder at `data` (see `summarize`).

    Args:
        data: the seeder's data directory (its store says which versions are current).
        channels: the channels the seeder carries; None for every channel it holds.
        allowed: the allow-list, for boxes never seen.
        stale_hours: silence after which a box is stale.
        now: the clock.

    Raises:
        ConfigError: no check-in database (not a seeder's data directory).
        StorageError: the database or store cannot be read.
    """
    db = CheckinDB.open_existing(db_path(data))
    try:
        store = Store(data)
        names = channels if channels is not None else tuple(store.channels())
        report = summarize(db.boxes(), latest={c: store.active_version(c) for c in names},
                           allowed=allowed, top_titles=db.top_titles(TOP_TITLES),
                           site_plays=db.site_plays(), now=now,
                           stale_after_s=stale_hours * 3600)
        report["checkins"] = db.checkin_count()
        report["service"] = service_report(
            db.boxes(), plays=db.plays_by_box(), days=db.days_by_box(),
            requests=db.requests_by_box(), themes_of=catalog_themes(store, names))
        return report
    finally:
        db.close()


def catalog_themes(store: Store, channels: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Per title, its themes, from the newest manifest recorded for each channel (a seeder
    still fetching a release, or one that only collects check-ins, knows the catalog too)."""
    out: dict[str, tuple[str, ...]] = {}
    for c in channels:
        versions = store.releases(c)
        if versions:
            for f in store.load_manifest(c, versions[-1]).files:
                out.setdefault(f.title, f.themes)
    return out
