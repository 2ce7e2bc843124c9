"""The browse pipeline with a fake Zeroconf behind the real bridge.

Events are fired from a plain thread, as python-zeroconf's browser thread does, so the thread ->
trio hand-over is the real one; resolution goes through a fake `get_service_info` whose answers
and delays the tests control. Also the pure helpers of the zeroconf shell.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
import trio
from zeroconf import ServiceInfo, ServiceStateChange

from p2pdist.discovery import (
    SERVICE_TYPE,
    Advert,
    ChangeKind,
    NeighbourChange,
    NeighbourTable,
    _browse,
    _zc,
)
from p2pdist.errors import ConfigError

Added, Updated, Removed = (
    ServiceStateChange.Added,
    ServiceStateChange.Updated,
    ServiceStateChange.Removed,
)


def node(i: int) -> str:
    return f"{i:016x}" + "cd" * 8


def name_of(node_id: str) -> str:
    return f"p2pdist-{node_id[:16]}.{SERVICE_TYPE}"


def info(node_id: str, version: int = 1, **txt: str) -> ServiceInfo:
    a = Advert(
        node_id=node_id,
        role="box",
        feed_port=8000,
        swarm_port=6881,
        channels={"national/winter-2027": version},
    )
    return ServiceInfo(
        SERVICE_TYPE,
        name_of(node_id),
        port=8000,
        properties={k.encode(): v.encode() for k, v in {**a.to_txt(), **txt}.items()},
        parsed_addresses=["127.0.0.1"],
    )


class FakeZeroconf:
    """Answers `get_service_info` from `records`; a name with a gate blocks until it opens."""

    def __init__(self) -> None:
        self.records: dict[str, ServiceInfo] = {}
        self.gates: dict[str, threading.Event] = {}
        self.calls: dict[str, int] = {}
        self.entered = threading.Event()

    def get_service_info(self, type_: str, name: str, timeout: int = 3000) -> ServiceInfo | None:
        assert type_ == SERVICE_TYPE
        self.calls[name] = self.calls.get(name, 0) + 1
        self.entered.set()
        gate = self.gates.get(name)
        if gate is not None:
            gate.wait()  # ignores the timeout, like a stuck call would
        return self.records.get(name)


class FakeBrowser:
    def __init__(self, handler: Callable[..., None]) -> None:
        self.handler = handler
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class World:
    def __init__(self, zc: FakeZeroconf, table: NeighbourTable, browsing: _browse.Browsing) -> None:
        self.zc = zc
        self.table = table
        self.browsing = browsing
        self.changes: list[NeighbourChange] = []
        self.browser: FakeBrowser | None = None

    def fire(self, *events: tuple[str, ServiceStateChange]) -> None:
        """Fire events from a foreign thread, as the zeroconf browser thread does."""
        assert self.browser is not None
        handler = self.browser.handler

        def run() -> None:
            for name, change in events:
                handler(zeroconf=self.zc, service_type=SERVICE_TYPE, name=name, state_change=change)

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        with trio.fail_after(timeout):
            while not predicate():
                await trio.sleep(0.01)


@pytest.fixture
def fake_browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[FakeBrowser]]:
    made: list[FakeBrowser] = []

    def start_browser(zc: object, handler: Callable[..., None]) -> FakeBrowser:
        made.append(FakeBrowser(handler))
        return made[-1]

    monkeypatch.setattr(_zc, "start_browser", start_browser)
    yield made


async def start_world(
    nursery: trio.Nursery,
    made: list[FakeBrowser],
    *,
    capacity: int = 256,
    resolve_timeout: float = 1.0,
) -> World:
    zc = FakeZeroconf()
    table = NeighbourTable(node(0), capacity=capacity)
    browsing = _browse.Browsing(
        zc,  # type: ignore[arg-type]
        table,
        lambda changes: world.changes.extend(changes),
        resolve_timeout=resolve_timeout,
        refresh_interval=float("inf"),
    )
    world = World(zc, table, browsing)
    await nursery.start(browsing.run)
    world.browser = made[-1]
    return world


async def test_added_from_a_foreign_thread_reaches_the_table(
    fake_browser: list[FakeBrowser],
) -> None:
    async with trio.open_nursery() as nursery:
        w = await start_world(nursery, fake_browser)
        w.zc.records[name_of(node(1))] = info(node(1))
        w.fire((name_of(node(1)), Added))
        await w.until(lambda: len(w.changes) == 1)
        assert w.changes[0].kind is ChangeKind.APPEARED
        assert w.changes[0].neighbour.advert.addresses == ("127.0.0.1",)
        w.fire((name_of(node(1)), Removed))
        await w.until(lambda: len(w.changes) == 2)
        assert w.changes[1].kind is ChangeKind.DISAPPEARED
        nursery.cancel_scope.cancel()
    assert fake_browser[-1].cancelled


async def test_lying_record_is_counted_and_the_pipeline_goes_on(
    fake_browser: list[FakeBrowser],
) -> None:
    async with trio.open_nursery() as nursery:
        w = await start_world(nursery, fake_browser)
        w.zc.records[name_of(node(1))] = info(node(1), sp="99999")
        w.zc.records[name_of(node(2))] = info(node(2))
        w.fire((name_of(node(1)), Added), ("not even a name", Added), (name_of(node(2)), Added))
        await w.until(lambda: len(w.changes) == 1)
        assert w.changes[0].neighbour.node_id == node(2)
        assert w.browsing.rejected == 1
        assert [n.node_id for n in w.table.active(trio.current_time())] == [node(2)]
        nursery.cancel_scope.cancel()


async def test_goodbye_while_resolving_voids_the_answer(fake_browser: list[FakeBrowser]) -> None:
    async with trio.open_nursery() as nursery:
        w = await start_world(nursery, fake_browser)
        name = name_of(node(1))
        w.zc.records[name] = info(node(1))
        w.zc.gates[name] = gate = threading.Event()
        w.fire((name, Added))
        await trio.to_thread.run_sync(w.zc.entered.wait)
        w.fire((name, Removed))
        await w.until(lambda: name in w.browsing._removed)
        gate.set()
        await w.until(lambda: not w.browsing._resolving)
        assert w.changes == [] and len(w.table) == 0
        nursery.cancel_scope.cancel()


async def test_update_while_resolving_resolves_again(fake_browser: list[FakeBrowser]) -> None:
    async with trio.open_nursery() as nursery:
        w = await start_world(nursery, fake_browser)
        name = name_of(node(1))
        w.zc.records[name] = info(node(1), version=1)
        w.zc.gates[name] = gate = threading.Event()
        w.fire((name, Added))
        await trio.to_thread.run_sync(w.zc.entered.wait)
        w.zc.records[name] = info(node(1), version=2)
        w.fire((name, Updated), (name, Updated))
        await w.until(lambda: name in w.browsing._rerun)
        gate.set()
        await w.until(lambda: not w.browsing._resolving)
        assert w.zc.calls[name] == 2  # the two updates were coalesced into one re-run
        [n] = w.table.active(trio.current_time())
        assert n.advert.channels["national/winter-2027"] == 2
        nursery.cancel_scope.cancel()


async def test_stuck_resolution_is_abandoned_and_frees_its_slot(
    fake_browser: list[FakeBrowser],
) -> None:
    stuck = [name_of(node(i)) for i in range(1, _browse.RESOLVERS + 1)]
    gate = threading.Event()
    try:
        async with trio.open_nursery() as nursery:
            w = await start_world(nursery, fake_browser, resolve_timeout=0.2)
            for name in stuck:
                w.zc.gates[name] = gate
            w.zc.records[name_of(node(9))] = info(node(9))
            w.fire(*[(name, Added) for name in stuck], (name_of(node(9)), Added))
            # Every slot is taken by a stuck call; node 9 gets one once they are abandoned.
            await w.until(lambda: len(w.changes) == 1, timeout=_browse.THREAD_GRACE_S + 3)
            assert w.changes[0].neighbour.node_id == node(9)
            nursery.cancel_scope.cancel()
    finally:
        gate.set()  # let the abandoned worker threads finish


async def test_a_flood_of_events_stays_bounded(fake_browser: list[FakeBrowser]) -> None:
    async with trio.open_nursery() as nursery:
        w = await start_world(nursery, fake_browser, capacity=16)
        names = [name_of(node(i)) for i in range(1, 3001)]
        for i, name in enumerate(names, start=1):
            w.zc.records[name] = info(node(i))
        # All events are handed over before trio runs any of them.
        w.fire(*[(name, Added) for name in names])
        send = w.browsing._send
        assert send is not None
        await w.until(
            lambda: send.statistics().current_buffer_used == 0 and not w.browsing._resolving
        )
        assert len(w.table) <= 16
        assert len(w.table.active(trio.current_time())) <= 16
        nursery.cancel_scope.cancel()


async def test_a_full_queue_drops_instead_of_growing() -> None:
    browsing = _browse.Browsing(
        FakeZeroconf(),  # type: ignore[arg-type]
        NeighbourTable(),
        lambda changes: None,
        resolve_timeout=1.0,
        refresh_interval=float("inf"),
    )
    send, receive = trio.open_memory_channel[tuple[str, ServiceStateChange]](2)
    browsing._send = send
    for i in range(5):
        browsing._offer(f"n{i}", Added)
    assert browsing.dropped == 3 and receive.statistics().current_buffer_used == 2
    receive.close()
    browsing._offer("late", Added)  # a closed channel is not an error either
    assert browsing.dropped == 3


def test_events_after_the_run_ended_are_ignored() -> None:
    async def token() -> trio.lowlevel.TrioToken:
        return trio.lowlevel.current_trio_token()

    finished = trio.run(token)
    offered: list[str] = []
    handler = partial(_browse._forward, finished, lambda name, change: offered.append(name))
    zc: Any = FakeZeroconf()
    handler(zeroconf=zc, service_type=SERVICE_TYPE, name="x", state_change=Added)
    assert offered == []


class TestShellHelpers:
    def test_interfaces_are_ip_literals(self) -> None:
        assert _zc.check_interfaces(None) is None
        assert _zc.check_interfaces(["127.0.0.1", "0:0::1"]) == ["127.0.0.1", "::1"]
        for bad in (["eth0"], [], "127.0.0.1"):
            with pytest.raises(ConfigError):
                _zc.check_interfaces(bad)

    def test_machine_addresses_keep_what_neighbours_can_reach(self) -> None:
        def a(family: int, address: str) -> SimpleNamespace:
            return SimpleNamespace(family=family, address=address)

        v4, v6 = socket.AF_INET, socket.AF_INET6
        if_addrs = {
            "lo": [a(v4, "127.0.0.1"), a(v6, "::1")],
            "eth0": [
                a(v4, "192.168.1.20"),
                a(v6, "fe80::1%eth0"),
                a(v6, "2001:db8::20"),
                a(socket.AF_PACKET, "00:11:22:33:44:55"),
            ],
            "eth1": [a(v4, "169.254.7.7"), a(v4, "192.168.1.20"), a(v4, "garbage")],
        }
        assert _zc.machine_addresses(if_addrs) == ("169.254.7.7", "192.168.1.20", "2001:db8::20")
        assert _zc.machine_addresses({}) == ()
