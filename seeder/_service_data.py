"""Service data and demand across boxes (pure: plain values in, JSON-able dicts out).

Plays arrive per box and title; the themes come from the catalog of the release this seeder
holds (a title it does not know is counted under no theme). Demand (点单) arrives per box as
counts of ``kind:<kind>``, ``theme:<theme>`` and ``wish:<text>``. The ranking of units orders
boxes by plays (then by the number of titles played, then id), for the selection of outstanding
units.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ._rollout import BoxRecord


def service_report(boxes: Iterable[BoxRecord], *, plays: Mapping[str, Mapping[str, int]],
                   days: Mapping[str, Mapping[str, int]],
                   requests: Mapping[str, Mapping[str, int]],
                   themes_of: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """The dashboard's service and demand views.

    Args:
        boxes: every box that checked in.
        plays: per box id, plays per title.
        days: per box id, plays per day.
        requests: per box id, 点单 counts per key.
        themes_of: per title, its themes in the release's catalog.

    Returns:
        ``{"units", "ranking", "plays_by_title", "plays_by_theme", "demand"}``.
    """
    units: list[dict[str, Any]] = []
    by_title: Counter[str] = Counter()
    by_theme: Counter[str] = Counter()
    for b in sorted(boxes, key=lambda b: (b.site, b.box_id)):
        p = dict(plays.get(b.box_id, {}))
        themes: Counter[str] = Counter()
        for title, n in p.items():
            for t in themes_of.get(title, ("",)):
                themes[t] += n
        by_title.update(p)
        by_theme.update(themes)
        units.append({"box_id": b.box_id, "site": b.site, "via": b.via,
                      "plays": sum(p.values()), "titles_played": len(p),
                      "days_active": len(days.get(b.box_id, {})),
                      "requests": sum(requests.get(b.box_id, {}).values()),
                      "by_title": dict(sorted(p.items(), key=lambda kv: (-kv[1], kv[0]))),
                      "by_theme": dict(sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))),
                      "days": dict(sorted(days.get(b.box_id, {}).items()))})
    ranking = sorted(units, key=lambda u: (-u["plays"], -u["titles_played"], u["box_id"]))
    return {
        "units": units,
        "ranking": [{"rank": i, "box_id": u["box_id"], "site": u["site"], "via": u["via"],
                     "plays": u["plays"], "titles_played": u["titles_played"],
                     "days_active": u["days_active"]} for i, u in enumerate(ranking, 1)],
        "plays_by_title": _ranked(by_title),
        "plays_by_theme": _ranked(by_theme),
        "demand": demand(requests.values()),
    }


def demand(per_box: Iterable[Mapping[str, int]]) -> dict[str, Any]:
    """点单 across boxes: by theme, by kind, the free-text wishes, and how many boxes asked."""
    totals: Counter[str] = Counter()
    boxes: Counter[str] = Counter()
    for counts in per_box:
        totals.update(counts)
        boxes.update(k for k, n in counts.items() if n > 0)
    out: dict[str, list[dict[str, Any]]] = {"theme": [], "kind": [], "wish": []}
    for key, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])):
        kind, _sep, value = key.partition(":")
        if kind in out:
            out[kind].append({"value": value, "requests": n, "boxes": boxes[key]})
    return {"by_theme": out["theme"], "by_kind": out["kind"], "wishes": out["wish"],
            "total": sum(totals.values())}


def _ranked(c: Counter[str]) -> list[dict[str, Any]]:
    return [{"name": k, "plays": n} for k, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))]
