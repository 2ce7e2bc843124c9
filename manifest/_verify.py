"""Manifest verification: a pure function of (envelope bytes, trusted root, last version, now).

Order (FORMAT.md, "Verification order"): size limits before decoding; the envelope; signatures
over the exact signed bytes by any release key of the root (so the body is decoded only once a
trusted key vouches for it); the body's format; the channel delegation and threshold; expiry;
rollback; the torrent against the file list. Each failure raises exactly one `TrustError` subclass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from keys import (
    CLOCK_SKEW_S,
    BadSignatureError,
    ChannelNotAllowedError,
    Envelope,
    ExpiredError,
    KeyNotInRoleError,
    MissingSignatureError,
    RollbackError,
    Root,
    ThresholdError,
)
from keys.i18n import _

from ._limits import MAX_BODY_BYTES, MAX_ENVELOPE_BYTES
from ._model import Manifest
from ._torrent_check import check_torrent_matches


@dataclass(frozen=True)
class VerifiedRelease:
    """A manifest that passed every check, with the keys that vouched for it.

    `is_new` is False when the version equals the last trusted one ("already have it").
    """

    manifest: Manifest
    envelope: bytes
    signers: frozenset[str]
    role: str
    is_new: bool


def decode_envelope(data: bytes) -> Envelope:
    """The manifest envelope, size-checked before decoding (no trust implied)."""
    return Envelope.decode(data, "manifest", MAX_ENVELOPE_BYTES, MAX_BODY_BYTES)


def verify_manifest(
    data: bytes, root: Root, last_version: int | None, now: int
) -> VerifiedRelease:
    """Verify a signed manifest against a trusted root.

    Args:
        data: the envelope bytes exactly as received.
        root: the newest trusted root (already walked and fresh).
        last_version: the last version trusted for this manifest's channel, or None.
        now: the box's clock, Unix seconds.

    Returns:
        The verified release.

    Raises:
        SizeLimitError, MalformedError (and TrailingBytesError, UnknownFormatError),
        MissingSignatureError, BadSignatureError, KeyNotInRoleError, ChannelNotAllowedError,
        ThresholdError, TooManyFilesError, BadPathError, PathCollisionError, ExpiredError,
        RollbackError, TorrentMismatchError.
    """
    return verify_manifest_with(data, root, lambda _channel: last_version, now)


def verify_manifest_with(
    data: bytes, root: Root, last_version_of: Callable[[str], int | None], now: int
) -> VerifiedRelease:
    """`verify_manifest`, asking `last_version_of(channel)` for the rollback check.

    For callers that learn the channel from the manifest itself (a box holding many channels):
    the lookup runs only after the signatures verified, on the authenticated channel.
    """
    env = decode_envelope(data)
    if not env.signatures:
        raise MissingSignatureError(_("the manifest is not signed"))
    check = env.check_signatures(root.release_keys())
    if not check.valid:
        if check.invalid:
            raise BadSignatureError(
                _("the manifest's signature by release key {min} does not verify: the "
                  "file was altered after signing or is damaged").format(
                    min=min(check.invalid)[:16])
            )
        raise KeyNotInRoleError(
            _("the manifest is signed only by key(s) {items}, which the trust root "
              "(v{version}) does not list as release keys").format(
                items=', '.join(k[:16] for k in sorted(check.unknown)), version=root.version)
        )
    manifest = Manifest.decode_body(env.signed)
    role = _authorize(manifest.channel, check.valid, root)
    if now > manifest.expires + CLOCK_SKEW_S:
        raise ExpiredError(
            _("manifest {channel} v{version}").format(
                channel=manifest.channel, version=manifest.version), manifest.expires, now,
            CLOCK_SKEW_S,
        )
    last_version = last_version_of(manifest.channel)
    if last_version is not None and manifest.version < last_version:
        raise RollbackError(
            _("manifest {channel} v{version} is older than v{last_version}, which "
              "this box already trusts (a rollback); it is ignored").format(
                channel=manifest.channel, version=manifest.version, last_version=last_version)
        )
    check_torrent_matches(manifest)
    return VerifiedRelease(
        manifest=manifest,
        envelope=bytes(data),
        signers=check.valid,
        role=role,
        is_new=last_version is None or manifest.version > last_version,
    )


def _authorize(channel: str, valid: frozenset[str], root: Root) -> str:
    """The name of a role delegated `channel` whose threshold the valid signers meet."""
    roles = root.roles_for(channel)
    signing_roles = [r for r in roles if r.keyids & valid]
    if not signing_roles:
        others = sorted({r.name for r in root.release_roles if r.keyids & valid})
        raise ChannelNotAllowedError(
            _("the manifest is for channel {channel!r}, but its signers belong to "
              "role(s) {others}, which may not sign that channel").format(
                channel=channel, others=', '.join(others))
        )
    for r in signing_roles:
        if len(r.keyids & valid) >= r.threshold:
            return r.name
    best = max(signing_roles, key=lambda r: len(r.keyids & valid))
    raise ThresholdError(
        _("the manifest has {n_keyids} valid signature(s) from role {name!r}, which "
          "needs {threshold}; sign it with more release keys (p2pdist release sign "
          "MANIFEST --key KEY)").format(
            n_keyids=len(best.keyids & valid), name=best.name, threshold=best.threshold)
    )
