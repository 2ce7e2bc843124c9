"""Real python-zeroconf on loopback only (``interfaces=['127.0.0.1']``).

Several Zeroconf instances share UDP 5353 on 127.0.0.1 (NOTES-testbed "mDNS"), so every test uses
fresh random node ids and its own ports: other tests on this machine may be announcing too, and
assertions only ever look for our own nodes. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import SimpleNamespace

import psutil  # type: ignore[import-untyped]
import pytest
import trio
from zeroconf import ServiceInfo, Zeroconf

from p2pdist.discovery import (
    SERVICE_TYPE,
    Advert,
    ChangeKind,
    Discovery,
    Neighbour,
    NeighbourChange,
    _discovery,
    _zc,
    scan,
)
from tests.world import wait_until

LOOPBACK = ["127.0.0.1"]
APPEARED, UPDATED, DISAPPEARED = ChangeKind.APPEARED, ChangeKind.UPDATED, ChangeKind.DISAPPEARED
CHANNEL = "national/winter-2027"


@pytest.fixture(autouse=True)
def no_zeroconf_threads_left() -> Iterator[None]:
    """Every Zeroconf (loop thread) and browser (its thread) must be closed after each test."""

    def ours() -> list[str]:
        return [
            t.name
            for t in threading.enumerate()
            if "_run_loop" in t.name or t.name.startswith("zeroconf-")
        ]

    before = set(ours())
    yield
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not set(ours()) - before, 3.0, "zeroconf threads ended", every=0.05)
    assert set(ours()) - before == set()


class Recorder:
    """A `NeighbourListener` that keeps every change and lets a test wait for one."""

    def __init__(self) -> None:
        self.changes: list[NeighbourChange] = []
        self._changed = trio.Event()

    def on_change(self, change: NeighbourChange) -> None:
        self.changes.append(change)
        self._changed.set()
        self._changed = trio.Event()

    async def wait(
        self,
        kind: ChangeKind,
        node_id: str,
        timeout: float,
        where: Callable[[Neighbour], bool] = lambda n: True,
    ) -> NeighbourChange:
        with trio.fail_after(timeout):
            while True:
                changed = self._changed
                for c in self.changes:
                    if c.kind is kind and c.neighbour.node_id == node_id and where(c.neighbour):
                        return c
                await changed.wait()

    def about(self, node_id: str) -> list[NeighbourChange]:
        return [c for c in self.changes if c.neighbour.node_id == node_id]


def box(feed_port: int, node_id: str | None = None, **fields: object) -> Advert:
    values: dict[str, object] = {
        "node_id": node_id or secrets.token_hex(32),
        "role": "box",
        "feed_port": feed_port,
        "swarm_port": feed_port + 1,
        "site": "测试站",
        "channels": {CHANNEL: 3},
    }
    values.update(fields)
    return Advert(**values)  # type: ignore[arg-type]


async def run_stoppable(
    discovery: Discovery, *, task_status: trio.TaskStatus[trio.CancelScope]
) -> None:
    """Run `discovery` in a scope of its own, so a test can stop just this node."""
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(discovery.run)
            task_status.started(scope)


async def test_boxes_find_each_other_follow_updates_penalties_and_goodbyes() -> None:
    a_ad, b_ad = box(18101), box(18103, role="seeder", site="", channels={})
    ra, rb = Recorder(), Recorder()
    a = Discovery(a_ad, interfaces=LOOPBACK, listener=ra)
    b = Discovery(b_ad, interfaces=LOOPBACK, listener=rb)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_stoppable, a)
        assert a.instance_name == f"p2pdist-{a_ad.node_id[:16]}.{SERVICE_TYPE}"
        with pytest.raises(RuntimeError):
            await a.run()

        started = trio.current_time()
        b_scope = await nursery.start(run_stoppable, b)
        seen = await ra.wait(APPEARED, b_ad.node_id, timeout=10)
        delay = seen.neighbour.first_seen - started
        print(f"\nneighbour that started later was seen after {delay:.2f} s")
        assert delay < 10
        assert seen.neighbour.advert == replace(b_ad, addresses=("127.0.0.1",))

        b_sees_a = await rb.wait(APPEARED, a_ad.node_id, timeout=10)
        assert b_sees_a.neighbour.advert == replace(a_ad, addresses=("127.0.0.1",))
        assert a_ad.node_id in [n.node_id for n in b.neighbours()]
        assert a.advert.node_id not in [n.node_id for n in a.neighbours()]  # never ourselves

        updated_at = trio.current_time()
        a.update(replace(a_ad, channels={CHANNEL: 4}))
        await rb.wait(
            UPDATED, a_ad.node_id, timeout=10, where=lambda n: n.advert.channels[CHANNEL] == 4
        )
        print(f"updated advert propagated after {1000 * (trio.current_time() - updated_at):.0f} ms")

        b.penalize(a_ad.node_id, 30.0)
        await rb.wait(DISAPPEARED, a_ad.node_id, timeout=1)
        assert a_ad.node_id not in [n.node_id for n in b.neighbours()]

        stopped_at = trio.current_time()
        b_scope.cancel()
        await ra.wait(DISAPPEARED, b_ad.node_id, timeout=5)
        gone_ms = 1000 * (trio.current_time() - stopped_at)
        print(f"stopped neighbour disappeared after {gone_ms:.0f} ms")
        assert b_ad.node_id not in [n.node_id for n in a.neighbours()]
        assert [c.kind for c in ra.about(b_ad.node_id)] == [APPEARED, DISAPPEARED]
        nursery.cancel_scope.cancel()
    assert a.instance_name is None


def raw_service(label: str, port: int, txt: dict[str, str]) -> ServiceInfo:
    return ServiceInfo(
        SERVICE_TYPE,
        f"{label}.{SERVICE_TYPE}",
        port=port,
        properties=txt,
        server=f"{label}.local.",
        parsed_addresses=["127.0.0.1"],
    )


async def open_raw() -> Zeroconf:
    return await trio.to_thread.run_sync(lambda: Zeroconf(interfaces=LOOPBACK, use_asyncio=False))


async def register_raw(zc: Zeroconf, infos: list[ServiceInfo]) -> None:
    """Register many services at once through zeroconf's own API (no probing: names are new)."""

    async def register_all() -> None:
        waits = [
            await zc.async_register_service(info, cooperating_responders=True) for info in infos
        ]
        await asyncio.gather(*waits)

    assert zc.loop is not None
    loop = zc.loop
    await trio.to_thread.run_sync(
        lambda: asyncio.run_coroutine_threadsafe(register_all(), loop).result(30)
    )


def valid_txt(node_id: str, **overrides: str) -> dict[str, str]:
    return {**box(1, node_id).to_txt(), **overrides}


async def test_lying_records_are_ignored_without_crashing_the_browser(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="p2pdist.discovery")
    me = box(18111)
    recorder = Recorder()
    ids = [secrets.token_hex(32) for _ in range(6)]
    liars = [
        raw_service(f"p2pdist-{'z' * 16}", 18120, valid_txt(ids[0], id="z" * 64)),
        raw_service(f"p2pdist-{ids[1][:16]}", 18121, valid_txt(ids[1], sp="99999")),
        raw_service(
            f"p2pdist-{ids[2][:16]}", 18122, valid_txt(ids[2], ch=f"{CHANNEL}:1{'0' * 12}")
        ),
        raw_service(f"p2pdist-{ids[0][:16]}", 18123, valid_txt(ids[3])),  # another node's name
        raw_service(f"p2pdist-{ids[4][:16]}", 18124, valid_txt(ids[4], v="2")),
        raw_service(
            f"p2pdist-{ids[5][:16]}",
            18125,
            valid_txt(ids[5], **{f"pad{i}": "x" * 240 for i in range(5)}),
        ),
    ]
    canary_id = secrets.token_hex(32)
    canary = raw_service(f"p2pdist-{canary_id[:16]}", 18126, valid_txt(canary_id))
    raw = await open_raw()
    try:
        async with trio.open_nursery() as nursery:
            discovery = Discovery(me, interfaces=LOOPBACK, listener=recorder)
            await nursery.start(discovery.run)
            await register_raw(raw, liars)
            await trio.sleep(1.5)  # let the browser see and resolve the liars first
            await register_raw(raw, [canary])
            found = await recorder.wait(APPEARED, canary_id, timeout=10)
            assert found.neighbour.advert.feed_port == 18126
            assert not any(recorder.about(i) for i in ids)
            assert [n.node_id for n in discovery.neighbours() if n.node_id in ids] == []
            nursery.cancel_scope.cancel()
    finally:
        await trio.to_thread.run_sync(raw.close)
    assert any("bad neighbour record" in r.getMessage() for r in caplog.records)


async def test_a_flood_of_bogus_services_stays_within_capacity() -> None:
    me = box(18131)
    flood = [secrets.token_hex(32) for _ in range(200)]
    recorder = Recorder()
    raw = await open_raw()
    try:
        async with trio.open_nursery() as nursery:
            discovery = Discovery(me, interfaces=LOOPBACK, listener=recorder, capacity=16)
            await nursery.start(discovery.run)
            await register_raw(
                raw,
                [
                    raw_service(f"p2pdist-{n[:16]}", 20000 + i, valid_txt(n))
                    for i, n in enumerate(flood)
                ],
            )
            with trio.fail_after(10):
                while sum(c.kind is APPEARED for c in recorder.changes) < 100:
                    await trio.sleep(0.1)
            ours = [n for n in discovery.neighbours() if n.node_id in flood]
            assert 0 < len(ours) <= 16 and len(discovery.neighbours()) <= 16
            visible = sum(1 if c.kind is APPEARED else -1 for c in recorder.changes)
            assert visible <= 16
            nursery.cancel_scope.cancel()
    finally:
        await trio.to_thread.run_sync(raw.close)


async def test_scan_sees_a_running_box_without_announcing() -> None:
    me = box(18141)
    async with trio.open_nursery() as nursery:
        await nursery.start(Discovery(me, interfaces=LOOPBACK).run)
        started = trio.current_time()
        found = await scan(LOOPBACK, 2.5)
        print(f"\nscan took {trio.current_time() - started:.2f} s")
        [n] = [n for n in found if n.node_id == me.node_id]
        assert n.advert == replace(me, addresses=("127.0.0.1",))
        nursery.cancel_scope.cancel()


async def test_instance_name_conflict_takes_a_suffix() -> None:
    """Registration falls back to ``-2`` when probing finds the name taken.

    On loopback, a probe's unicast answer goes to whichever process holds port 5353, so the
    registrar's cache is primed through its browser first; on a LAN the owner's answer does it.
    """
    first = box(18151)
    twin = box(18153, node_id=first.node_id[:16] + secrets.token_hex(24))
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        await nursery.start(Discovery(first, interfaces=LOOPBACK, listener=recorder).run)
        zc = await trio.to_thread.run_sync(_zc.open_zeroconf, LOOPBACK)
        taken = threading.Event()
        browser = await trio.to_thread.run_sync(
            _zc.start_browser,
            zc,
            lambda name, **_: (
                taken.set() if name.startswith(f"p2pdist-{first.node_id[:16]}.") else None
            ),
        )
        info = None
        try:
            assert await trio.to_thread.run_sync(taken.wait, 10)
            info = await trio.to_thread.run_sync(_zc.register, zc, twin, ["127.0.0.1"])
            assert info.name == f"p2pdist-{first.node_id[:16]}-2.{SERVICE_TYPE}"
            seen = await recorder.wait(APPEARED, twin.node_id, timeout=10)
            assert seen.neighbour.name == info.name
        finally:
            await trio.to_thread.run_sync(browser.cancel)
            await trio.to_thread.run_sync(_zc.close, zc, info)
        nursery.cancel_scope.cancel()


async def test_machine_address_change_is_announced(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``interfaces=None`` the machine's addresses are announced and watched.

    Only loopback is ever opened: `open_zeroconf` is pointed at 127.0.0.1, and psutil reports
    made-up addresses that are announced as data and never used.
    """
    real_open = _zc.open_zeroconf
    monkeypatch.setattr(_zc, "open_zeroconf", lambda interfaces: real_open(LOOPBACK))
    machine = {"eth9": [SimpleNamespace(family=socket.AF_INET, address="10.99.0.1")]}
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: machine)
    monkeypatch.setattr(_discovery, "ADDRESS_CHECK_S", 0.2)
    me = box(18171)
    recorder = Recorder()
    async with trio.open_nursery() as nursery:
        await nursery.start(Discovery(box(18173), interfaces=LOOPBACK, listener=recorder).run)
        await nursery.start(Discovery(me, interfaces=None).run)
        await recorder.wait(
            APPEARED, me.node_id, timeout=10, where=lambda n: n.advert.addresses == ("10.99.0.1",)
        )
        machine["eth9"] = [SimpleNamespace(family=socket.AF_INET, address="10.99.0.2")]
        # The old address stays in the neighbour's cache until its TTL; the new one comes first.
        await recorder.wait(
            UPDATED, me.node_id, timeout=5, where=lambda n: n.advert.addresses[0] == "10.99.0.2"
        )
        nursery.cancel_scope.cancel()


def test_update_cannot_change_the_node_id() -> None:
    discovery = Discovery(box(18161), interfaces=LOOPBACK)
    with pytest.raises(ValueError):
        discovery.update(box(18161))
