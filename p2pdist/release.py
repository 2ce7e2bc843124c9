"""`release build`: turn a content folder and its catalog into an (unsigned) release manifest.

Three hashes cover every byte: SHA-256 per file (what boxes verify before activating), and the
hybrid torrent's SHA-1 v1 pieces and SHA-256 v2 merkle trees (what the swarm verifies piece by
piece). libtorrent hashes the torrent on its own threads while a thread here computes the file
SHA-256s, so the build runs at about the speed of the slower of the two, not their sum.
"""

from __future__ import annotations

import os
import threading
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from keys import channel_prefix, is_valid_channel
from manifest import (
    FileEntry,
    Kind,
    Manifest,
    SeederEndpoint,
    check_paths,
    make_files,
    torrent_name_for,
)

from .catalog_file import Catalog, entries_for_files
from .errors import ConfigError
from .hashing import sha256_files
from .i18n import _
from .torrent import create_hybrid_torrent, torrent_files

MAX_WEB_SEED_URL = 1024
DAY_S = 86400


@dataclass(frozen=True)
class BuildProgress:
    """Bytes hashed so far by each of the two passes (file SHA-256, torrent)."""

    sha_done: int
    torrent_pieces_done: int
    torrent_pieces: int
    total: int


def scan_content(content_dir: Path, exclude: set[Path]) -> list[tuple[str, int]]:
    """Every regular file under `content_dir` as (relative POSIX path, size), sorted.

    Raises:
        ConfigError: the folder is missing, or holds a symlink or a name that is not NFC.
        BadPathError: a name breaks the manifest's path rules (the message names it).
    """
    if not content_dir.is_dir():
        raise ConfigError(_("content folder {path} does not exist").format(path=content_dir))
    out: list[tuple[str, int]] = []
    for dirpath, dirnames, filenames in os.walk(content_dir):
        dirnames.sort()
        for fn in sorted(filenames):
            p = Path(dirpath) / fn
            if p.resolve() in exclude:
                continue
            if p.is_symlink() or not p.is_file():
                raise ConfigError(
                    _("{path} is a symlink or special file; releases hold regular files only")
                    .format(path=p)
                )
            rel = p.relative_to(content_dir).as_posix()
            if not unicodedata.is_normalized("NFC", rel):
                raise ConfigError(
                    _("file name {path!r} is not in Unicode NFC form (often copied from a Mac); "
                      "rename it").format(path=rel)
                )
            out.append((rel, p.stat().st_size))
    if not out:
        raise ConfigError(_("content folder {path} holds no files").format(path=content_dir))
    check_paths(r for r, _size in out)
    return out


def build_release(
    content_dir: Path,
    *,
    channel: str,
    version: int,
    catalog: Catalog,
    catalog_path: Path | None = None,
    expires_days: float,
    seeders: tuple[SeederEndpoint, ...] = (),
    web_seeds: tuple[str, ...] = (),
    now: int | None = None,
    progress: Callable[[BuildProgress], None] | None = None,
) -> Manifest:
    """Hash `content_dir` and return the release manifest (unsigned).

    Args:
        content_dir: the folder whose files make the release.
        channel, version: where the release is published.
        catalog: metadata for every file (kind, themes, title, duration).
        catalog_path: excluded from the content when it lies inside `content_dir`.
        expires_days: validity from now.
        seeders: endpoints boxes may use.
        web_seeds: BEP 19 web seed URLs put in the torrent (a seeder's `http://HOST:PORT/webseed/`).
        now: creation time (Unix seconds), default the clock.
        progress: called from worker threads with hashing progress.

    Raises:
        ConfigError: bad channel/version/expiry, or content and catalog disagree.
        BadPathError: a file name breaks the path rules.
    """
    if not is_valid_channel(channel):
        channel_prefix(channel)  # raises the explanatory MalformedError
    if version < 1:
        raise ConfigError(_("version must be a positive integer"))
    if expires_days <= 0:
        raise ConfigError(_("--expires must be a positive number of days"))
    for url in web_seeds:
        if not url.startswith(("http://", "https://")) or len(url) > MAX_WEB_SEED_URL:
            raise ConfigError(_("web seed {url!r} must be an http:// or https:// URL of at most "
                                "{n} characters").format(url=url, n=MAX_WEB_SEED_URL))
    exclude = {catalog_path.resolve()} if catalog_path else set()
    files = scan_content(content_dir, exclude)
    meta = entries_for_files(catalog, [p for p, _s in files])
    total = sum(s for _p, s in files)
    name = torrent_name_for(channel, version)

    lock = threading.Lock()
    state = {"sha": 0, "pieces": 0, "npieces": 0}

    def report() -> None:
        if progress is not None:
            progress(BuildProgress(state["sha"], state["pieces"], state["npieces"], total))

    def on_bytes(n: int) -> None:
        with lock:
            state["sha"] += n
        report()

    def on_piece(done: int, npieces: int) -> None:
        with lock:
            state["pieces"], state["npieces"] = done, npieces
        report()

    def hash_all() -> dict[str, bytes]:
        # One worker: libtorrent's hashing takes the other core.
        digests = sha256_files([content_dir / rel for rel, _s in files], on_bytes, workers=1)
        return {rel: d for (rel, _s), d in zip(files, digests, strict=True)}

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as pool:
        shas_future = pool.submit(hash_all)
        torrent = create_hybrid_torrent(content_dir, name, files, progress=on_piece,
                                        web_seeds=web_seeds)
        shas = shas_future.result()

    _name, tfiles = torrent_files(torrent)
    roots = {t.path: t.merkle_root for t in tfiles}
    created = int(time.time()) if now is None else now
    entries = []
    for rel, size in files:
        c = meta[rel]
        entries.append(
            FileEntry(
                path=rel,
                size=size,
                sha256=shas[rel],
                merkle_root=roots.get(rel, bytes(32)),
                kind=Kind(c.kind),
                themes=tuple(c.themes),
                title=c.title,
                duration=c.duration,
            )
        )
    return Manifest(
        channel=channel,
        version=version,
        created=created,
        expires=created + int(expires_days * DAY_S),
        title=catalog.title or channel,
        files=make_files(entries),
        torrent=torrent,
        seeders=seeders,
    )

