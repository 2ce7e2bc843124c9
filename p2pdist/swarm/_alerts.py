"""Carry libtorrent's alerts into trio and turn them into facts and notices.

`AlertState` is pure: it dispatches on alert types (through a table, not on strings) into
per-torrent counters and returns `Notice` values for the shell to act on. Unit tests feed it fake
alerts that subclass the real alert classes. `AlertPump` is the I/O: libtorrent writes a byte to a
non-blocking socket when its queue becomes non-empty (`set_alert_fd`), trio waits for that byte,
and `pop_alerts()` runs on the trio thread, so no Python ever runs on libtorrent's threads.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import trio

from p2pdist._libtorrent import lt
from p2pdist.errors import (
    DiskFullError,
    P2PDistError,
    StorageError,
    StoragePermissionError,
    TransferError,
)
from p2pdist.i18n import _

log = logging.getLogger(__name__)

# pop_alerts() returning this many means the queue (2,000 by default) was nearly full.
QUEUE_WARN_THRESHOLD = 1500


@dataclass(frozen=True)
class Listening:
    """A TCP listen socket is up."""

    address: str
    port: int


@dataclass(frozen=True)
class ListenFailed:
    """A listen socket could not be opened."""

    interface: str
    reason: str


@dataclass(frozen=True)
class AlertsDropped:
    """libtorrent's alert queue overflowed; `count` alert types lost alerts."""

    count: int


@dataclass(frozen=True)
class TorrentChanged:
    """The torrent's state changed: waiters should look again."""

    key: str


@dataclass(frozen=True)
class Finished:
    """Every wanted piece is downloaded and verified."""

    key: str


@dataclass(frozen=True)
class TorrentFailed:
    """libtorrent stopped the torrent on an error."""

    key: str
    error: P2PDistError


@dataclass(frozen=True)
class ResumeData:
    """Resume data requested with `save_resume_data` is ready."""

    key: str
    data: bytes
    """Encoded at once: `alert.params` points into the alert, which the next `pop_alerts`
    frees (Boost.Python returns class members by internal reference), so keeping it crashed."""


@dataclass(frozen=True)
class CacheFlushed:
    """Every write of a torrent queued before `flush_cache` is on disk (a checkpoint's fence)."""

    key: str


@dataclass(frozen=True)
class ResumeFailed:
    """Resume data requested with `save_resume_data` could not be made."""

    key: str
    reason: str


@dataclass(frozen=True)
class Deleted:
    """A torrent removed with its files: the files are gone."""

    key: str


@dataclass(frozen=True)
class DeleteFailed:
    """A torrent removed with its files: deleting them failed."""

    key: str
    reason: str


@dataclass(frozen=True)
class PeerLeft:
    """A peer connection closed; its last bytes are in the torrent's total only."""

    key: str
    endpoint: tuple[str, int]


@dataclass(frozen=True)
class TorrentNote:
    """Something worth a log line."""

    key: str
    level: int
    message: str


@dataclass(frozen=True)
class PeerBanned:
    """A peer of this address sent data that failed a hash check (the swarm blocks the address)."""

    key: str
    ip: str


Notice = (
    PeerBanned
    | Listening
    | ListenFailed
    | AlertsDropped
    | TorrentChanged
    | Finished
    | TorrentFailed
    | ResumeData
    | CacheFlushed
    | ResumeFailed
    | Deleted
    | DeleteFailed
    | PeerLeft
    | TorrentNote
)


@dataclass
class TorrentFacts:
    """What alerts have told us about one torrent (status() cannot: these are events)."""

    key: str
    hash_failures: int = 0
    peer_bans: int = 0
    file_checks: int = 0
    dial_failures: int = 0
    failure: P2PDistError | None = None


_Handler = Callable[[Any, TorrentFacts], list[Notice]]
_SessionHandler = Callable[[Any], list[Notice]]

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}


def storage_error(path: str, code: lt.error_code) -> StorageError:
    """The error family for an OS error code reported by libtorrent's disk I/O."""
    reason = code.message()
    if code.category().name() in ("system", "generic"):
        if code.value() in _NO_SPACE:
            return DiskFullError(
                _(
                    "the disk holding {path} is full ({reason}); free space or remove old "
                    "releases, then add the torrent again"
                ).format(path=path, reason=reason)
            )
        if code.value() in _NO_PERMISSION:
            return StoragePermissionError(
                _(
                    "cannot write {path} ({reason}); fix the owner or permissions of the data "
                    "directory, then add the torrent again"
                ).format(path=path, reason=reason)
            )
    return StorageError(_("disk error on {path}: {reason}").format(path=path, reason=reason))


class AlertState:
    """Per-torrent facts from alerts, keyed by torrent handle (stable across removal)."""

    def __init__(self) -> None:
        self._torrents: dict[Hashable, TorrentFacts] = {}
        self._session_handlers: dict[type, _SessionHandler] = {
            lt.listen_succeeded_alert: self._on_listen_succeeded,
            lt.listen_failed_alert: self._on_listen_failed,
            lt.alerts_dropped_alert: self._on_alerts_dropped,
        }
        self._torrent_handlers: dict[type, _Handler] = {
            lt.state_changed_alert: self._on_state_changed,
            lt.torrent_checked_alert: self._on_changed,
            lt.torrent_finished_alert: self._on_finished,
            lt.hash_failed_alert: self._on_hash_failed,
            lt.peer_ban_alert: self._on_peer_ban,
            lt.peer_disconnected_alert: self._on_peer_disconnected,
            lt.file_error_alert: self._on_file_error,
            lt.torrent_error_alert: self._on_torrent_error,
            lt.fastresume_rejected_alert: self._on_fastresume_rejected,
            lt.save_resume_data_alert: self._on_resume_data,
            lt.save_resume_data_failed_alert: self._on_resume_failed,
            lt.cache_flushed_alert: self._on_cache_flushed,
            lt.torrent_deleted_alert: self._on_deleted,
            lt.torrent_delete_failed_alert: self._on_delete_failed,
            lt.performance_alert: self._on_performance,
        }

    def track(self, handle: Hashable, key: str) -> TorrentFacts:
        """Start collecting facts for a newly added torrent."""
        facts = TorrentFacts(key)
        self._torrents[handle] = facts
        return facts

    def forget(self, handle: Hashable) -> None:
        """Stop collecting for a removed torrent; its late alerts are ignored."""
        self._torrents.pop(handle, None)

    def dispatch(self, alert: Any) -> list[Notice]:
        """Update facts from one alert; return what the shell must act on."""
        for cls in type(alert).__mro__:
            session_handler = self._session_handlers.get(cls)
            if session_handler is not None:
                return session_handler(alert)
            handler = self._torrent_handlers.get(cls)
            if handler is not None:
                facts = self._torrents.get(alert.handle)
                return [] if facts is None else handler(alert, facts)
        return []

    # Session alerts.

    def _on_listen_succeeded(self, a: Any) -> list[Notice]:
        if a.socket_type != lt.socket_type_t.tcp:
            return []
        return [Listening(a.address, a.port)]

    def _on_listen_failed(self, a: Any) -> list[Notice]:
        return [ListenFailed(a.listen_interface(), a.error.message())]

    def _on_alerts_dropped(self, a: Any) -> list[Notice]:
        return [AlertsDropped(sum(1 for dropped in a.dropped_alerts if dropped))]

    # Torrent alerts.

    def _on_state_changed(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        if a.state == lt.torrent_status.checking_files:
            facts.file_checks += 1
        return [TorrentChanged(facts.key)]

    def _on_changed(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        return [TorrentChanged(facts.key)]

    def _on_finished(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        return [Finished(facts.key)]

    def _on_hash_failed(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        facts.hash_failures += 1
        return []

    def _on_peer_ban(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        facts.peer_bans += 1
        ip, port = a.endpoint
        message = _("banned peer {ip}:{port}: it sent data that failed the hash check")
        return [TorrentNote(facts.key, logging.WARNING, message.format(ip=ip, port=port)),
                PeerBanned(facts.key, ip)]

    def _on_peer_disconnected(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        ip, port = a.endpoint
        if a.op == lt.operation_t.connect:  # refused, unreachable, timed out: never connected
            facts.dial_failures += 1
        return [PeerLeft(facts.key, (ip, port))]

    def _on_file_error(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        facts.failure = storage_error(a.filename(), a.error)
        return [TorrentFailed(facts.key, facts.failure)]

    def _on_torrent_error(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        facts.failure = TransferError(
            _("download of {key} stopped: {reason}").format(key=facts.key, reason=a.error.message())
        )
        return [TorrentFailed(facts.key, facts.failure)]

    def _on_fastresume_rejected(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        message = _("resume data not usable ({reason}); checking the files on disk instead")
        return [TorrentNote(facts.key, logging.WARNING, message.format(reason=a.error.message()))]

    def _on_resume_data(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        return [ResumeData(facts.key, bytes(lt.write_resume_data_buf(a.params)))]

    def _on_cache_flushed(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        return [CacheFlushed(facts.key)]

    def _on_resume_failed(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        return [ResumeFailed(facts.key, a.error.message())]

    def _on_deleted(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        return [Deleted(facts.key)]

    def _on_delete_failed(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        return [DeleteFailed(facts.key, a.error.message())]

    def _on_performance(self, a: Any, facts: TorrentFacts) -> list[Notice]:
        # Expected under max_queued_disk_bytes / rate caps; useful only when tuning.
        return [TorrentNote(facts.key, logging.DEBUG, a.message())]


class AlertPump:
    """Wakes on libtorrent's alert byte, pops alerts on the trio thread, dispatches them."""

    def __init__(
        self, ses: lt.session, state: AlertState, on_notice: Callable[[Notice], None]
    ) -> None:
        self._ses: lt.session | None = ses
        self._state = state
        self._on_notice = on_notice
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        # libtorrent's thread writes here; blocking would stall it.
        self._w.setblocking(False)
        ses.set_alert_fd(self._w.fileno())

    async def run(self) -> None:
        """Dispatch alerts until cancelled; may be run again after a cancel (for shutdown)."""
        await self.run_until(lambda: False)

    async def run_until(self, done: Callable[[], bool]) -> None:
        """Dispatch alerts in the calling task until `done()` (checked after each batch)."""
        while True:
            self.drain()
            if done():
                return
            await trio.lowlevel.wait_readable(self._r)

    def drain(self) -> None:
        """Read the wake-up bytes, then every queued alert (in that order, so none is missed)."""
        if self._ses is None:
            return
        try:
            while self._r.recv(4096):
                pass
        except BlockingIOError:
            pass
        alerts = self._ses.pop_alerts()
        if len(alerts) >= QUEUE_WARN_THRESHOLD:
            log.warning(
                _(
                    "{n} libtorrent alerts were queued at once; the event loop is falling behind"
                ).format(n=len(alerts))
            )
        for alert in alerts:
            for notice in self._state.dispatch(alert):
                self._on_notice(notice)

    def close(self) -> None:
        """Stop libtorrent writing to the socket, close it, and let go of the session (so the
        owner can destroy it where it chooses)."""
        if self._ses is None:
            return
        self._ses.set_alert_fd(-1)  # writes to fd -1 fail harmlessly (EBADF)
        self._ses = None
        self._r.close()
        self._w.close()
