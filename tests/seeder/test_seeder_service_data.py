"""Service data and demand across boxes (pure)."""

from __future__ import annotations

from seeder._rollout import BoxRecord
from seeder._service_data import service_report


def box(i: str, site: str) -> BoxRecord:
    return BoxRecord(i, site, 0.0, 0.0, 1, 0, {})


def test_plays_by_theme_ranking_and_demand() -> None:
    r = service_report(
        [box("a", "城关站"), box("b", "河口站"), box("c", "河口站")],
        plays={"a": {"过年好": 3, "微信聊天": 1}, "b": {"过年好": 5, "未知": 1}},
        days={"a": {"2027-01-28": 4}, "b": {"2027-01-28": 2, "2027-01-29": 4}},
        requests={"a": {"theme:戏曲": 2, "wish:多放电影": 1}, "c": {"theme:戏曲": 1}},
        themes_of={"过年好": ("新春团聚", "峥嵘岁月"), "微信聊天": ("跨越时空拜新年",)})
    assert [u["box_id"] for u in r["ranking"]] == ["b", "a", "c"]
    assert r["ranking"][0] == {"rank": 1, "box_id": "b", "site": "河口站", "via": "", "plays": 6,
                               "titles_played": 2, "days_active": 2}
    # a film in two themes counts in each theme, once in the totals
    assert r["plays_by_theme"] == [{"name": "峥嵘岁月", "plays": 8},
                                   {"name": "新春团聚", "plays": 8},
                                   {"name": "", "plays": 1},
                                   {"name": "跨越时空拜新年", "plays": 1}]
    assert sum(t["plays"] for t in r["plays_by_title"]) == 10
    assert r["demand"] == {"by_theme": [{"value": "戏曲", "requests": 3, "boxes": 2}],
                           "by_kind": [],
                           "wishes": [{"value": "多放电影", "requests": 1, "boxes": 1}],
                           "total": 4}
