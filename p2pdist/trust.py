"""The box's one trust check of a release: pure (bytes, root, floors, channel, now) → verified.

Every path that accepts a release (the agent, the seeder's follower, `import`, `box fetch`)
calls `verify_release_for`, so they cannot drift: the signatures and rollback floor
(`manifest.verify_manifest_with`), the channel the caller asked for, and whether libtorrent
will load the torrent at all. No I/O; the caller persists what it accepts (`BoxState`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from keys import (
    Root,
    TrustError,
    load_trust,
    parse_root_envelope,
    walk_root_chain,
)
from manifest import VerifiedRelease, decode_envelope, verify_manifest_with

from .errors import WrongChannelError
from .i18n import _
from .torrent import check_loadable


def verify_release_for(
    blob: bytes,
    root: Root,
    last_version_of: Callable[[str], int | None],
    now: int,
    *,
    expected_channel: str | None = None,
    followed: frozenset[str] | None = None,
) -> VerifiedRelease:
    """Verify a signed manifest for a channel the caller asked for.

    Args:
        blob: the envelope bytes as received.
        root: the newest trusted root.
        last_version_of: the rollback floor of a channel (None: nothing trusted yet).
        now: Unix seconds.
        expected_channel: the channel it was offered for; another channel is refused.
        followed: the channels this box follows; any other channel is refused.

    Raises:
        TrustError: as `verify_manifest_with` raises it; WrongChannelError for a channel not
            asked for; TorrentRefusedError when libtorrent refuses the torrent.
    """
    release = verify_manifest_with(blob, root, last_version_of, now)
    channel = release.manifest.channel
    if expected_channel is not None and channel != expected_channel:
        raise WrongChannelError(
            _("a manifest of channel {got} was offered for channel {want}; it is ignored")
            .format(got=channel, want=expected_channel))
    if followed is not None and channel not in followed:
        raise WrongChannelError(
            _("the manifest is for channel {got}, which this box does not follow").format(
                got=channel))
    check_loadable(release.manifest.torrent)
    return release


def rollback_floor(root: Root, channel: str, version: int | None,
                   envelope: bytes | None) -> int | None:
    """The rollback floor of `channel` under `root`: TUF's fast-forward recovery.

    The last trusted release (`version`, its `envelope` as recorded) is a floor only while its
    signatures still meet the threshold of a role the current root delegates the channel to.
    A root that revokes or rotates those keys (after a key leaked and signed a huge version)
    resets the floor, so the releases the new keys sign are accepted again without a hand edit.
    Specified in manifest/FORMAT.md, "Fast-forward recovery".
    """
    if version is None or envelope is None:
        return version
    try:
        env = decode_envelope(envelope)
    except TrustError:
        return version  # an unreadable record never lowers the floor
    valid = env.check_signatures(root.release_keys()).valid
    if any(len(r.keyids & valid) >= r.threshold for r in root.roles_for(channel)):
        return version
    return None


def floors(root: Root, active_version: Callable[[str], int | None],
           envelope_of: Callable[[str, int], bytes]) -> Callable[[str], int | None]:
    """`last_version_of` for `verify_release_for`: each channel's active version as a floor,
    reset by fast-forward recovery (the readers are the store's, passed in)."""
    def floor(channel: str) -> int | None:
        v = active_version(channel)
        return rollback_floor(root, channel, v, envelope_of(channel, v) if v is not None else None)
    return floor


def last_trusted(channels: Iterable[str], active_version: Callable[[str], int | None],
                 envelope_of: Callable[[str, int], bytes]) -> dict[str, tuple[int, bytes]]:
    """`TrustState.last` as the store holds it: each channel's active release and its
    recorded envelope (the readers are the store's, passed in)."""
    out = {}
    for channel in channels:
        v = active_version(channel)
        if v is not None:
            out[channel] = (v, envelope_of(channel, v))
    return out


@dataclass
class TrustState:
    """The box's trust, pure (python-tuf's `TrustedMetadataSet`): the trusted root chain and
    each channel's last trusted release. No I/O: `BoxState` persists the roots it returns and
    the store records each accepted release.

    Attributes:
        chain: root envelopes, pinned first, each verified from the one before.
        root: the newest trusted root.
        last: channel -> (version, recorded envelope) of its last trusted release.
    """

    chain: list[bytes]
    root: Root
    last: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    @classmethod
    def load(cls, chain: Sequence[bytes], now: int) -> TrustState:
        """Re-verify a stored chain (pinned first). Raises TrustError as `load_trust` does."""
        return cls(list(chain), load_trust(chain[0], list(chain[1:]), now))

    def update_roots(self, blobs: Sequence[bytes], now: int) -> list[bytes]:
        """Walk the rotations in `blobs` that follow the newest trusted root.

        Idempotent: versions already trusted, and repeats within `blobs`, are skipped, so two
        honest sources offering the same rotation in one poll are both fine.

        Returns:
            The newly trusted envelopes, in version order (for the caller to persist).

        Raises:
            TrustError: a rotation does not verify (nothing changes).
        """
        fresh: dict[int, bytes] = {}
        for data in blobs:
            version = parse_root_envelope(data)[1].version
            if version > self.root.version and version not in fresh:
                fresh[version] = data
        batch = [fresh[v] for v in sorted(fresh)]
        self.root = walk_root_chain(self.root, batch, now)  # the newest must be fresh
        self.chain += batch
        return batch

    def floor(self, channel: str) -> int | None:
        """The channel's rollback floor under the current root (fast-forward recovery)."""
        v, envelope = self.last.get(channel, (None, None))
        return rollback_floor(self.root, channel, v, envelope)

    def verify(self, blob: bytes, expected_channel: str | None, now: int, *,
               followed: frozenset[str] | None = None) -> VerifiedRelease:
        """A release offered for `expected_channel` (None: any channel, as on a USB drive),
        verified (see `verify_release_for`)."""
        return verify_release_for(blob, self.root, self.floor, now,
                                  expected_channel=expected_channel, followed=followed)

    def trust(self, release: VerifiedRelease) -> None:
        """Record `release` as its channel's last trusted one (after activation)."""
        self.last[release.manifest.channel] = (release.manifest.version, release.envelope)
