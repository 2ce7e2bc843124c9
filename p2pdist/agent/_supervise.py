"""Watching a running download: redial every known source, notice a stall, say so plainly.

Pure parts (`Redial`, `Stall`) are fed by the agent's shell with the clock and snapshots; the
I/O helpers resolve host names and salvage the verified files of a superseded download, so a
newer release reuses every file already fetched (the store links them from objects/).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import trio

from manifest import Manifest

from ..i18n import _
from ..store import Store

log = logging.getLogger(__name__)

@dataclass
class Stall:
    """No payload progress for `limit_s` while pieces are missing, and what was tried since."""

    limit_s: float
    _bytes: int = -1
    since: float = 0.0
    tried: set[str] = field(default_factory=set)
    stalled: bool = False

    def observe(self, bytes_done: int, bytes_wanted: int, now: float) -> bool:
        """Record a snapshot; True while stalled (missing pieces and no bytes for `limit_s`)."""
        if bytes_done != self._bytes or bytes_done >= bytes_wanted:
            self._bytes = bytes_done
            self.since = now
            self.tried.clear()
            self.stalled = False
            return False
        self.stalled = now - self.since >= self.limit_s
        return self.stalled

    def restart(self, now: float) -> None:
        """Measure a fresh stall period from `now` (the sources changed)."""
        self.since = now
        self.tried.clear()
        self.stalled = False

    def describe(self, missing: list[str], next_try: float | None) -> dict[str, Any]:
        """The stall in plain words for `status` (and the values behind them)."""
        files = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
        return {
            "since": self.since,
            "missing_files": missing[:20],
            "sources_tried": sorted(self.tried),
            "next_try": next_try,
            "message": _("no data since {since:.0f}; still missing {n} file(s) ({files}); "
                         "tried {sources}; next try at {next:.0f}").format(
                since=self.since, n=len(missing), files=files,
                sources=", ".join(sorted(self.tried)) or _("no source yet"),
                next=next_try or 0.0),
        }


async def wait_for_election_or(settled: trio.Event, seconds: float) -> None:
    """Sleep `seconds`, or until the site's election settles if it has not yet: the elected
    box dials the WAN the moment it may, not up to a refresh period later."""
    if settled.is_set():
        await trio.sleep(seconds)
        return
    with trio.move_on_after(seconds):
        await settled.wait()


async def resolve(host: str, port: int) -> tuple[str, int] | None:
    """An IP endpoint for a host name or address (None when it does not resolve now)."""
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
    except OSError as e:
        log.info(_("cannot resolve {host}: {e}").format(host=host, e=e))
        return None
    for _family, _type, _proto, _name, addr in infos:
        return str(addr[0]), port
    return None


async def salvage(store: Store, manifest: Manifest, newer: Manifest | None = None) -> int:
    """Keep what an unfinished download already holds, for the release that supersedes it.

    Each file whose size is right is hashed against the manifest; those that match are linked
    into objects/, so the newer release reuses them. Files still partial whose content the
    newer release also has (same SHA-256 and size, any path) are moved into the newer
    release's folder, where the swarm keeps every piece of them that checks out (see
    `swarm._ondisk`): at 50 % of a 40 GB release most films are partial, not complete.
    Returns how many files were kept either way.
    """
    release = store.release_dir(manifest.channel, manifest.version)

    def complete() -> list[Any]:
        return [e for e in manifest.files
                if (p := release / e.path).is_file() and p.stat().st_size == e.size]

    candidates = await trio.to_thread.run_sync(complete)
    good: list[Any] = []
    if candidates:
        bad = {e.path for e in await store.averify_release(manifest, candidates)}
        good = [e for e in candidates if e.path not in bad]
        await trio.to_thread.run_sync(store.ingest, manifest, good)
    moved = 0
    if newer is not None:
        done = {e.path for e in good}
        moved = await trio.to_thread.run_sync(_move_partial, store, manifest, newer, done)
    return len(good) + moved


def _move_partial(store: Store, old: Manifest, new: Manifest, done: set[str]) -> int:
    """Move the partial files of `old` that `new` also has into `new`'s folder (worker)."""
    src_dir = store.release_dir(old.channel, old.version)
    dst_dir = store.release_dir(new.channel, new.version)
    by_content = {(e.sha256, e.size): e for e in new.files}
    moved = 0
    for e in old.files:
        target = by_content.get((e.sha256, e.size))
        src = src_dir / e.path
        if target is None or e.path in done or not src.is_file():
            continue
        dst = dst_dir / target.path
        try:
            if dst.exists():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            src.rename(dst)
            moved += 1
        except OSError as err:
            log.info(_("could not keep the partial file {path}: {err}").format(
                path=src, err=err))
    return moved
