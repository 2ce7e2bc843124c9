"""`p2pdist release ...`: build, sign, verify and show release manifests."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from keys import MAX_ROOT_BYTES, Envelope, Root, load_trust, parse_root_envelope
from manifest import (
    MAX_ENVELOPE_BYTES,
    Manifest,
    SeederEndpoint,
    VerifiedRelease,
    catalog_of,
    decode_envelope,
    verify_manifest,
    verify_manifest_with,
)

from ..catalog_file import read_catalog
from ..errors import ConfigError, ContentMismatchError
from ..fs import atomic_write
from ..hashing import sha256_files
from ..i18n import _
from ..install import install_from_folder
from ..release import BuildProgress, build_release
from ..store import Store
from ..torrent import TorrentIdentity, torrent_identity, web_seeds_of
from ._common import (
    console,
    human_duration,
    human_size,
    json_option,
    load_key,
    passphrase_file_option,
    read_file,
)

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group("release")
def release_group() -> None:
    """Build, sign, verify and show release manifests."""


def _byte_progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), console=console, transient=True)


def _parse_seeder(text: str) -> SeederEndpoint:
    feed, _sep, swarm = text.partition("=")
    if not feed.startswith(("http://", "https://")):
        raise ConfigError(_("--seeder {text!r}: expected URL or URL=HOST:PORT").format(text=text))
    return SeederEndpoint(feed, swarm)


@release_group.command("build")
@click.argument("content_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--channel", required=True, help=_("e.g. national/winter-2027"))
@click.option("--version", "version", type=int, required=True, help=
    _("Integer, grows per channel."))
@click.option("--catalog", "catalog_path", type=existing_file, required=True,
              help=_("catalog.toml describing every file."))
@click.option("--expires", type=float, default=90, show_default=True, help=_("Days until expiry."))
@click.option("--seeder", "seeders", multiple=True,
              help=_("Seeder endpoint URL[=HOST:PORT] to list in the manifest (repeat)."))
@click.option("--web-seed", "web_seeds", multiple=True,
              help=_("BEP 19 web seed URL put in the torrent, e.g. a seeder's "
                     "http://HOST:8470/webseed/ (repeat)."))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def build(content_dir: Path, channel: str, version: int, catalog_path: Path, expires: float,
          seeders: tuple[str, ...], web_seeds: tuple[str, ...], out: Path) -> None:
    """Hash CONTENT_DIR into an unsigned manifest with its hybrid torrent."""
    catalog = read_catalog(catalog_path)
    endpoints = tuple(_parse_seeder(s) for s in seeders)
    t0 = time.monotonic()
    with _byte_progress() as bar:
        task = bar.add_task(_("hashing"), total=None)

        def on_progress(p: BuildProgress) -> None:
            frac = p.torrent_pieces_done / p.torrent_pieces if p.torrent_pieces else 0.0
            done = min(p.sha_done, int(frac * p.total))
            bar.update(task, completed=done, total=p.total)

        m = build_release(content_dir, channel=channel, version=version, catalog=catalog,
                          catalog_path=catalog_path, expires_days=expires, seeders=endpoints,
                          web_seeds=web_seeds, progress=on_progress)
    dt = time.monotonic() - t0
    atomic_write(out, m.to_envelope().encode())
    console.print(_("built {channel} v{v}: {n} files, {size} in {s:.1f}s ({rate}/s) -> {out} "
                    "(unsigned)").format(channel=channel, v=version, n=len(m.files),
                                         size=human_size(m.total_size), s=dt,
                                         rate=human_size(m.total_size / max(dt, 1e-9)), out=out))
    console.print(_("next: p2pdist release sign {out} --key RELEASEKEY").format(out=out))


def _read_envelope(path: Path) -> Envelope:
    return decode_envelope(read_file(path, _("manifest"), MAX_ENVELOPE_BYTES))


@release_group.command("sign")
@click.argument("manifest_file", type=existing_file)
@click.option("--key", "key_path", type=existing_file, required=True)
@passphrase_file_option
def sign(manifest_file: Path, key_path: Path, passphrase_file: Path | None) -> None:
    """Add a release key's signature to MANIFEST_FILE (in place)."""
    env = _read_envelope(manifest_file)
    m = Manifest.decode_body(env.signed)
    key = load_key(key_path, passphrase_file)
    env = env.sign(key)
    atomic_write(manifest_file, env.encode())
    console.print(_("signed {channel} v{v} with key {kid} ({n} signature(s) now)").format(
        channel=m.channel, v=m.version, kid=key.keyid[:16], n=len(env.signatures)))


def load_roots(paths: tuple[Path, ...], now: int) -> Root:
    """The oldest root given is the one trusted (pinned); the others are its rotations. Files
    may come in any order: they are sorted by the version they claim, and the walk then
    verifies each from the one before, so the order proves nothing and needs no care."""
    blobs = [read_file(p, _("trust root"), MAX_ROOT_BYTES) for p in paths]
    ordered = [b for _v, b in sorted(((parse_root_envelope(b)[1].version, b) for b in blobs),
                                     key=lambda vb: vb[0])]
    return load_trust(ordered[0], ordered[1:], now)


@release_group.command("verify")
@click.argument("manifest_file", type=existing_file)
@click.option("--root", "roots", type=existing_file, multiple=True, required=True,
              help=_("Trusted root; repeat to walk rotations (any order, the oldest is trusted)."))
@click.option("--content", "content_dir", type=click.Path(file_okay=False, path_type=Path),
              help=_("Also check every file under this folder against the manifest."))
@click.option("--last-version", type=int, help=
    _("Last trusted version of the channel (rollback)."))
def verify(manifest_file: Path, roots: tuple[Path, ...], content_dir: Path | None,
           last_version: int | None) -> None:
    """Exit 0 only when MANIFEST_FILE is validly signed (and CONTENT matches, if given)."""
    now = int(time.time())
    root = load_roots(roots, now)
    data = read_file(manifest_file, _("manifest"), MAX_ENVELOPE_BYTES)
    vr = verify_manifest(data, root, last_version, now)
    if content_dir is not None:
        check_content(vr.manifest, content_dir)
    _print_verified(vr, root, content_dir)


def check_content(m: Manifest, content_dir: Path) -> None:
    """Raise ContentMismatchError naming the first file that is missing or differs.

    Sizes are checked first (no byte read when one is wrong), then every file is hashed on
    every core at once (`p2pdist.hashing`).
    """
    for f in m.files:
        p = content_dir / f.path
        try:
            size = p.stat().st_size
        except OSError as e:
            raise ContentMismatchError(
                _("{path}: missing from {dir} ({err})").format(
                    path=f.path, dir=content_dir, err=e.strerror)) from e
        if size != f.size:
            raise ContentMismatchError(
                _("{path}: {size} bytes on disk, the manifest says {want}").format(
                    path=f.path, size=size, want=f.size))
    with _byte_progress() as bar:
        task = bar.add_task(_("checking files"), total=m.total_size)
        digests = sha256_files([content_dir / f.path for f in m.files],
                               lambda n: bar.advance(task, n))
    for f, digest in zip(m.files, digests, strict=True):
        if digest != f.sha256:
            raise ContentMismatchError(
                _("{path}: its SHA-256 differs from the signed manifest (damaged or "
                  "replaced)").format(path=f.path))


def _print_verified(vr: VerifiedRelease, root: Root, content_dir: Path | None) -> None:
    m = vr.manifest
    console.print(_("OK: {channel} v{v} \"{title}\", {n} files, {size}").format(
        channel=m.channel, v=m.version, title=m.title, n=len(m.files),
        size=human_size(m.total_size)))
    console.print(_("  signed by role {role!r} ({k} key(s)) under trust root v{rv}; "
                    "expires {exp}").format(
                        role=vr.role, k=len(vr.signers), rv=root.version,
                        exp=time.strftime("%Y-%m-%d", time.gmtime(m.expires))))
    if not vr.is_new:
        console.print(_("  this is the version already trusted (already have it)"))
    if content_dir is not None:
        console.print(_("  every file under {dir} matches").format(dir=content_dir))


@release_group.command("show")
@click.argument("manifest_file", type=existing_file)
@json_option()
def show(manifest_file: Path, as_json: bool) -> None:
    """The catalog of MANIFEST_FILE grouped by theme (does not verify; see `release verify`)."""
    env = _read_envelope(manifest_file)
    m = Manifest.decode_body(env.signed)
    info = manifest_info(m, env)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False))
        return
    console.print(_("{title} — {channel} v{v} ({n} signature(s), not verified here)").format(
        title=m.title, channel=m.channel, v=m.version, n=len(env.signatures)))
    table = Table(_("theme"), _("kind"), _("titles"), _("size"), _("duration"))
    for g in info["themes"]:
        table.add_row(g["theme"], ", ".join(g["kinds"]), str(g["count"]),
                      human_size(g["size"]), human_duration(g["duration"]))
    console.print(table)
    k = info["kinds"]
    console.print(_("{films} films, {courses} courses, {hb} handbook(s), {other} other; "
                    "{n} files, {size}, {dur} in all").format(
                        films=k["film"], courses=k["course"], hb=k["handbook"], other=k["other"],
                        n=info["files"], size=human_size(info["total_size"]),
                        dur=human_duration(info["total_duration"])))


def magnet_of(m: Manifest) -> tuple[TorrentIdentity, str]:
    """The torrent's identity and a magnet link naming the manifest's seeders as `x.pe` peers."""
    ident = torrent_identity(m.torrent)
    peers = [s.swarm for s in m.seeders if s.swarm]
    return ident, ident.magnet + "".join(f"&x.pe={quote(p, safe=':[]')}" for p in peers)


@release_group.command("torrent")
@click.argument("manifest_file", type=existing_file)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help=_("Where to write the .torrent."))
def torrent(manifest_file: Path, out: Path) -> None:
    """Write the exact .torrent signed in MANIFEST_FILE, for stock BitTorrent clients (does
    not verify; see `release verify`)."""
    env = _read_envelope(manifest_file)
    m = Manifest.decode_body(env.signed)
    ident, magnet = magnet_of(m)
    atomic_write(out, m.torrent)
    console.print(_("wrote {out} ({n} bytes): {channel} v{v}").format(
        out=out, n=len(m.torrent), channel=m.channel, v=m.version))
    # the same key names as `release show --json`, for copying into a client
    for key, value in {"info_hash_v1": ident.info_hash_v1, "info_hash_v2": ident.info_hash_v2,
                       "magnet": magnet}.items():
        console.print(f"{key} {value}", soft_wrap=True, markup=False)


def manifest_info(m: Manifest, env: Envelope) -> dict[str, Any]:
    cat = catalog_of(m)
    ident, magnet = magnet_of(m)
    return {
        "channel": m.channel,
        "version": m.version,
        "title": m.title,
        "created": m.created,
        "expires": m.expires,
        "files": len(m.files),
        "total_size": cat.size,
        "total_duration": cat.duration,
        "signatures": [s.keyid for s in env.signatures],
        "seeders": [{"feed": s.feed, "swarm": s.swarm} for s in m.seeders],
        "info_hash_v1": ident.info_hash_v1,
        "info_hash_v2": ident.info_hash_v2,
        "magnet": magnet,
        "web_seeds": web_seeds_of(m.torrent),
        "kinds": {k: sum(1 for f in m.files if f.kind.value == k)
                  for k in ("film", "course", "handbook", "other")},
        "themes": [
            {
                "theme": g.theme,
                "kinds": [k.value for k in g.kinds],
                "count": len(g.files),
                "size": g.size,
                "duration": g.duration,
                "files": [{"path": f.path, "title": f.title, "kind": f.kind.value,
                           "size": f.size, "duration": f.duration} for f in g.files],
            }
            for g in cat.groups
        ],
    }


@release_group.command("publish")
@click.argument("manifest_file", type=existing_file)
@click.option("--content", "content_dir", required=True,
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help=_("The folder the release was built from."))
@click.option("--to", "data_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help=_("The origin seeder's data directory."))
@click.option("--root", "roots", type=existing_file, multiple=True, required=True,
              help=_("Trusted root; repeat to walk rotations (any order, the oldest is trusted)."))
@click.option("--copy", is_flag=True,
              help=_("Copy the files instead of hard-linking them (when CONTENT may change)."))
def publish(manifest_file: Path, content_dir: Path, data_dir: Path, roots: tuple[Path, ...],
            copy: bool) -> None:
    """Put a signed release into the origin's store, verified like any box would, and activate
    it there; the origin seeder then seeds it."""
    now = int(time.time())
    root = load_roots(roots, now)
    data = read_file(manifest_file, _("manifest"), MAX_ENVELOPE_BYTES)
    store = Store(data_dir)
    vr = verify_manifest_with(data, root, store.active_version, now)
    if not vr.is_new:
        console.print(_("{channel} v{v} is already published in {dir}").format(
            channel=vr.manifest.channel, v=vr.manifest.version, dir=data_dir))
        return
    with _byte_progress() as bar:
        task = bar.add_task(_("publishing"), total=None)
        report = install_from_folder(
            store, vr, content_dir, link=not copy,
            progress=lambda d, t: bar.update(task, completed=d, total=t))
    console.print(_("published {channel} v{v} in {dir}: {n} files ({linked})").format(
        channel=report.channel, v=report.version, dir=data_dir, n=report.files,
        linked=_("copied") if copy else _("hard-linked where possible")))
