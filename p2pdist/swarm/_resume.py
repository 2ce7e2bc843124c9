"""Resume files: what lets a restarted box continue without re-downloading or re-hashing.

One file per torrent key, `<resume_dir>/<key>.resume`, replaced atomically so a crash leaves
either the old or the new file, never half of one. A file that is missing, unreadable or for a
different torrent is ignored: libtorrent then hashes the files on disk and keeps every piece that
verifies, so bad resume data costs a check, never a download.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

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


def resume_path(resume_dir: Path, key: str) -> Path:
    """Where the resume data of `key` lives."""
    return resume_dir / f"{key}{SUFFIX}"


def encode(data: bytes) -> bytes:
    """Bencoded resume data without the merkle trees.

    v2 resume data carries the full merkle tree, leaves included (~3.9 MB per GB of content:
    37 MB at 95 % of 10 GB), which made every checkpoint rewrite tens of megabytes. libtorrent
    rebuilds the tree from the .torrent's piece layers; the piece bitfield and the unfinished
    pieces' blocks are what a restart needs. Measured: a partial torrent reloaded without trees
    kept every saved piece, fetched only the rest, with no hash failure; a complete one came
    back seeding without a recheck. The file stays a few KB whatever the release size.
    """
    decoded = cast(dict[bytes, Any], lt.bdecode(data))
    decoded.pop(b"trees", None)
    return bytes(lt.bencode(decoded))


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
