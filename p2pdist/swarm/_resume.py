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


def resume_path(resume_dir: Path, key: str) -> Path:
    """Where the resume data of `key` lives."""
    return resume_dir / f"{key}{SUFFIX}"


def encode(data: bytes, *, complete: bool) -> bytes:
    """Bencoded resume data; for complete torrents without the merkle trees.

    v2 resume data carries the full merkle tree (~1.9 MB per GB). A complete torrent does not
    need it: the tree is rebuilt from the .torrent's piece layers, and libtorrent came back
    seeding without a recheck in measurements. Partial torrents keep theirs.
    """
    if not complete:
        return data
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
