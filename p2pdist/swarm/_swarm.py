"""The box's swarm: one libtorrent session driven from trio.

`Swarm.run` owns the session and every background task (alert pump, WAN schedule, periodic
resume saves, payload accounting) in one nursery; the other methods are the operations the agent
and the seeder call while it runs. Blocking work (file I/O, encoding resume data, destroying
the session) goes to worker threads; libtorrent calls that only query its network thread
(status, peer lists) are microseconds and stay on the event loop.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Set
from datetime import datetime
from pathlib import Path

import trio

from p2pdist._libtorrent import lt
from p2pdist.errors import StorageError, TransferError
from p2pdist.i18n import _
from p2pdist.wakeup import Wakeup

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
    TorrentFailed,
    TorrentNote,
)
from ._bans import BanTable
from ._checkpoints import Checkpoints
from ._classes import LanSet, PeerClasses
from ._config import SwarmConfig
from ._errors import UnknownTorrentError
from ._listen import ListenWatch
from ._params import torrent_params
from ._peers import PeerBook
from ._records import CHECKING, Deletion, Runtime, TorrentRecord, parse_ip, state_of
from ._schedule import format_rate
from ._selection import paths_with_pieces
from ._session import open_session
from ._snapshot import PeerSource, TorrentSnapshot

log = logging.getLogger(__name__)

DELETE_TIMEOUT_S = 60.0
PEER_POLL_INTERVAL_S = 1.0
IDLE_POLL_S = 30.0
"""The peer poll's pace while every torrent is complete (a change wakes it; bans expire late
by at most this)."""

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
DIAL_SOURCE = lt.peer_info.tracker


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
        self._torrents: dict[str, TorrentRecord] = {}
        self._deletions: dict[str, Deletion] = {}
        self._peers = PeerBook()
        self._wakeup = Wakeup()
        self._checkpoints = Checkpoints(config, self._torrents, self._wakeup)
        self._rt: Runtime | None = None
        self._closing = False
        self._listen = ListenWatch(config.listen_interfaces)
        self._run_scope: trio.CancelScope | None = None
        self._stopped = trio.Event()

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
                await self._listen.wait(self._rt.pump)
                async with trio.open_nursery() as nursery:
                    self._rt.nursery = nursery
                    nursery.start_soon(self._rt.pump.run)
                    nursery.start_soon(self._schedule_loop)
                    nursery.start_soon(self._checkpoints.run)
                    nursery.start_soon(self._peer_poll_loop)
                    task_status.started()
        finally:
            with trio.CancelScope(shield=True):
                await self._shutdown()

    def _open_runtime(self) -> Runtime:
        # Built in one expression so the runtime holds the only reference to the session, and
        # shutdown can destroy it by dropping the runtime.
        limits = self._config.wan_schedule.limits_at(self._clock())
        ses = open_session(self._config, upload_limit=limits[0], download_limit=limits[1])
        return Runtime(
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
        return self._listen.port

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
        await self._running()
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
            torrent_params, self._config, key, torrent, save_path, wanted_paths, seed_mode, pex,
            held_paths
        )
        rt = await self._running()
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
        self._torrents[key] = TorrentRecord(key, handle, facts, resumed_paths=resumed)
        self._wakeup.set()

    def resumed_paths(self, key: str) -> frozenset[str]:
        """Paths of `key` with pieces taken from resume data when it was added: libtorrent did
        not verify those bytes in this process (a file may have changed while the box was off).

        Raises:
            UnknownTorrentError: no such key.
        """
        return self._get(key).resumed_paths

    async def remove(self, key: str, delete_files: bool = False) -> None:
        """Stop and forget a torrent and its resume file; optionally delete its files.

        Raises:
            UnknownTorrentError: no such key.
            StorageError: the files could not be deleted.
        """
        rt = await self._running()
        t = self._get(key)
        async with t.resume_lock:  # never remove under a save in flight
            if t.removed:
                raise UnknownTorrentError(_("torrent {key} was removed").format(key=key))
            t.removed = True
            del self._torrents[key]
            deletion = self._deletions[key] = Deletion()
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
        ip = parse_ip(endpoint[0])
        source = PeerSource(source)
        if source is PeerSource.SEEDER:
            self._peers.seeders.add(ip)
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
        self._require_running().classes.add_host(parse_ip(ip))

    # Progress.

    def snapshot(self, key: str) -> TorrentSnapshot:
        """The torrent's state now.

        Raises:
            UnknownTorrentError: no such key.
        """
        t = self._get(key)
        self._require_running()
        st = t.handle.status()
        peers = self._peers.poll(t, st, self._lan())
        error = str(t.facts.failure) if t.facts.failure is not None else None
        if error is None and st.errc.value() != 0:
            error = st.errc.message()
        return TorrentSnapshot(
            key=key,
            state=state_of(st, error),
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
        await self._running()
        t = self._get(key)
        t.handle.force_recheck()
        with trio.move_on_after(timeout_s):
            while True:
                changed = t.changed
                st = t.handle.status()
                if st.state in CHECKING or not st.is_finished:
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
        await self._running()
        t = self._get(key)
        while True:
            changed = t.changed
            if t.removed:
                raise UnknownTorrentError(_("torrent {key} was removed").format(key=key))
            if t.facts.failure is not None:
                raise type(t.facts.failure)(str(t.facts.failure))
            await self._running()
            st = t.handle.status()
            if st.is_finished and st.state not in CHECKING:
                # "Finished" means every piece passed its hash, which libtorrent may check from
                # blocks still queued for writing. Saving resume data with a flush waits for
                # those writes, so the files are whole on disk (and the resume file is current)
                # before anyone reads them.
                try:
                    await self._checkpoints.save(t)
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
        await self._running()
        t = self._get(key)
        await self._checkpoints.save(t)

    async def save_all_resume(self) -> list[str]:
        """Save every torrent's resume data concurrently; the keys that failed (logged)."""
        await self._running()
        return await self._checkpoints.save_all()

    # Background tasks.

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

    async def _peer_poll_loop(self) -> None:
        """Read peer counters often enough that disconnects lose at most a second of bytes;
        notice a torrent that was complete and wants pieces again. While every torrent is
        complete and settled it waits for a change instead (see p2pdist.wakeup)."""
        busy = True
        while True:
            if busy:
                await trio.sleep(PEER_POLL_INTERVAL_S)
            else:
                await self._wakeup.wait(IDLE_POLL_S)
            reopened = busy = False
            for t in list(self._torrents.values()):
                if t.removed:
                    continue
                st = t.handle.status()
                if st.state not in CHECKING:
                    reopened = reopened or (t.was_finished and not st.is_finished)
                    t.was_finished = st.is_finished
                # A complete torrent receives nothing: its peer list matters only while the
                # ledger still follows connections from the download.
                if not (st.is_finished and t.ledger.settled()):
                    self._peers.poll(t, st, self._lan())
                    busy = True
                elif st.state in CHECKING:
                    busy = True
            if reopened:
                self._recount_connect_candidates()
            if self._bans.expire(trio.current_time()):
                self._install_bans()

    def _recount_connect_candidates(self) -> None:
        """Make libtorrent recount which known peers each torrent may dial.

        A torrent that was complete counts no seed as worth dialling, and libtorrent keeps that
        count after the torrent wants pieces again (a recheck found damage, more files were
        wanted): with a count of 0 it never dials, so `connect_peer` of the seeder it met while
        complete is ignored for good (the peer_list recomputes the count only when asked for a
        candidate, which it is not while the count is 0). A change of `max_failcount` is the
        one public call that makes every torrent recount, so it is nudged and put back.
        """
        ses = self._require_running().ses
        failcount = ses.get_settings()["max_failcount"]
        ses.apply_settings({"max_failcount": failcount + 1})
        ses.apply_settings({"max_failcount": failcount})
        log.debug(_("recounted the dialable peers after a torrent wanted pieces again"))

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
                self._listen.listened(address, port)
            case ListenFailed(interface, reason):
                self._listen.failed(interface, reason)
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
                    rt.nursery.start_soon(self._checkpoints.save_logged, t)
            case TorrentFailed(key, error):
                log.error("%s: %s", key, error)
                self._poke(key)
            case ResumeData(key) | CacheFlushed(key) | ResumeFailed(key):
                t = self._torrents.get(key)
                if t is not None:
                    self._checkpoints.answered(t, notice)
            case Deleted(key) | DeleteFailed(key):
                deletion = self._deletions.get(key)
                if deletion is not None:
                    deletion.error = notice.reason if isinstance(notice, DeleteFailed) else None
                    deletion.done.set()
            case PeerLeft(key, (ip, port)):
                t = self._torrents.get(key)
                if t is not None:
                    t.ledger.left((ip, port), self._peers.source_of(ip, self._lan()))
            case TorrentNote(key, level, message):
                log.log(level, "%s: %s", key, message)

    def _poke(self, key: str) -> None:
        t = self._torrents.get(key)
        if t is not None:
            t.poke()
        self._wakeup.set()

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
                failed = await self._checkpoints.save_all()
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

    async def _running(self) -> Runtime:
        """`_require_running` for a task that may have been cancelled with the swarm.

        A stop cancels the swarm and its callers together; a caller that was inside a thread
        (building a torrent's parameters) comes back after the swarm began to shut down. It
        leaves with its own Cancelled, not a RuntimeError that would end the daemon.
        """
        if self._rt is None or self._closing:
            await trio.lowlevel.checkpoint_if_cancelled()
        return self._require_running()

    def _require_running(self) -> Runtime:
        if self._rt is None or self._closing:
            raise RuntimeError("the Swarm is not running; start it with nursery.start(swarm.run)")
        return self._rt

    def _lan(self) -> LanSet | None:
        return self._rt.classes.lan if self._rt is not None else None

    def _get(self, key: str) -> TorrentRecord:
        t = self._torrents.get(key)
        if t is None:
            raise UnknownTorrentError(_("no torrent {key} in the swarm").format(key=key))
        return t

