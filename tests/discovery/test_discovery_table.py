"""NeighbourTable: the bounded memory of neighbours (pure; time is passed in)."""

from __future__ import annotations

import secrets
import tracemalloc

import pytest

from p2pdist.discovery import Advert, ChangeKind, NeighbourChange, NeighbourTable

SELF = "5e1f" * 16


def node(i: int) -> str:
    return f"{i:016x}" + "ab" * 8


def ad(node_id: str, version: int = 1) -> Advert:
    return Advert(
        node_id=node_id,
        role="box",
        feed_port=8000,
        swarm_port=6881,
        channels={"national/winter-2027": version},
        addresses=("127.0.0.1",),
    )


def kinds(changes: list[NeighbourChange]) -> list[tuple[ChangeKind, str]]:
    return [(c.kind, c.neighbour.node_id) for c in changes]


APPEARED, UPDATED, DISAPPEARED = ChangeKind.APPEARED, ChangeKind.UPDATED, ChangeKind.DISAPPEARED


class TestSeen:
    def test_first_sight_appears_then_confirmations_are_silent(self) -> None:
        t = NeighbourTable(SELF)
        assert kinds(t.seen(ad(node(1)), 0.0, "n1")) == [(APPEARED, node(1))]
        assert t.seen(ad(node(1)), 5.0, "n1") == []
        [n] = t.active(5.0)
        assert (n.first_seen, n.last_seen, n.name) == (0.0, 5.0, "n1")

    def test_changed_advert_or_name_is_an_update(self) -> None:
        t = NeighbourTable(SELF)
        t.seen(ad(node(1)), 0.0, "n1")
        [change] = t.seen(ad(node(1), version=2), 1.0, "n1")
        assert (
            change.kind is UPDATED and change.neighbour.advert.channels["national/winter-2027"] == 2
        )
        assert kinds(t.seen(ad(node(1), version=2), 2.0, "n1-2")) == [(UPDATED, node(1))]

    def test_ourselves_are_never_stored(self) -> None:
        t = NeighbourTable(SELF)
        assert t.seen(ad(SELF), 0.0) == []
        assert t.active(0.0) == [] and len(t) == 0
        assert t.penalize(SELF, 0.0) == []

    def test_active_is_ordered_by_node_id(self) -> None:
        t = NeighbourTable(SELF)
        for i in (3, 1, 2):
            t.seen(ad(node(i)), float(i))
        assert [n.node_id for n in t.active(3.0)] == [node(1), node(2), node(3)]

    def test_node_for_name(self) -> None:
        t = NeighbourTable(SELF)
        t.seen(ad(node(1)), 0.0, "n1")
        assert t.node_for_name("n1") == node(1)
        assert t.node_for_name("n2") is None
        assert t.get(node(1)) is not None and t.get(node(2)) is None


class TestGone:
    def test_goodbye_disappears(self) -> None:
        t = NeighbourTable(SELF)
        t.seen(ad(node(1)), 0.0, "n1")
        assert kinds(t.gone(node(1))) == [(DISAPPEARED, node(1))]
        assert t.gone(node(1)) == [] and t.active(0.0) == []

    def test_unknown_goodbye_is_ignored(self) -> None:
        assert NeighbourTable(SELF).gone(node(9)) == []


class TestTtl:
    def test_expires_unless_seen_again(self) -> None:
        t = NeighbourTable(SELF, ttl=10.0)
        t.seen(ad(node(1)), 0.0)
        t.seen(ad(node(2)), 0.0)
        t.seen(ad(node(2)), 8.0)
        assert t.expire(10.0) == []
        assert [n.node_id for n in t.active(10.5)] == [node(2)]
        assert kinds(t.expire(10.5)) == [(DISAPPEARED, node(1))]
        assert kinds(t.expire(18.5)) == [(DISAPPEARED, node(2))]
        assert len(t) == 0

    def test_expired_neighbour_that_returns_appears_again(self) -> None:
        t = NeighbourTable(SELF, ttl=10.0)
        t.seen(ad(node(1)), 0.0)
        t.expire(11.0)
        assert kinds(t.seen(ad(node(1)), 12.0)) == [(APPEARED, node(1))]
        assert t.active(12.0)[0].first_seen == 12.0


class TestCapacity:
    def test_least_recently_seen_is_evicted(self) -> None:
        t = NeighbourTable(SELF, capacity=3)
        for i in range(3):
            t.seen(ad(node(i)), float(i))
        t.seen(ad(node(0)), 3.0)  # node 0 is now the most recently seen
        changes = t.seen(ad(node(9)), 4.0)
        assert kinds(changes) == [(DISAPPEARED, node(1)), (APPEARED, node(9))]
        assert [n.node_id for n in t.active(4.0)] == [node(0), node(2), node(9)]

    def test_thousands_of_bogus_records_stay_within_capacity(self) -> None:
        t = NeighbourTable(SELF, capacity=256)
        appeared = disappeared = 0
        for i in range(5_000):
            for c in t.seen(ad(secrets.token_hex(32)), i * 0.001, f"bogus-{i}"):
                appeared += c.kind is APPEARED
                disappeared += c.kind is DISAPPEARED
        assert len(t) == 256 and len(t.active(5.0)) == 256
        assert appeared - disappeared == 256  # the consumer's view stays consistent
        assert len(t._visible) == 256

    def test_memory_does_not_grow_with_more_bogus_records(self) -> None:
        t = NeighbourTable(SELF, capacity=256)
        # Adverts are built beforehand so only the table's own allocations are measured.
        adverts = [ad(secrets.token_hex(32)) for _ in range(12_000)]
        names = [f"bogus-{i}" for i in range(len(adverts))]

        def feed(start: int, stop: int) -> None:
            for i in range(start, stop):
                t.seen(adverts[i], float(i), names[i])
                t.penalize(adverts[i].node_id, float(i))

        tracemalloc.start()
        try:
            feed(0, 2_000)  # the table and the penalty records are full from here on
            filled = tracemalloc.get_traced_memory()[0]
            feed(2_000, 12_000)
            grown = tracemalloc.get_traced_memory()[0] - filled
        finally:
            tracemalloc.stop()
        print(f"table growth over 10,000 more bogus records: {grown} bytes")
        # A table that kept them would grow by megabytes.
        assert grown < 20_000, grown
        assert len(t) == 256 and len(t._penalties) == t.max_penalties


class TestPenalties:
    def test_penalized_neighbour_is_hidden_then_returns(self) -> None:
        t = NeighbourTable(SELF, ttl=1000.0)
        t.seen(ad(node(1)), 0.0)
        assert kinds(t.penalize(node(1), 1.0, 60.0)) == [(DISAPPEARED, node(1))]
        assert t.active(30.0) == []
        assert t.seen(ad(node(1)), 30.0) == []  # re-announcing does not lift it
        assert t.expire(60.5) == []
        assert kinds(t.expire(61.5)) == [(APPEARED, node(1))]
        assert [n.node_id for n in t.active(61.5)] == [node(1)]

    def test_repeats_double_up_to_the_cap(self) -> None:
        t = NeighbourTable(SELF, max_penalty=300.0)
        ends = []
        now = 0.0
        for _ in range(6):
            t.penalize(node(1), now, 60.0)
            ends.append(t.penalties(now)[node(1)] - now)
            now = t.penalties(now)[node(1)] + 1.0  # misbehaves again just after each penalty
        assert ends == [60.0, 120.0, 240.0, 300.0, 300.0, 300.0]

    def test_penalty_survives_goodbye(self) -> None:
        t = NeighbourTable(SELF)
        t.seen(ad(node(1)), 0.0)
        t.penalize(node(1), 0.0, 60.0)
        t.gone(node(1))
        assert t.seen(ad(node(1)), 10.0) == [] and t.active(10.0) == []

    def test_strikes_are_forgotten_after_good_behaviour(self) -> None:
        t = NeighbourTable(SELF, max_penalty=300.0)
        t.penalize(node(1), 0.0, 60.0)
        t.penalize(node(1), 61.0, 60.0)  # second strike: 120 s, ends at 181
        t.expire(181.0 + 300.0 + 1.0)
        assert t.penalties(500.0) == {}
        t.penalize(node(1), 1000.0, 60.0)
        assert t.penalties(1000.0)[node(1)] == 1060.0

    def test_penalty_of_an_unknown_node_applies_when_it_appears(self) -> None:
        t = NeighbourTable(SELF)
        assert t.penalize(node(7), 0.0, 10.0) == []
        assert t.seen(ad(node(7)), 1.0) == []
        assert kinds(t.expire(10.5)) == [(APPEARED, node(7))]

    def test_penalty_records_are_bounded(self) -> None:
        t = NeighbourTable(SELF, max_penalties=100)
        for i in range(5_000):
            t.penalize(node(i), float(i), 60.0 + i)
        assert len(t._penalties) == 100
        # The oldest records made room: the latest penalties are all kept.
        assert set(t.penalties(4_999.0)) == {node(i) for i in range(4_900, 5_000)}

    def test_non_positive_penalty_is_refused(self) -> None:
        with pytest.raises(ValueError):
            NeighbourTable(SELF).penalize(node(1), 0.0, 0.0)

    def test_evicting_a_hidden_neighbour_reports_nothing(self) -> None:
        t = NeighbourTable(SELF, capacity=1)
        t.seen(ad(node(1)), 0.0)
        t.penalize(node(1), 0.0, 60.0)
        assert kinds(t.seen(ad(node(2)), 1.0)) == [(APPEARED, node(2))]


@pytest.mark.parametrize(
    "limits",
    [{"capacity": 0}, {"ttl": 0.0}, {"max_penalties": 0}, {"max_penalty": -1.0}],
)
def test_limits_must_be_positive(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        NeighbourTable(SELF, **limits)  # type: ignore[arg-type]
