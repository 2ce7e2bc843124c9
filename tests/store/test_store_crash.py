"""Crash safety: a crash between or inside any update step leaves the previous active release
complete and being served, and running the steps again finishes the new release."""

from __future__ import annotations

import os

import pytest

from p2pdist.store import Store

CH = "national/winter-2027"
OLD = {f"电影/旧{i}.mp4": bytes([i]) * 3000 for i in range(4)}
NEW = {**{k: v for k, v in list(OLD.items())[:3]}, "电影/新.mp4": b"n" * (3 * 1024 * 1024)}
STEPS = ["record", "prepare", "download", "verify", "ingest", "activate"]


class Crash(BaseException):
    """The process dies here (BaseException: no `except Exception` may swallow it)."""


def after_nth_call(monkeypatch: pytest.MonkeyPatch, obj: object, name: str, n: int) -> None:
    """Make `obj.name` crash on its n-th call (1-based)."""
    real = getattr(obj, name)
    calls = [0]

    def wrapper(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] == n:
            raise Crash(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(obj, name, wrapper)


def assert_old_release_served(data_dir, kit_cls, release) -> Store:
    """A fresh process opens the store: v1 is still active, complete and intact."""
    store = Store(data_dir, reserve=0)
    assert store.active_version(CH) == 1
    assert kit_cls(store).served() == OLD
    assert store.verify_release(release(1, OLD).manifest, release(1, OLD).manifest.files) == []
    leftovers = [p for p in (data_dir / "active").rglob("*") if p.name.startswith(".")]
    assert leftovers == []
    return store


def finish_new_release(store: Store, kit_cls, release) -> None:
    """Running the whole update again completes v2."""
    kit = kit_cls(store)
    kit.install(release(2, NEW))
    assert store.active_version(CH) == 2
    assert kit.served() == NEW
    assert store.gc(keep_per_channel=0).releases_deleted == ((CH, 1),)


@pytest.mark.parametrize("done", range(len(STEPS)), ids=lambda n: f"after-{n}-steps")
def test_crash_between_steps(data_dir, kit, release, done: int) -> None:
    kit.install(release(1, OLD))
    for _name, step in kit.steps(release(2, NEW))[:done]:
        step()
    store = assert_old_release_served(data_dir, type(kit), release)
    finish_new_release(store, type(kit), release)


@pytest.mark.parametrize(
    ("step", "target", "attr", "nth"),
    [
        ("record", os, "replace", 1),  # manifest written, not yet renamed
        ("prepare", os, "link", 2),  # some files linked, others not
        ("ingest", os, "link", 2),
        ("activate", os, "symlink", 1),
        ("activate", os, "replace", 1),  # new link made under its temporary name
    ],
)
def test_crash_inside_a_step(
    data_dir, kit, release, monkeypatch, step: str, target: object, attr: str, nth: int
) -> None:
    kit.install(release(1, OLD))
    with monkeypatch.context() as m:
        for name, thunk in kit.steps(release(2, NEW)):
            if name == step:
                after_nth_call(m, target, attr, nth)
                with pytest.raises(Crash):
                    thunk()
                break
            thunk()
    store = assert_old_release_served(data_dir, type(kit), release)
    finish_new_release(store, type(kit), release)


def test_crash_while_downloading_and_verifying(data_dir, kit, release) -> None:
    kit.install(release(1, OLD))
    rel = release(2, NEW)
    steps = dict(kit.steps(rel))
    steps["record"]()
    steps["prepare"]()
    half = kit.store.release_dir(CH, 2) / "电影/新.mp4"
    half.parent.mkdir(parents=True, exist_ok=True)
    half.write_bytes(NEW["电影/新.mp4"][: 1024 * 1024])  # the swarm died mid-file
    assert [f.path for f in kit.store.verify_release(rel.manifest, kit.plan.wanted)] == [
        "电影/新.mp4"]
    kit.download(rel, kit.plan)

    def die(done: int, total: int) -> None:
        if done > 2 * 1024 * 1024:
            raise Crash("verify")

    with pytest.raises(Crash):
        kit.store.verify_release(rel.manifest, kit.plan.wanted, die)
    store = assert_old_release_served(data_dir, type(kit), release)
    finish_new_release(store, type(kit), release)
