"""The box's swarm: one libtorrent session driven from trio.

`Swarm.run` owns the session and every background task (alert pump, WAN schedule, periodic
resume saves, payload accounting) in one nursery; the other methods are the operations the agent
and the seeder call while it runs. Blocking work (file I/O, encoding resume data, destroying
the session) goes to worker threads; libtorrent calls that only query its network thread
(status, peer lists) are microseconds and stay on the event loop.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import trio

from p2pdist._libtorrent import lt
from p2pdist.errors import NetworkError, P2PDistError, StorageError, TransferError
from p2pdist.i18n import _

from ..fs import atomic_write
from . import _resume
from ._alerts import (
    AlertPump,
    AlertsDropped,
    AlertState,
    CacheFlushed,
    Deleted,
    DeleteFailed,
    Finished,
    ListenFailed,
    Listening,
    Notice,
    PeerBanned,
    PeerLeft,
    ResumeData,
    ResumeFailed,
    TorrentChanged,
    TorrentFacts,
    TorrentFailed,
    TorrentNote,
)
from ._bans import BanTable
from ._classes import IPAddress, LanSet, PeerClasses
from ._config import SwarmConfig
from ._errors import UnknownTorrentError
from ._schedule import format_rate
from ._selection import file_priorities, paths_with_pieces, pieces_held
from ._session import open_session
from ._snapshot import PayloadLedger, PeerReading, PeerSource, TorrentSnapshot, TorrentState

log = logging.getLogger(__name__)

LISTEN_TIMEOUT_S = 5.0
# libtorrent reports every listen socket at once; after a failure, wait this long for another
# interface to succeed before giving up.
LISTEN_GRACE_S = 0.5
RESUME_TIMEOUT_S = 10.0
DELETE_TIMEOUT_S = 60.0
PEER_POLL_INTERVAL_S = 1.0
IDLE_CHECK_S = 2.0
"""How often the resume loop looks at torrents when every one is complete."""

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
_CHECKING = {
    lt.torrent_status.checking_files,
    lt.torrent_status.checking_resume_data,
    lt.torrent_status.queued_for_checking,
    lt.torrent_status.allocating,
}
_NOT_CONNECTED = lt.peer_info.connecting | lt.peer_info.handshake
DIAL_SOURCE = lt.peer_info.tracker


@dataclass(eq=False)
class _Torrent:
    """The swarm's record of one torrent."""

    key: str
    handle: lt.torrent_handle
    facts: TorrentFacts
    ledger: PayloadLedger = field(default_factory=PayloadLedger)
    changed: trio.Event = field(default_factory=trio.Event)
    resume_lock: trio.Lock = field(default_factory=trio.Lock)
    resume_ready: trio.Event = field(default_factory=trio.Event)
    resume_result: ResumeData | CacheFlushed | ResumeFailed | None = None
    removed: bool = False
    resumed_paths: frozenset[str] = frozenset()

    def poke(self) -> None:
        """Wake everyone waiting for a change."""
        self.changed.set()
        self.changed = trio.Event()


@dataclass(eq=False)
class _Deletion:
    done: trio.Event = field(default_factory=trio.Event)
    error: str | None = None


@dataclass(eq=False)
class _Runtime:
    """Everything that exists only while `run` runs; dropped as one piece at shutdown."""

    ses: lt.session
    classes: PeerClasses
    pump: AlertPump
    limits: tuple[int, int]
    nursery: trio.Nursery | None = None


class Swarm:
    """One libtorrent session: add torrents, connect peers, report progress, keep resume data.

    Start it with ``await nursery.start(swarm.run)``; the other methods need it running. Torrents
    keep seeding after they complete until removed or the swarm stops.

    Args:
        config: addresses, classes, limits and the resume directory.
        clock: local time, for the WAN schedule (tests may pass their own).
    """

    def __init__(self, config: SwarmConfig, *, clock: Callable[[], datetime] = datetime.now):
        self._config = config
        self._clock = clock
        self._state = AlertState()
        self._bans = BanTable(config.ban_s)
        self._torrents: dict[str, _Torrent] = {}
        self._deletions: dict[str, _Deletion] = {}
        self._seeders: set[IPAddress] = set()
        self._rt: _Runtime | None = None
        self._closing = False
        self._listening = trio.Event()
        self._listen_news = trio.Event()  # a listen socket succeeded or failed
        self._listen_failures: list[str] = []
        self._run_scope: trio.CancelScope | None = None
        self._stopped = trio.Event()
        self._port = 0

    # Lifecycle.

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Open the session, wait until it listens, then serve until cancelled or `aclose`.

        On the way out (cancelled or not) resume data of every torrent is saved, bounded by
        `shutdown_timeout_s`, and the session is destroyed off the event loop.

        Raises:
            NetworkError: no listen socket could be opened.
            RuntimeError: run twice.
        """
        if self._run_scope is not None:
            raise RuntimeError("Swarm.run() can be called once per Swarm")
        self._run_scope = trio.CancelScope()
        config = self._config
        try:
            with self._run_scope:
                await trio.to_thread.run_sync(
                    lambda: config.resume_dir.mkdir(parents=True, exist_ok=True)
                )
                self._rt = self._open_runtime()
                await self._wait_listening(self._rt.pump)
                async with trio.open_nursery() as nursery:
                    self._rt.nursery = nursery
                    nursery.start_soon(self._rt.pump.run)
                    nursery.start_soon(self._schedule_loop)
                    nursery.start_soon(self._resume_loop)
                    nursery.start_soon(self._peer_poll_loop)
                    task_status.started()
        finally:
            with trio.CancelScope(shield=True):
                await self._shutdown()

    def _open_runtime(self) -> _Runtime:
        # Built in one expression so the runtime holds the only reference to the session, and
        # shutdown can destroy it by dropping the runtime.
        limits = self._config.wan_schedule.limits_at(self._clock())
        ses = open_session(self._config, upload_limit=limits[0], download_limit=limits[1])
        return _Runtime(
            ses=ses,
            classes=PeerClasses(ses, LanSet(self._config.lan_networks())),
            pump=AlertPump(ses, self._state, self._on_notice),
            limits=limits,
        )

    async def aclose(self) -> None:
        """Stop `run` (saving resume data) and wait until the session is gone."""
        if self._run_scope is None:
            return
        self._run_scope.cancel()
        await self._stopped.wait()

    @property
    def listen_port(self) -> int:
        """The TCP port peers connect to (known once `run` has started)."""
        return self._port

    @property
    def wan_limits(self) -> tuple[int, int]:
        """(upload, download) caps on WAN peers in force now, bytes/s; 0 = unlimited."""
        settings = self._require_running().ses.get_settings()
        return settings["upload_rate_limit"], settings["download_rate_limit"]

    # Torrents.

    async def add_torrent(
        self,
        key: str,
        torrent: bytes,
        save_path: Path,
        *,
        wanted_paths: Set[str] | None = None,
        seed_mode: bool = False,
        pex: bool = True,
        held_paths: Set[str] = frozenset(),
    ) -> None:
        """Add a torrent under `key` and start it.

        Saved resume data for `key` is used when valid; otherwise libtorrent checks the files
        already in `save_path` and keeps every piece that verifies.

        Args:
            key: the caller's name for it; letters, digits and ``._@+-``, used as a file name.
            torrent: the .torrent bytes.
            save_path: the directory that holds (or will hold) the torrent's folder.
            wanted_paths: paths relative to the torrent's folder to fetch; None fetches all.
                Other files are never created.
            seed_mode: the caller vouches the files are complete (just built or verified): seed
                without hashing them (every piece is marked had; a missing or short file makes
                libtorrent recheck). Only for the whole torrent (not with `wanted_paths`).
            pex: exchange peer lists (ut_pex). Off for boxes that must not learn WAN peers
                from LAN neighbours (a shared uplink where only the elected box uses the WAN).
            held_paths: wanted paths already in place and verified (files reused from the
                store's objects): their pieces count as had without hashing, when no resume
                data is used.

        Raises:
            ValueError: bad key, key in use, torrent already added, invalid torrent, unknown
                wanted path, or seed_mode with wanted_paths.
        """
        self._require_running()
        if seed_mode and wanted_paths is not None:
            raise ValueError(_("seed_mode seeds the whole torrent; it cannot take wanted_paths"))
        if not _KEY.fullmatch(key):
            raise ValueError(
                _("torrent key {key!r}: use letters, digits and ._@+- (at most 128)").format(
                    key=key
                )
            )
        if key in self._torrents or key in self._deletions:
            raise ValueError(_("torrent key {key!r} is already in use").format(key=key))
        atp = await trio.to_thread.run_sync(
            self._params, key, torrent, save_path, wanted_paths, seed_mode, pex, held_paths
        )
        rt = self._require_running()
        if key in self._torrents or key in self._deletions:
            raise ValueError(_("torrent key {key!r} is already in use").format(key=key))
        try:
            handle = rt.ses.add_torrent(atp)
        except RuntimeError as e:
            raise ValueError(_("cannot add torrent {key}: {e}").format(key=key, e=e)) from e
        facts = self._state.track(handle, key)
        resumed: frozenset[str] = frozenset()
        if not seed_mode and atp.ti is not None:
            resumed = paths_with_pieces(atp.ti, list(atp.have_pieces))
        self._torrents[key] = _Torrent(key, handle, facts, resumed_paths=resumed)

    def resumed_paths(self, key: str) -> frozenset[str]:
        """Paths of `key` with pieces taken from resume data when it was added: libtorrent did
        not verify those bytes in this process (a file may have changed while the box was off).

        Raises:
            UnknownTorrentError: no such key.
        """
        return self._get(key).resumed_paths

    def _params(
        self,
        key: str,
        torrent: bytes,
        save_path: Path,
        wanted_paths: Set[str] | None,
        seed_mode: bool,
        pex: bool,
        held_paths: Set[str] = frozenset(),
    ) -> lt.add_torrent_params:
        """add_torrent_params for `add_torrent` (worker thread: parses and reads files)."""
        try:
            ti = lt.torrent_info(torrent)
        except (RuntimeError, TypeError) as e:
            raise ValueError(
                _("the torrent for {key} is not a valid .torrent: {e}").format(key=key, e=e)
            ) from e
        priorities = file_priorities(ti, wanted_paths)
        atp = None
        if not seed_mode:
            atp = _resume.load(_resume.resume_path(self._config.resume_dir, key), ti)
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
                atp.have_pieces = pieces_held(ti, held_paths)
        atp.save_path = str(save_path)
        atp.file_priorities = priorities
        atp.max_connections = self._config.connections_per_torrent
        # Not auto-managed: a box seeds every release it holds, never queues one.
        flags = atp.flags & ~(
            lt.torrent_flags.auto_managed | lt.torrent_flags.paused | lt.torrent_flags.seed_mode
        )
        flags |= lt.torrent_flags.duplicate_is_error
        if not pex:
            flags |= lt.torrent_flags.disable_pex
        atp.flags = flags
        return atp

    async def remove(self, key: str, delete_files: bool = False) -> None:
        """Stop and forget a torrent and its resume file; optionally delete its files.

        Raises:
            UnknownTorrentError: no such key.
            StorageError: the files could not be deleted.
        """
        t = self._get(key)
        rt = self._require_running()
        async with t.resume_lock:  # never remove under a save in flight
            if t.removed:
                raise UnknownTorrentError(_("torrent {key} was removed").format(key=key))
            t.removed = True
            del self._torrents[key]
            deletion = self._deletions[key] = _Deletion()
            rt.ses.remove_torrent(t.handle, lt.session.delete_files if delete_files else 0)
        t.poke()
        try:
            path = _resume.resume_path(self._config.resume_dir, key)
            await trio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))
            if delete_files:
                with trio.move_on_after(DELETE_TIMEOUT_S):
                    await deletion.done.wait()
                if not deletion.done.is_set():
                    deletion.error = _("no answer from the disk within {s:g} s").format(
                        s=DELETE_TIMEOUT_S
                    )
                if deletion.error is not None:
                    raise StorageError(
                        _("could not delete the files of {key}: {reason}").format(
                            key=key, reason=deletion.error
                        )
                    )
        finally:
            del self._deletions[key]
            self._state.forget(t.handle)

    # Peers.

    def connect_peer(self, key: str, endpoint: tuple[str, int], source: PeerSource) -> None:
        """Dial a peer for torrent `key`.

        A LAN source registers the address as LAN (unlimited class) before dialling; a SEEDER
        source registers it so its bytes are attributed to seeders. Each call allows one more
        dial of an address that failed before, however often it failed: callers redial with
        their own back-off while pieces are missing.

        Raises:
            UnknownTorrentError: no such key.
            ValueError: the address is not an IP address, or an unknown source.
        """
        t = self._get(key)
        rt = self._require_running()
        ip = _parse_ip(endpoint[0])
        source = PeerSource(source)
        if source is PeerSource.SEEDER:
            self._seeders.add(ip)
        elif source is PeerSource.LAN:
            rt.classes.add_host(ip)
        # As a "tracker" peer: libtorrent stops dialling an address after `max_failcount` (3)
        # failed dials, and only a tracker's word lowers that count again (by one per mention,
        # see peer_list::update_peer). Our sources are this box's tracker: each call earns the
        # address one more dial, so a seeder that was down for a while is dialled again when
        # the caller asks (its capped back-off), not never.
        t.handle.connect_peer((str(ip), endpoint[1]), DIAL_SOURCE)

    def set_super_seeding(self, key: str, enabled: bool) -> None:
        """Super-seed a complete torrent: offer each peer pieces no other peer has, so a seeder
        on a thin uplink sends about one copy while peers spread the rest among themselves.

        Raises:
            UnknownTorrentError: no such key.
        """
        h = self._get(key).handle
        if enabled:
            h.set_flags(lt.torrent_flags.super_seeding)
        else:
            h.unset_flags(lt.torrent_flags.super_seeding)

    def set_wan_allowed(self, allowed: bool) -> None:
        """Allow or forbid connections to and from anything outside the LAN set (subnets and
        registered LAN peers). Forbidding drops existing WAN connections at once."""
        self._require_running().classes.set_wan_allowed(allowed)

    def register_lan_peer(self, ip: str) -> None:
        """Treat `ip` as LAN from now on (e.g. a zeroconf neighbour): unlimited, counted as LAN.

        Connections already open keep their class until they reconnect.
        """
        self._require_running().classes.add_host(_parse_ip(ip))

    def _source_of(self, ip: str) -> PeerSource:
        addr = _parse_ip(ip)
        if addr in self._seeders:
            return PeerSource.SEEDER
        rt = self._rt
        if rt is not None and addr in rt.classes.lan:
            return PeerSource.LAN
        return PeerSource.WAN

    def _poll_peers(self, t: _Torrent, st: lt.torrent_status) -> dict[PeerSource, int]:
        """Fold the peers' payload counters into the ledger; connected peers by source.

        `st` must be read before the peers (see `PayloadLedger.observe`).
        """
        connected = dict.fromkeys(PeerSource, 0)
        readings = []
        for p in t.handle.get_peer_info():
            ip, port = p.ip
            source = self._source_of(ip)
            local = p.local_endpoint()
            readings.append(PeerReading((ip, port), source, p.total_download,
                                        p.payload_down_speed, (str(local[0]), int(local[1]))))
            if not p.flags & _NOT_CONNECTED:
                connected[source] += 1
        t.ledger.observe(st.total_payload_download, readings)
        return connected

    # Progress.

    def snapshot(self, key: str) -> TorrentSnapshot:
        """The torrent's state now.

        Raises:
            UnknownTorrentError: no such key.
        """
        t = self._get(key)
        self._require_running()
        st = t.handle.status()
        peers = self._poll_peers(t, st)
        error = str(t.facts.failure) if t.facts.failure is not None else None
        if error is None and st.errc.value() != 0:
            error = st.errc.message()
        return TorrentSnapshot(
            key=key,
            state=_state_of(st, error),
            bytes_done=st.total_wanted_done,
            bytes_wanted=st.total_wanted,
            download_rate=st.download_payload_rate,
            upload_rate=st.upload_payload_rate,
            peers=peers,
            received=t.ledger.received,
            total_payload_download=st.total_payload_download,
            total_payload_upload=st.total_payload_upload,
            total_failed_bytes=st.total_failed_bytes,
            hash_failures=t.facts.hash_failures,
            peer_bans=t.facts.peer_bans,
            file_checks=t.facts.file_checks,
            dial_failures=t.facts.dial_failures,
            error=error,
        )

    async def recheck(self, key: str, timeout_s: float = 30.0) -> None:
        """Hash `key`'s files on disk again (after the caller set a bad file aside), so pieces
        that no longer verify are downloaded again.

        Returns once libtorrent has left the finished state (it is checking or downloading), so a
        following `wait_complete` waits for the new pieces rather than returning at once.

        Raises:
            UnknownTorrentError: no such key.
            TransferError: the torrent did not start checking within `timeout_s`.
        """
        t = self._get(key)
        t.handle.force_recheck()
        with trio.move_on_after(timeout_s):
            while True:
                changed = t.changed
                st = t.handle.status()
                if st.state in _CHECKING or not st.is_finished:
                    return
                await changed.wait()
        raise TransferError(_("torrent {key} did not start its recheck").format(key=key))

    async def wait_complete(self, key: str) -> None:
        """Return once every wanted byte of `key` is downloaded and verified.

        Woken by libtorrent's finished/state alerts; never polls.

        Raises:
            UnknownTorrentError: no such key, or it was removed while waiting.
            StorageError: a disk error stopped the torrent (DiskFullError when out of space).
            TransferError: libtorrent stopped the torrent for another reason.
        """
        t = self._get(key)
        while True:
            changed = t.changed
            if t.removed:
                raise UnknownTorrentError(_("torrent {key} was removed").format(key=key))
            if t.facts.failure is not None:
                raise type(t.facts.failure)(str(t.facts.failure))
            self._require_running()
            st = t.handle.status()
            if st.is_finished and st.state not in _CHECKING:
                # "Finished" means every piece passed its hash, which libtorrent may check from
                # blocks still queued for writing. Saving resume data with a flush waits for
                # those writes, so the files are whole on disk (and the resume file is current)
                # before anyone reads them.
                try:
                    await self._save(t)
                except StorageError as e:
                    log.warning("%s", e)
                return
            await changed.wait()

    # Resume data.

    async def save_resume(self, key: str) -> None:
        """Save `key`'s resume data to its file now.

        Raises:
            UnknownTorrentError: no such key.
            StorageError: libtorrent could not produce it or the file could not be written.
        """
        t = self._get(key)
        self._require_running()
        await self._save(t)

    async def save_all_resume(self) -> list[str]:
        """Save every torrent's resume data concurrently; the keys that failed (logged)."""
        self._require_running()
        return await self._save_all()

    async def _save_all(self) -> list[str]:
        failed: list[str] = []

        async def one(t: _Torrent) -> None:
            try:
                await self._save(t)
            except P2PDistError as e:
                log.warning("%s", e)
                failed.append(t.key)

        async with trio.open_nursery() as nursery:
            for t in list(self._torrents.values()):
                nursery.start_soon(one, t)
        return failed

    async def _save(self, t: _Torrent) -> None:
        async with t.resume_lock:
            if t.removed:
                return
            t.resume_result = None
            t.resume_ready = trio.Event()
            # The pieces had now, then a fence: once every write queued before it is done,
            # those pieces are on disk and the checkpoint may say so (see _resume.checkpoint).
            data = _resume.checkpoint(t.handle)
            t.handle.flush_cache()
            with trio.move_on_after(RESUME_TIMEOUT_S):
                await t.resume_ready.wait()
            result = t.resume_result
            if not isinstance(result, CacheFlushed):
                reason = (
                    result.reason
                    if isinstance(result, ResumeFailed)
                    else _("no answer within {s:g} s").format(s=RESUME_TIMEOUT_S)
                )
                raise StorageError(
                    _("could not save resume data for {key}: {reason}").format(
                        key=t.key, reason=reason
                    )
                )
            path = _resume.resume_path(self._config.resume_dir, t.key)
            # atomic_write raises a StorageError that names the file and the cause.
            await trio.to_thread.run_sync(atomic_write, path, data)

    async def _save_logged(self, t: _Torrent) -> None:
        try:
            await self._save(t)
        except P2PDistError as e:
            log.warning("%s", e)

    # Background tasks.

    async def _wait_listening(self, pump: AlertPump) -> None:
        """Pump alerts in this task (no nursery yet, so errors are not grouped)."""
        with trio.move_on_after(LISTEN_TIMEOUT_S):
            await pump.run_until(self._listen_news.is_set)
        if self._listen_failures and not self._listening.is_set():
            with trio.move_on_after(LISTEN_GRACE_S):
                await pump.run_until(self._listening.is_set)
        if not self._listening.is_set():
            raise NetworkError(
                _(
                    "could not listen on {ifaces} ({reasons}); check listen_interfaces in the "
                    "configuration and whether another program uses the port"
                ).format(
                    ifaces=self._config.listen_interfaces,
                    reasons="; ".join(self._listen_failures) or _("no answer"),
                )
            )

    async def _schedule_loop(self) -> None:
        """Re-apply the WAN caps at each minute boundary when the window changes."""
        while True:
            now = self._clock()
            self._apply_limits(self._config.wan_schedule.limits_at(now))
            await trio.sleep(60 - now.second - now.microsecond / 1e6)

    def _apply_limits(self, limits: tuple[int, int]) -> None:
        rt = self._require_running()
        if limits == rt.limits:
            return
        rt.limits = limits
        rt.ses.apply_settings({"upload_rate_limit": limits[0], "download_rate_limit": limits[1]})
        log.info(
            _("WAN limits now up {up}, down {down}").format(
                up=format_rate(limits[0]), down=format_rate(limits[1])
            )
        )

    async def _resume_loop(self) -> None:
        """Checkpoint each torrent when it changed, on a byte and a time budget.

        A kill loses what was verified since the last checkpoint, so a fast download saves
        every `resume_budget_fraction` of its size; a slow one at least every
        `resume_interval_s`; an idle or seeding one never (nothing changed).
        """
        budget = _resume.Budget(self._config.resume_budget_fraction,
                                self._config.resume_interval_s)
        busy = True
        while True:
            # Complete torrents change little (upload counters): when every torrent is, look
            # less often, which is most of an idle seeding box's wake-ups.
            await trio.sleep(budget.check_interval_s if busy else IDLE_CHECK_S)
            now = trio.current_time()
            busy = False
            for t in list(self._torrents.values()):
                if t.removed:
                    continue
                st = t.handle.status()
                busy = busy or not st.is_finished
                if budget.due(t.key, st.need_save_resume, st.total_wanted_done,
                              st.total_wanted, now):
                    await self._save_logged(t)
                    budget.saved(t.key, st.total_wanted_done, now)

    async def _peer_poll_loop(self) -> None:
        """Read peer counters often enough that disconnects lose at most a second of bytes."""
        while True:
            await trio.sleep(PEER_POLL_INTERVAL_S)
            for t in list(self._torrents.values()):
                if t.removed:
                    continue
                st = t.handle.status()
                # A complete torrent receives nothing: its peer list matters only while the
                # ledger still follows connections from the download.
                if not (st.is_finished and t.ledger.settled()):
                    self._poll_peers(t, st)
            if self._bans.expire(trio.current_time()):
                self._install_bans()

    def _install_bans(self) -> None:
        """Block every banned address on every port (the IP filter drops live connections)."""
        if self._rt is not None:
            self._rt.classes.banned = self._bans.addresses()
            self._rt.classes.install()

    def _on_notice(self, notice: Notice) -> None:
        match notice:
            case PeerBanned(_key, ip):
                if self._bans.ban(ip, trio.current_time()):
                    self._install_bans()
            case Listening(address, port):
                log.info(_("listening on {a}:{p}").format(a=address, p=port))
                if not self._listening.is_set():
                    self._port = port
                    self._listening.set()
                self._listen_news.set()
            case ListenFailed(interface, reason):
                log.warning(_("cannot listen on {i}: {r}").format(i=interface, r=reason))
                self._listen_failures.append(f"{interface}: {reason}")
                self._listen_news.set()
            case AlertsDropped(count):
                log.warning(
                    _(
                        "libtorrent dropped alerts of {n} kinds (queue full); progress may be "
                        "missed until the next status change"
                    ).format(n=count)
                )
            case TorrentChanged(key):
                self._poke(key)
            case Finished(key):
                self._poke(key)
                t = self._torrents.get(key)
                rt = self._rt
                if t is not None and rt is not None and rt.nursery is not None:
                    rt.nursery.start_soon(self._save_logged, t)
            case TorrentFailed(key, error):
                log.error("%s: %s", key, error)
                self._poke(key)
            case ResumeData(key) | CacheFlushed(key) | ResumeFailed(key):
                t = self._torrents.get(key)
                if t is not None:
                    t.resume_result = notice
                    t.resume_ready.set()
            case Deleted(key) | DeleteFailed(key):
                deletion = self._deletions.get(key)
                if deletion is not None:
                    deletion.error = notice.reason if isinstance(notice, DeleteFailed) else None
                    deletion.done.set()
            case PeerLeft(key, (ip, port)):
                t = self._torrents.get(key)
                if t is not None:
                    t.ledger.left((ip, port), self._source_of(ip))
            case TorrentNote(key, level, message):
                log.log(level, "%s: %s", key, message)

    def _poke(self, key: str) -> None:
        t = self._torrents.get(key)
        if t is not None:
            t.poke()

    async def _shutdown(self) -> None:
        """Save resume data (bounded), then destroy the session off the event loop."""
        rt = self._rt
        if rt is None:
            self._stopped.set()
            return
        self._closing = True
        rt.nursery = None
        for t in self._torrents.values():
            t.poke()  # waiters wake and learn the swarm stopped
        with trio.move_on_after(self._config.shutdown_timeout_s) as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(rt.pump.run)  # resume data arrives as alerts
                failed = await self._save_all()
                nursery.cancel_scope.cancel()
        if scope.cancelled_caught:
            log.warning(
                _(
                    "resume data not saved within {s:g} s at shutdown; the next start will check "
                    "the files on disk"
                ).format(s=self._config.shutdown_timeout_s)
            )
        elif failed:
            log.warning(_("resume data not saved for: {keys}").format(keys=", ".join(failed)))
        rt.pump.close()
        self._torrents.clear()
        holder = [rt.ses]
        del rt
        self._rt = None
        # The session's destructor joins libtorrent's threads: not on the event loop.
        await trio.to_thread.run_sync(holder.clear)
        self._stopped.set()

    # Helpers.

    def _require_running(self) -> _Runtime:
        if self._rt is None or self._closing:
            raise RuntimeError("the Swarm is not running; start it with nursery.start(swarm.run)")
        return self._rt

    def _get(self, key: str) -> _Torrent:
        t = self._torrents.get(key)
        if t is None:
            raise UnknownTorrentError(_("no torrent {key} in the swarm").format(key=key))
        return t


def _parse_ip(text: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError as e:
        raise ValueError(_("{text!r} is not an IP address").format(text=text)) from e


def _state_of(st: lt.torrent_status, error: str | None) -> TorrentState:
    if error is not None:
        return TorrentState.ERROR
    if st.state in _CHECKING:
        return TorrentState.CHECKING
    if st.flags & lt.torrent_flags.paused:
        return TorrentState.PAUSED
    if st.is_finished:
        return TorrentState.SEEDING
    return TorrentState.DOWNLOADING
