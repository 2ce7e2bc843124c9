"""Rollout progress from the boxes' last check-ins (pure: plain values in, a JSON-able dict out).

For each channel the target is the newest version this seeder holds (or, if it holds none, the
newest any box reports). Each box that reports the channel is in exactly one bucket:

- **done**: its active version is the target or newer;
- **stale**: not done, and silent for longer than the stale limit (its report may be old news);
- **in progress**: not done, and heard from recently.

Boxes on the allow-list that never checked in are **never seen**; they count against every
channel, because nothing tells which channels they follow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from p2pdist.checkin import ChannelReport

DONE = "done"
IN_PROGRESS = "in_progress"
STALE = "stale"
NEVER_SEEN = "never_seen"


@dataclass(frozen=True)
class BoxRecord:
    """What the seeder knows about one box: its newest check-in and when it arrived.

    Attributes:
        last_seen: the seeder's clock when the newest check-in arrived (boxes' clocks drift).
    """

    box_id: str
    site: str
    first_seen: float
    last_seen: float
    last_seq: int
    free_disk: int
    channels: Mapping[str, ChannelReport]
    clock_trusted: bool = True
    via: str = ""
    """The address the newest check-in came from: the box itself, or (at a parent) the lower
    seeder that forwarded it, i.e. the province."""


def _status(report: ChannelReport, target: int | None, stale: bool) -> str:
    if target is not None and report.version >= target:
        return DONE
    return STALE if stale else IN_PROGRESS


def summarize(
    boxes: Iterable[BoxRecord],
    *,
    latest: Mapping[str, int | None],
    allowed: frozenset[str] | None,
    top_titles: Iterable[tuple[str, int]],
    site_plays: Mapping[str, int],
    now: float,
    stale_after_s: float,
) -> dict[str, Any]:
    """The rollout report.

    Args:
        boxes: every box that checked in.
        latest: per channel the seeder carries, the version it holds (None: none yet).
        allowed: the allow-list, if any (for "never seen").
        top_titles: (title, plays), most played first.
        site_plays: plays per site.
        now: the seeder's clock.
        stale_after_s: silence after which a box is stale.

    Returns:
        ``{"channels", "sites", "top_titles", "boxes", "stale_after_s", "generated"}``; keys
        are stable, channels and sites sorted by name, boxes by site then id.
    """
    records = sorted(boxes, key=lambda b: (b.site, b.box_id))
    seen = {b.box_id for b in records}
    never = sorted((allowed or frozenset()) - seen)
    names = sorted(set(latest) | {c for b in records for c in b.channels})
    targets: dict[str, int | None] = {}
    for c in names:
        reported = [b.channels[c].version for b in records if c in b.channels]
        held = latest.get(c)
        targets[c] = held if held is not None else max((v for v in reported if v > 0),
                                                        default=None)
    stale = {b.box_id: now - b.last_seen > stale_after_s for b in records}

    channels: dict[str, Any] = {}
    for c in names:
        counts = Counter({DONE: 0, IN_PROGRESS: 0, STALE: 0})
        versions: Counter[int] = Counter()
        for b in records:
            if c in b.channels:
                counts[_status(b.channels[c], targets[c], stale[b.box_id])] += 1
                versions[b.channels[c].version] += 1
        channels[c] = {"latest": targets[c], DONE: counts[DONE], IN_PROGRESS: counts[IN_PROGRESS],
                       STALE: counts[STALE], NEVER_SEEN: len(never),
                       "versions": {str(v): n for v, n in sorted(versions.items())}}

    sites: dict[str, Any] = {}
    for b in records:
        s = sites.setdefault(b.site, {"boxes": 0, "up_to_date": 0, STALE: 0, "last_seen": None,
                                      "plays": site_plays.get(b.site, 0)})
        s["boxes"] += 1
        s[STALE] += stale[b.box_id]
        s["up_to_date"] += all(_status(r, targets[c], False) == DONE
                               for c, r in b.channels.items())
        s["last_seen"] = max(s["last_seen"] or 0.0, b.last_seen)

    listed: list[dict[str, Any]] = [{
        "box_id": b.box_id,
        "site": b.site,
        "seen": True,
        "first_seen": b.first_seen,
        "last_seen": b.last_seen,
        "age_s": round(now - b.last_seen, 1),
        STALE: stale[b.box_id],
        "seq": b.last_seq,
        "free_disk": b.free_disk,
        "clock_trusted": b.clock_trusted,
        "via": b.via,
        "channels": {c: {"version": r.version, "state": r.state, "progress": r.progress,
                         "rate": r.rate, "problem": r.problem,
                         "status": _status(r, targets[c], stale[b.box_id])}
                     for c, r in sorted(b.channels.items())},
    } for b in records]
    listed += [{"box_id": i, "site": None, "seen": False, "first_seen": None, "last_seen": None,
                "age_s": None, STALE: None, "seq": None, "free_disk": None,
                "clock_trusted": None, "via": None, "channels": {}}
               for i in never]
    return {
        "generated": now,
        "stale_after_s": stale_after_s,
        "channels": channels,
        "sites": dict(sorted(sites.items())),
        "top_titles": [{"title": t, "plays": n} for t, n in top_titles],
        "boxes": listed,
    }
