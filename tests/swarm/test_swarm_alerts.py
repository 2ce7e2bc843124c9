"""AlertState: dispatch on alert types into facts and notices, fed with fake alerts.

The fakes subclass the real libtorrent alert classes (so dispatch by type is exercised) and
override the properties the state reads; no session is involved.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

from p2pdist._libtorrent import lt
from p2pdist.errors import DiskFullError, StorageError, StoragePermissionError, TransferError
from p2pdist.swarm._alerts import (
    AlertsDropped,
    AlertState,
    Deleted,
    DeleteFailed,
    Finished,
    ListenFailed,
    Listening,
    PeerBanned,
    PeerLeft,
    ResumeData,
    ResumeFailed,
    TorrentChanged,
    TorrentFailed,
    TorrentNote,
)

H = "handle-1"  # any hashable stands in for a torrent handle


def fake(cls: type, **attrs: Any) -> Any:
    """An instance of a subclass of `cls` whose properties return `attrs`."""
    sub = type(f"Fake{cls.__name__}", (cls,), {"__init__": lambda self: None, **attrs})
    return sub()


def tracked() -> AlertState:
    state = AlertState()
    state.track(H, "rel")
    return state


def test_listen_alerts() -> None:
    state = AlertState()
    tcp = fake(
        lt.listen_succeeded_alert, socket_type=lt.socket_type_t.tcp, address="127.0.0.5", port=7
    )
    utp = fake(lt.listen_succeeded_alert, socket_type=lt.socket_type_t.utp, address="x", port=7)
    failed = fake(
        lt.listen_failed_alert,
        listen_interface=lambda self: "10.9.9.9:6881",
        error=lt.error_code(errno.EADDRNOTAVAIL, lt.system_category()),
    )
    assert state.dispatch(tcp) == [Listening("127.0.0.5", 7)]
    assert state.dispatch(utp) == []
    [notice] = state.dispatch(failed)
    assert isinstance(notice, ListenFailed) and notice.interface == "10.9.9.9:6881"
    assert "assign" in notice.reason  # "Cannot assign requested address"


def test_dropped_alerts_are_counted_by_kind() -> None:
    a = fake(lt.alerts_dropped_alert, dropped_alerts=[False, True, True, False])
    assert AlertState().dispatch(a) == [AlertsDropped(2)]


def test_state_changes_count_file_checks() -> None:
    state = AlertState()
    facts = state.track(H, "rel")
    checking = fake(lt.state_changed_alert, handle=H, state=lt.torrent_status.checking_files)
    downloading = fake(lt.state_changed_alert, handle=H, state=lt.torrent_status.downloading)
    assert state.dispatch(checking) == [TorrentChanged("rel")]
    assert state.dispatch(downloading) == [TorrentChanged("rel")]
    assert state.dispatch(fake(lt.torrent_finished_alert, handle=H)) == [Finished("rel")]
    assert facts.file_checks == 1


def test_hash_failures_and_bans() -> None:
    state = AlertState()
    facts = state.track(H, "rel")
    for piece in range(3):
        assert state.dispatch(fake(lt.hash_failed_alert, handle=H, piece_index=piece)) == []
    [note, banned] = state.dispatch(
        fake(lt.peer_ban_alert, handle=H, endpoint=("127.0.0.9", 555)))
    assert banned == PeerBanned("rel", "127.0.0.9")
    assert isinstance(note, TorrentNote) and note.level == logging.WARNING
    assert "127.0.0.9:555" in note.message
    assert (facts.hash_failures, facts.peer_bans) == (3, 1)


def test_file_errors_map_to_storage_family() -> None:
    cases = [
        (errno.ENOSPC, DiskFullError, "full"),
        (errno.EACCES, StoragePermissionError, "permissions"),
        (errno.EIO, StorageError, "disk error"),
    ]
    for value, kind, words in cases:
        state = AlertState()
        facts = state.track(H, "rel")
        a = fake(
            lt.file_error_alert,
            handle=H,
            filename=lambda self: "/data/rel/影片/过年好.mkv",
            error=lt.error_code(value, lt.system_category()),
        )
        [notice] = state.dispatch(a)
        assert isinstance(notice, TorrentFailed)
        assert type(notice.error) is kind and facts.failure is notice.error
        assert words in str(notice.error) and "过年好.mkv" in str(notice.error)


def test_torrent_error_is_a_transfer_error() -> None:
    state = tracked()
    a = fake(lt.torrent_error_alert, handle=H, error=lt.error_code(errno.EIO, lt.system_category()))
    [notice] = state.dispatch(a)
    assert isinstance(notice, TorrentFailed) and isinstance(notice.error, TransferError)


def test_resume_and_delete_results() -> None:
    state = tracked()
    params = lt.add_torrent_params()
    params.save_path = "/data/releases"
    [ready] = state.dispatch(fake(lt.save_resume_data_alert, handle=H, params=params))
    assert isinstance(ready, ResumeData)
    assert lt.read_resume_data(ready.data).save_path == "/data/releases"
    failed = fake(
        lt.save_resume_data_failed_alert,
        handle=H,
        error=lt.error_code(errno.EIO, lt.system_category()),
    )
    assert state.dispatch(failed) == [ResumeFailed("rel", "Input/output error")]
    assert state.dispatch(fake(lt.torrent_deleted_alert, handle=H)) == [Deleted("rel")]
    delete_failed = fake(
        lt.torrent_delete_failed_alert,
        handle=H,
        error=lt.error_code(errno.EBUSY, lt.system_category()),
    )
    assert state.dispatch(delete_failed) == [DeleteFailed("rel", "Device or resource busy")]


def test_peer_disconnect_feeds_the_ledger() -> None:
    a = fake(lt.peer_disconnected_alert, handle=H, endpoint=("127.0.0.3", 4000),
             op=lt.operation_t.sock_read)
    state = AlertState()
    facts = state.track(H, "rel")
    assert state.dispatch(a) == [PeerLeft("rel", ("127.0.0.3", 4000))]
    assert facts.dial_failures == 0


def test_a_dial_that_never_connected_is_counted() -> None:
    refused = fake(lt.peer_disconnected_alert, handle=H, endpoint=("127.0.0.3", 4000),
                   op=lt.operation_t.connect)
    state = AlertState()
    facts = state.track(H, "rel")
    state.dispatch(refused)
    state.dispatch(refused)
    assert facts.dial_failures == 2


def test_fastresume_rejected_is_logged() -> None:
    a = fake(
        lt.fastresume_rejected_alert,
        handle=H,
        error=lt.error_code(errno.ENOENT, lt.system_category()),
    )
    [note] = tracked().dispatch(a)
    assert isinstance(note, TorrentNote) and "checking the files" in note.message


def test_untracked_and_unknown_alerts_are_ignored() -> None:
    state = tracked()
    assert state.dispatch(fake(lt.hash_failed_alert, handle="other", piece_index=0)) == []
    assert state.dispatch(fake(lt.piece_finished_alert, handle=H, piece_index=0)) == []
    assert state.dispatch(fake(lt.alert)) == []
    state.forget(H)
    assert state.dispatch(fake(lt.torrent_finished_alert, handle=H)) == []
