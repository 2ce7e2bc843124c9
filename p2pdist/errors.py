"""The box's error families, under the shared root `keys.P2PDistError` (STYLE.md point 3).

- trust family: re-exported from `keys` and `manifest` (bad signature, expired, rollback, ...);
- `TransferError`: moving bytes or documents failed (peer, network, timeout, a hash mismatch of
  downloaded content);
- `StorageError`: the box's disk or state (full disk, permissions, corrupt state);
- `ConfigError`: a configuration or catalog file says something unusable.
"""

from __future__ import annotations

from keys import P2PDistError, TrustError


class ConfigError(P2PDistError):
    """A configuration, catalog or command-line value is unusable; the message says which."""


class TransferError(P2PDistError):
    """Fetching something from a peer, seeder or neighbour failed."""


class PeerError(TransferError):
    """A peer misbehaved (bad data, protocol violation)."""


class NetworkError(TransferError):
    """A connection could not be made or broke."""


class FetchTimeoutError(TransferError):
    """A transfer took longer than its time limit."""


class ContentMismatchError(TrustError):
    """A file's bytes do not match the SHA-256 the signed manifest gives for it."""


class TorrentRefusedError(TrustError):
    """A signed release whose torrent libtorrent refuses to load: the release is rejected."""


class WrongChannelError(TrustError):
    """A source offered, for one channel, a manifest of another channel."""


class StallError(TransferError):
    """No payload arrived for the stall timeout while pieces were still missing."""


class StorageError(P2PDistError):
    """The box's data directory cannot be used as needed."""


class DiskFullError(StorageError):
    """Not enough free space for what must be written."""


class StoragePermissionError(StorageError):
    """The data directory (or a file in it) cannot be read or written by this user."""


class CorruptStateError(StorageError):
    """A state file is damaged; the message says what p2pdist did about it."""


def first_known_error(group: BaseExceptionGroup[BaseException]) -> P2PDistError | None:
    """The first `P2PDistError` of a group made only of them (trio nurseries wrap the errors
    of their tasks in groups), or None when the group holds anything else: that is a bug and
    must surface whole."""
    known, rest = group.split(P2PDistError)
    if known is None or rest is not None:
        return None
    leaf: BaseException = known
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, P2PDistError)
    return leaf


__all__ = [
    "ConfigError",
    "ContentMismatchError",
    "CorruptStateError",
    "DiskFullError",
    "FetchTimeoutError",
    "NetworkError",
    "P2PDistError",
    "PeerError",
    "StallError",
    "StorageError",
    "StoragePermissionError",
    "TorrentRefusedError",
    "TransferError",
    "WrongChannelError",
    "first_known_error",
]
