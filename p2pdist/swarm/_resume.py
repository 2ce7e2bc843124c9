"""Resume files: what lets a restarted box continue without re-downloading or re-hashing.

One file per torrent key, `<resume_dir>/<key>.resume`, replaced atomically so a crash leaves
either the old or the new file, never half of one. A file that is missing, unreadable or for a
different torrent is ignored: libtorrent then hashes the files on disk and keeps every piece that
verifies, so bad resume data costs a check, never a download.
"""

from __future__ import annotations

import logging
from pathlib import Path

from p2pdist._libtorrent import lt
from p2pdist.i18n import _

log = logging.getLogger(__name__)

SUFFIX = ".resume"
CHECK_INTERVAL_S = 0.25
"""How often the swarm asks whether a checkpoint is due (a status read per torrent)."""
MIN_GAP_S = 0.25
"""Never two checkpoints of one torrent closer than this."""


class Budget:
    """When a torrent's resume data is due (pure: takes numbers, returns a decision).

    Due when libtorrent says it changed and either `fraction` of the torrent's wanted bytes were
    verified since the last save (a kill then loses at most that much) or `interval_s` passed
    (slow links), never closer than `MIN_GAP_S` (or `interval_s`
    if shorter). Resume files are a few KB (see `encode`), so
    even at loopback speed this writes well under 1 % of the payload.
    """

    def __init__(self, fraction: float, interval_s: float) -> None:
        self._fraction = fraction
        self._interval = interval_s
        self._gap = min(MIN_GAP_S, interval_s)
        self.check_interval_s = min(CHECK_INTERVAL_S, interval_s)
        """How often to ask `due`."""
        self._last: dict[str, tuple[int, float]] = {}

    def due(self, key: str, changed: bool, done: int, wanted: int, now: float) -> bool:
        if not changed:
            return False
        last = self._last.get(key)
        if last is None:
            self._last[key] = (done, now)  # first sight: the budget starts here
            return False
        last_done, last_t = last
        if now - last_t < self._gap:
            return False
        return done - last_done >= self._fraction * wanted or now - last_t >= self._interval

    def saved(self, key: str, done: int, now: float) -> None:
        self._last[key] = (done, now)


def checkpoint(handle: lt.torrent_handle) -> bytes:
    """Resume data for `handle` read from its status, without libtorrent's `save_resume_data`.

    `save_resume_data` copies the torrent's merkle trees (~4 MB per GB of content) into the
    alert, and encoding them made further copies, all dropped again by `encode`: on a box that
    checkpoints every 0.2 % of a release those transient copies set its peak memory (plain
    libtorrent, 2.8 GB: peak RSS 96 MB without checkpoints, 140 MB and rising with them). A
    restart needs only which pieces are had (and the file priorities): those come from the
    status. Blocks of unfinished pieces are not kept (at most the pieces in flight are fetched
    again). libtorrent rebuilds the trees from the .torrent's piece layers (measured last
    session: a partial torrent reloaded without trees kept every saved piece and fetched only
    the rest with no hash failure; a complete one came back seeding without a recheck), so
    the file stays ~1.5 KB whatever the release size. Call it *before* `flush_cache` and write
    the result once the flush is done: every piece it names was then on disk.
    """
    st = handle.status(lt.status_flags_t.query_pieces)
    p = lt.add_torrent_params()
    p.info_hashes = handle.info_hashes()
    p.name = st.name
    p.save_path = st.save_path
    p.flags = st.flags
    p.have_pieces = st.pieces
    p.file_priorities = handle.get_file_priorities()
    p.total_uploaded = st.all_time_upload
    p.total_downloaded = st.all_time_download
    p.active_time = st.active_time
    p.seeding_time = st.seeding_time
    p.finished_time = st.finished_time
    p.added_time = st.added_time
    p.completed_time = st.completed_time
    return bytes(lt.write_resume_data_buf(p))


def resume_path(resume_dir: Path, key: str) -> Path:
    """Where the resume data of `key` lives."""
    return resume_dir / f"{key}{SUFFIX}"


def load(path: Path, ti: lt.torrent_info) -> lt.add_torrent_params | None:
    """The add_torrent_params saved in `path` for torrent `ti`, or None if not usable.

    The torrent info is always taken from `ti` (the .torrent the caller trusts), never from the
    resume file.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        log.warning(
            _("cannot read resume file {path} ({e}); checking files instead").format(path=path, e=e)
        )
        return None
    try:
        atp = lt.read_resume_data(data)
    except RuntimeError as e:
        log.warning(
            _("resume file {path} is corrupt ({e}); checking files instead").format(path=path, e=e)
        )
        return None
    if atp.info_hashes != ti.info_hashes():
        log.warning(
            _("resume file {path} belongs to another torrent; checking files instead").format(
                path=path
            )
        )
        return None
    atp.ti = ti
    return atp
