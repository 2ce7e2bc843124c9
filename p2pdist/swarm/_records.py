"""What the swarm keeps about each torrent and about its running session, and the small
readings of libtorrent's status that several parts of the swarm share."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import trio

from p2pdist._libtorrent import lt
from p2pdist.i18n import _

from ._alerts import AlertPump, CacheFlushed, ResumeData, ResumeFailed, TorrentFacts
from ._classes import IPAddress, PeerClasses
from ._snapshot import PayloadLedger, TorrentState

CHECKING = {
    lt.torrent_status.checking_files,
    lt.torrent_status.checking_resume_data,
    lt.torrent_status.queued_for_checking,
    lt.torrent_status.allocating,
}


@dataclass(eq=False)
class TorrentRecord:
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
    was_finished: bool = False  # at the last look outside checking (see _peer_poll_loop)

    def poke(self) -> None:
        """Wake everyone waiting for a change."""
        self.changed.set()
        self.changed = trio.Event()


@dataclass(eq=False)
class Deletion:
    """A removal with its files, until libtorrent says they are gone (or why not)."""

    done: trio.Event = field(default_factory=trio.Event)
    error: str | None = None


@dataclass(eq=False)
class Runtime:
    """Everything that exists only while `Swarm.run` runs; dropped as one piece at shutdown."""

    ses: lt.session
    classes: PeerClasses
    pump: AlertPump
    limits: tuple[int, int]
    nursery: trio.Nursery | None = None


def parse_ip(text: str) -> IPAddress:
    """An IP address, or ValueError naming the text (host names are resolved by callers)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError as e:
        raise ValueError(_("{text!r} is not an IP address").format(text=text)) from e


def state_of(st: lt.torrent_status, error: str | None) -> TorrentState:
    """The swarm's word for libtorrent's state."""
    if error is not None:
        return TorrentState.ERROR
    if st.state in CHECKING:
        return TorrentState.CHECKING
    if st.flags & lt.torrent_flags.paused:
        return TorrentState.PAUSED
    if st.is_finished:
        return TorrentState.SEEDING
    return TorrentState.DOWNLOADING
