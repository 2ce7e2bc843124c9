"""The daemon repairs damage to an active release from the swarm, file by file.

On start, and then every `CHECK_INTERVAL_S`, each active release gets `integrity.quick_check`
(plus the paths `p2pdist verify` marked); every `FULL_CHECK_INTERVAL_S` a full hash. Damaged
files are set aside (`Store.quarantine`), the release's torrent is added again wanting every
file the box should hold and rechecked, so libtorrent downloads exactly the pieces that no
longer verify, from the seeders and neighbours `endpoints()` names, redialled while pieces are
missing. The rest of the release stays active and seeding throughout. Once complete, the
repaired files are hashed against the manifest and ingested; `status()` tells the technician.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from manifest import FileEntry, Manifest

from .errors import P2PDistError
from .i18n import _
from .integrity import (
    IntegrityRecord,
    box_policy,
    expected_files,
    full_check,
    quick_check,
    take_marks,
)
from .store import Policy, Store
from .swarm import PeerSource, Swarm, UnknownTorrentError

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 60.0
FULL_CHECK_INTERVAL_S = 7 * 24 * 3600.0
REDIAL_S = 10.0
RETRY_S = 300.0

Endpoints = Callable[[], list[tuple[str, int]]]


@dataclass
class RepairState:
    """What `status` shows for one channel (JSON-ready via `to_json`)."""

    version: int
    state: str = "ok"
    """ok | repairing | repaired | failed"""
    files: list[str] = field(default_factory=list)
    seconds: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "state": self.state, "files": self.files,
                "seconds": self.seconds, "error": self.error}


def _seeder_endpoints(manifest: Manifest) -> list[tuple[str, int]]:
    eps = []
    for s in manifest.seeders:
        host, _sep, port = s.swarm.rpartition(":")
        if host and port.isdigit():
            eps.append((host.strip("[]"), int(port)))
    return eps


class Repairer:
    """Checks the active releases of one box and repairs them; `run` until cancelled."""

    def __init__(self, swarm: Swarm, store: Store, data_dir: Path, endpoints: Endpoints,
                 *, policy: Policy | None = None) -> None:
        self.swarm = swarm
        self.store = store
        self.data_dir = data_dir
        self.endpoints = endpoints
        self.policy = policy
        self.states: dict[str, RepairState] = {}

    def status(self) -> dict[str, Any]:
        """The `repair` part of the daemon's status: one entry per active channel."""
        return {c: s.to_json() for c, s in self.states.items()}

    async def run(self) -> None:
        while True:
            for channel in self.store.channels():
                try:
                    await self.check_channel(channel)
                except P2PDistError as e:
                    log.warning(_("cannot check or repair {channel}: {err}").format(
                        channel=channel, err=e))
            await trio.sleep(CHECK_INTERVAL_S)

    async def check_channel(self, channel: str, *, full: bool = False) -> list[str]:
        """Check one channel's active release; repair what is damaged; return the paths."""
        version = self.store.active_version(channel)
        if version is None:
            return []
        m = self.store.load_manifest(channel, version)
        state = self.states.get(channel)
        if state is None or state.version != version:
            state = self.states[channel] = RepairState(version)
        policy = self.policy if self.policy is not None else box_policy(self.data_dir)
        wanted = expected_files(self.store, m, policy)
        record = IntegrityRecord.load(self.data_dir, m) or IntegrityRecord(version)
        now = time.time()  # wall clock: the record outlives the process
        if record.full_check_at == 0:
            record.full_check_at = now  # activation hashed everything: the clock starts here
        if full or now - record.full_check_at > FULL_CHECK_INTERVAL_S:
            damaged = await trio.to_thread.run_sync(full_check, self.store, m, wanted)
            record.full_check_at = now
        else:
            damaged = await trio.to_thread.run_sync(quick_check, self.store, m, wanted, record)
        marked = take_marks(self.data_dir, m)
        damaged += [e for e in wanted if e.path in marked and e not in damaged]
        if not damaged:
            record.note_good(self.store, m, wanted)
            record.save(self.data_dir, m)
            return []
        record.note_good(self.store, m, [e for e in wanted if e not in damaged])
        record.save(self.data_dir, m)
        await self.repair(m, wanted, damaged, state, record)
        return [e.path for e in damaged]

    async def repair(self, m: Manifest, wanted: list[FileEntry], damaged: list[FileEntry],
                     state: RepairState, record: IntegrityRecord) -> None:
        paths = [e.path for e in damaged]
        log.warning(_("{channel} v{v}: {n} damaged file(s) ({first}); fetching them again "
                      "from the swarm").format(channel=m.channel, v=m.version, n=len(paths),
                                               first=paths[0]))
        state.state, state.files, state.error, state.seconds = "repairing", paths, None, None
        started = trio.current_time()
        for e in damaged:
            await trio.to_thread.run_sync(self.store.quarantine, m, e)
        key = m.torrent_name
        with contextlib.suppress(UnknownTorrentError):
            await self.swarm.remove(key)
        everything = len(wanted) == len(m.files)
        await self.swarm.add_torrent(key, m.torrent,
                                     self.store.save_path(m.channel, m.version),
                                     wanted_paths=None if everything
                                     else {e.path for e in wanted})
        await self.swarm.recheck(key)
        while True:
            for ep in [*_seeder_endpoints(m), *self.endpoints()]:
                self.swarm.connect_peer(key, ep, PeerSource.SEEDER)
            with trio.move_on_after(REDIAL_S):
                await self.swarm.wait_complete(key)
                break
        bad = await self.store.averify_release(m, damaged)
        if bad:
            state.state = "failed"
            state.error = _("{n} file(s) still differ from the manifest after the repair").format(
                n=len(bad))
            log.error("%s v%s: %s", m.channel, m.version, state.error)
            return
        await trio.to_thread.run_sync(self.store.ingest, m, damaged)
        record.note_good(self.store, m, damaged)
        record.save(self.data_dir, m)
        state.state, state.seconds = "repaired", round(trio.current_time() - started, 1)
        log.info(_("{channel} v{v}: repaired {n} file(s) in {s} s").format(
            channel=m.channel, v=m.version, n=len(paths), s=state.seconds))
