"""The box's on-disk store: the thin I/O shell that carries out `_plan`'s decisions.

An update moves through the store in this order, and each step leaves the disk in a state the
next start can resume from:

1. `record_manifest` keeps the signed manifest next to its release (gc and resume read it);
2. `prepare_release` checks free space, then hard-links every wanted file the box already holds;
3. the swarm downloads the rest into `save_path` (libtorrent's check accepts the linked files);
4. `verify_release` hashes the wanted files; `quarantine` moves bad ones aside to fetch again;
5. `ingest` links the verified files into objects/ for later releases to reuse;
6. `activate` switches active/<channel> in one rename — the only step the media player sees.

Until step 6 the previous active release is never touched, so a crash anywhere leaves it
complete; the new release's files stay in releases/<channel>/<version> and the steps are simply
run again. One `Store` per data directory, used by one task at a time (the agent).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..fs import translated
from ..i18n import _
from ._gc import _Collector
from ._intake import _Intake
from ._layout import Layout

DEFAULT_RESERVE = 256 * 1024 * 1024
"""Bytes left free after a release: room for state, resume data and logs on a full box."""


class Store(_Intake, _Collector):
    """The data directory of one box (layout in `_layout`); its parts live in `_records`
    (paths, manifests, the active link), `_intake` (steps 2, 4, 5) and `_gc` (cleaning up)."""

    def __init__(self, data_dir: str | os.PathLike[str], *, reserve: int = DEFAULT_RESERVE):
        """Open (creating if needed) the store in `data_dir`, cleaning up after a crash.

        Args:
            data_dir: the data directory.
            reserve: bytes `prepare_release` leaves free beyond what the release needs.

        Raises:
            StorageError: (or a subclass) the folders cannot be created.
        """
        self._layout = Layout(Path(data_dir))
        self.reserve = reserve
        with translated(_("create the store folders in {path}").format(path=data_dir)):
            for d in self._layout.top_dirs:
                d.mkdir(parents=True, exist_ok=True)
            self._remove_stale_tmp()
