"""The add_torrent_params of one torrent: resume data if valid, else what the caller vouches
for, plus the box's standing flags. Runs on a worker thread (it parses and reads files)."""

from __future__ import annotations

from collections.abc import Set
from pathlib import Path

from p2pdist._libtorrent import lt
from p2pdist.i18n import _

from . import _resume
from ._config import SwarmConfig
from ._ondisk import pieces_on_disk, torrent_paths
from ._selection import file_priorities, pieces_held


def torrent_params(
    config: SwarmConfig,
    key: str,
    torrent: bytes,
    save_path: Path,
    wanted_paths: Set[str] | None,
    seed_mode: bool,
    pex: bool,
    held_paths: Set[str] = frozenset(),
) -> lt.add_torrent_params:
    """add_torrent_params for `Swarm.add_torrent` (see it for the arguments).

    Raises:
        ValueError: not a valid .torrent, or an unknown wanted path.
    """
    try:
        ti = lt.torrent_info(torrent)
    except (RuntimeError, TypeError) as e:
        raise ValueError(
            _("the torrent for {key} is not a valid .torrent: {e}").format(key=key, e=e)
        ) from e
    priorities = file_priorities(ti, wanted_paths)
    atp = None
    if not seed_mode:
        atp = _resume.load(_resume.resume_path(config.resume_dir, key), ti)
    if atp is None:
        atp = lt.add_torrent_params()
        atp.ti = ti
        if seed_mode:
            # Complete and verified: every piece is had, as resume data would say. Unlike
            # libtorrent's seed_mode this hashes nothing on first send (seed_mode read each
            # piece twice from disk: 22 GB read to send 11 GB); libtorrent only checks that
            # the files exist with their sizes, else it rechecks them.
            atp.have_pieces = [True] * ti.num_pieces()
        elif held_paths:
            # Telling libtorrent what is had stops it from checking the disk: check the other
            # files here (a superseded download leaves partial files for this one).
            have = pieces_held(ti, held_paths)
            others = (wanted_paths if wanted_paths is not None else torrent_paths(ti))
            for p in pieces_on_disk(ti, save_path, others - held_paths):
                have[p] = True
            atp.have_pieces = have
    atp.save_path = str(save_path)
    atp.file_priorities = priorities
    atp.max_connections = config.connections_per_torrent
    # Not auto-managed: a box seeds every release it holds, never queues one.
    flags = atp.flags & ~(
        lt.torrent_flags.auto_managed | lt.torrent_flags.paused | lt.torrent_flags.seed_mode
    )
    flags |= lt.torrent_flags.duplicate_is_error
    if not pex:
        flags |= lt.torrent_flags.disable_pex
    atp.flags = flags
    return atp
