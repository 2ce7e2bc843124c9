"""Seeding what a data directory holds: every active release goes into the swarm at start."""

from __future__ import annotations

import logging

from .i18n import _
from .store import Store
from .swarm import Swarm

log = logging.getLogger(__name__)


async def seed_active(swarm: Swarm, store: Store, skip: set[str] | None = None, *,
                      pex: bool = True) -> list[str]:
    """Add every active release of `store` to `swarm` (except keys in `skip`); return the keys.

    A complete release was verified before activation, so it seeds without a recheck; a partial
    one (a selective policy) is checked against its resume data or the files on disk.
    """
    keys = []
    for channel in store.channels():
        version = store.active_version(channel)
        if version is None:
            continue
        m = store.load_manifest(channel, version)
        if skip and m.torrent_name in skip:
            continue
        present = {f.path for f in m.files
                   if (store.release_dir(channel, version) / f.path).is_file()}
        complete = len(present) == len(m.files)
        try:
            await swarm.add_torrent(m.torrent_name, m.torrent, store.save_path(channel, version),
                                    wanted_paths=None if complete else present,
                                    seed_mode=complete, pex=pex)
        except ValueError as e:  # libtorrent refuses it: keep the rest of the box running
            log.warning(_("{channel} v{v} is not seeded: {err}").format(
                channel=channel, v=version, err=e))
            continue
        keys.append(m.torrent_name)
    return keys
