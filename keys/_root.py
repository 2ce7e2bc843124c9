"""The trust root: which keys are root keys, and which release keys may sign which channels.

The root is itself a signed, versioned, expiring document (TUF's root.json idea, in msgpack).
Version N+1 is trusted only when a threshold of version N's root keys *and* a threshold of its own
root keys signed it, so a rotation needs the old keys' consent and proves the new ones work.
Revoking a key is publishing the next version without it.

Everything here is pure: functions take bytes and the current time and return values or raise
one `TrustError` subclass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ._encoding import Envelope, Fields, decode_strict, encode
from ._errors import (
    BadSignatureError,
    ExpiredError,
    KeyNotInRoleError,
    MalformedError,
    MissingSignatureError,
    RootChainError,
    ThresholdError,
    UnknownFormatError,
)
from ._keyfile import PUBLIC_KEY_BYTES, PublicKey, key_id
from .i18n import _

ROOT_TYPE = "p2pdist/root"
ROOT_FORMAT = 1
MAX_ROOT_BYTES = 64 * 1024
MAX_ROOT_CHAIN = 64
MAX_KEYS = 64
MAX_ROLES = 64
MAX_CHANNELS_PER_ROLE = 64
MAX_NAME = 64
CLOCK_SKEW_S = 600
"""Expiry is judged with this much slack, so a box clock a few minutes fast is not an outage."""

_CHANNEL_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}(/[a-z0-9][a-z0-9._-]{0,63}){0,7}")
MAX_CHANNEL = 128


def is_valid_channel(channel: str) -> bool:
    """Channels are lowercase ASCII segments joined by '/', e.g. ``province/hunan/winter``."""
    return len(channel) <= MAX_CHANNEL and _CHANNEL_RE.fullmatch(channel) is not None


def channel_prefix(text: str) -> str:
    """Normalize a delegated prefix as people write it (``national/...``, ``national/``).

    Raises:
        MalformedError: not a valid channel prefix.
    """
    p = text.removesuffix("...").rstrip("/")
    if not is_valid_channel(p):
        raise MalformedError(
            _("{text!r} is not a channel prefix (lowercase a-z, 0-9, '.', '_', '-' "
              "segments joined by '/', e.g. national/ or province/hunan/)").format(text=text)
        )
    return p


def channel_matches(prefix: str, channel: str) -> bool:
    """True when `channel` is `prefix` itself or lies below it (segment-wise)."""
    return channel == prefix or channel.startswith(prefix + "/")


@dataclass(frozen=True)
class ReleaseRole:
    """A delegation: these keys, with this threshold, may sign releases for these channels."""

    name: str
    keyids: frozenset[str]
    threshold: int
    channels: tuple[str, ...]

    def allows(self, channel: str) -> bool:
        return any(channel_matches(p, channel) for p in self.channels)


@dataclass(frozen=True)
class Root:
    """A decoded trust root body. Build with `Root.new`, serialize with `encode_body`."""

    version: int
    created: int
    expires: int
    keys: Mapping[str, PublicKey]
    root_keyids: frozenset[str]
    root_threshold: int
    release_roles: tuple[ReleaseRole, ...]
    envelope: bytes = field(default=b"", compare=False, repr=False)
    """The exact signed bytes this root was verified from (empty for an unsigned draft)."""

    @classmethod
    def new(
        cls,
        *,
        version: int,
        created: int,
        expires: int,
        root_keys: Sequence[PublicKey],
        root_threshold: int,
        release_roles: Sequence[tuple[str, Sequence[PublicKey], int, Sequence[str]]],
    ) -> Root:
        """Assemble a root from keys; validates it as the decoder would."""
        keys: dict[str, PublicKey] = {k.keyid: k for k in root_keys}
        roles = []
        for name, rkeys, thr, chans in release_roles:
            keys.update({k.keyid: k for k in rkeys})
            roles.append(
                ReleaseRole(
                    name,
                    frozenset(k.keyid for k in rkeys),
                    thr,
                    tuple(channel_prefix(c) for c in chans),
                )
            )
        root = cls(
            version,
            created,
            expires,
            keys,
            frozenset(k.keyid for k in root_keys),
            root_threshold,
            tuple(roles),
        )
        return Root.decode_body(root.encode_body())

    def encode_body(self) -> bytes:
        return encode(
            {
                "type": ROOT_TYPE,
                "format": ROOT_FORMAT,
                "version": self.version,
                "created": self.created,
                "expires": self.expires,
                "keys": [
                    {"keyid": kid, "ed25519": self.keys[kid].raw} for kid in sorted(self.keys)
                ],
                "root": {"keyids": sorted(self.root_keyids), "threshold": self.root_threshold},
                "release_roles": [
                    {
                        "name": r.name,
                        "keyids": sorted(r.keyids),
                        "threshold": r.threshold,
                        "channels": list(r.channels),
                    }
                    for r in self.release_roles
                ],
            }
        )

    @classmethod
    def decode_body(cls, body: bytes, envelope: bytes = b"") -> Root:
        """Decode and validate a root body.

        Raises:
            UnknownFormatError: another type or format version.
            MalformedError: anything malformed or inconsistent.
        """
        f = Fields(decode_strict(body, "root"), "root")
        if f.text("type", 64) != ROOT_TYPE:
            raise MalformedError(
                _("not a trust root (type is not {root_type!r})").format(root_type=ROOT_TYPE))
        fmt = f.integer("format")
        if fmt != ROOT_FORMAT:
            raise UnknownFormatError(
                _("trust root format {fmt} is not supported (this software reads "
                  "{root_format}); update p2pdist").format(fmt=fmt, root_format=ROOT_FORMAT)
            )
        version = f.integer("version", 1)
        created = f.integer("created")
        expires = f.integer("expires")
        keys: dict[str, PublicKey] = {}
        for i, k in enumerate(f.array("keys", MAX_KEYS)):
            kf = Fields(k, f"root.keys[{i}]")
            kid = kf.text("keyid", 64)
            raw = kf.binary("ed25519", PUBLIC_KEY_BYTES)
            kf.done()
            if kid != key_id(raw):
                raise MalformedError(
                    _("root.keys[{i}]: key id does not match the key").format(i=i))
            if kid in keys:
                raise MalformedError(_("root.keys: key {kid} listed twice").format(kid=kid[:16]))
            keys[kid] = PublicKey(raw)
        rf = Fields(f.mapping("root"), "root.root")
        root_ids = _keyids(rf.texts("keyids", MAX_KEYS, 64), keys, "root.root")
        root_thr = _threshold(rf.integer("threshold", 1), root_ids, "root.root")
        rf.done()
        roles: list[ReleaseRole] = []
        for i, r in enumerate(f.array("release_roles", MAX_ROLES)):
            what = f"root.release_roles[{i}]"
            ff = Fields(r, what)
            name = ff.text("name", MAX_NAME)
            ids = _keyids(ff.texts("keyids", MAX_KEYS, 64), keys, what)
            thr = _threshold(ff.integer("threshold", 1), ids, what)
            chans = ff.texts("channels", MAX_CHANNELS_PER_ROLE, MAX_CHANNEL)
            ff.done()
            for c in chans:
                if not is_valid_channel(c):
                    raise MalformedError(
                        _("{what}: {c!r} is not a channel prefix").format(what=what, c=c))
            if not name or any(r.name == name for r in roles):
                raise MalformedError(
                    _("{what}: role name {name!r} is empty or repeated").format(
                        what=what, name=name))
            roles.append(ReleaseRole(name, ids, thr, tuple(chans)))
        f.done()
        if expires <= created:
            raise MalformedError(_("root expires before it was created"))
        return cls(version, created, expires, keys, root_ids, root_thr, tuple(roles), envelope)

    def root_keys(self) -> dict[str, PublicKey]:
        return {k: self.keys[k] for k in self.root_keyids}

    def release_keys(self) -> dict[str, PublicKey]:
        return {k: self.keys[k] for r in self.release_roles for k in r.keyids}

    def roles_for(self, channel: str) -> list[ReleaseRole]:
        return [r for r in self.release_roles if r.allows(channel)]

    def check_fresh(self, now: int) -> None:
        """Raises ExpiredError when this root has expired at `now` (with the clock-skew slack)."""
        if now > self.expires + CLOCK_SKEW_S:
            raise ExpiredError(
                _("trust root v{version}").format(
                    version=self.version), self.expires, now, CLOCK_SKEW_S)


def _keyids(ids: Iterable[str], keys: Mapping[str, PublicKey], what: str) -> frozenset[str]:
    out: set[str] = set()
    for kid in ids:
        if kid not in keys:
            raise MalformedError(
                _("{what}: key {kid} is not in root.keys").format(what=what, kid=kid[:16]))
        if kid in out:
            raise MalformedError(
                _("{what}: key {kid} listed twice").format(what=what, kid=kid[:16]))
        out.add(kid)
    return frozenset(out)


def _threshold(thr: int, ids: frozenset[str], what: str) -> int:
    if thr > len(ids):
        raise MalformedError(
            _("{what}: threshold {thr} exceeds its {n_ids} key(s)").format(
                what=what, thr=thr, n_ids=len(ids)))
    return thr


def require_threshold(
    env: Envelope, keys: Mapping[str, PublicKey], threshold: int, what: str
) -> frozenset[str]:
    """Check that `threshold` distinct keys of `keys` validly signed `env`; return the signers.

    Raises:
        MissingSignatureError, KeyNotInRoleError, BadSignatureError, ThresholdError.
    """
    if not env.signatures:
        raise MissingSignatureError(_("{what} is not signed").format(what=what))
    check = env.check_signatures(keys)
    if len(check.valid) >= threshold:
        return check.valid
    if not check.valid and check.invalid:
        raise BadSignatureError(
            _("{what}: the signature by key {min} does not verify (the file was "
              "altered after signing, or signed with another key)").format(
                what=what, min=min(check.invalid)[:16])
        )
    if not check.valid and not check.invalid:
        raise KeyNotInRoleError(
            _("{what} is signed only by key(s) {items} that it does not trust for this").format(
                what=what, items=', '.join(k[:16] for k in sorted(check.unknown)))
        )
    raise ThresholdError(
        _("{what} has {n_valid} valid signature(s) of the {threshold} required; "
          "collect more signatures (p2pdist ... sign --key)").format(
            what=what, n_valid=len(check.valid), threshold=threshold)
    )


def parse_root_envelope(data: bytes) -> tuple[Envelope, Root]:
    """Split root envelope bytes into the envelope and the decoded (not yet trusted) body."""
    env = Envelope.decode(data, "trust root", MAX_ROOT_BYTES, MAX_ROOT_BYTES)
    return env, Root.decode_body(env.signed, envelope=bytes(data))


def verify_pinned_root(data: bytes) -> Root:
    """Verify the root a box is pinned to: a threshold of its own root keys must have signed it.

    Expiry is not checked here; see `Root.check_fresh` and `walk_root_chain`.
    """
    env, root = parse_root_envelope(data)
    require_threshold(env, root.root_keys(), root.root_threshold, f"trust root v{root.version}")
    return root


def verify_next_root(trusted: Root, data: bytes) -> Root:
    """Verify that `data` is the root version right after `trusted`.

    Raises:
        RootChainError: the version is not `trusted.version + 1`.
        TrustError: signatures do not meet both thresholds (old keys and new keys).
    """
    # The keys already trusted vouch for the bytes before the body is decoded (sign bytes, then
    # decode): an unauthenticated document never reaches the decoder.
    env = Envelope.decode(data, "trust root", MAX_ROOT_BYTES, MAX_ROOT_BYTES)
    require_threshold(
        env, trusted.root_keys(), trusted.root_threshold,
        f"the next trust root after v{trusted.version} (signatures by v{trusted.version}'s "
        "root keys)",
    )
    new = Root.decode_body(env.signed, envelope=bytes(data))
    if new.version != trusted.version + 1:
        raise RootChainError(
            _("expected trust root v{version}, got v{version2}").format(
                version=trusted.version + 1, version2=new.version)
        )
    require_threshold(
        env, new.root_keys(), new.root_threshold,
        f"trust root v{new.version} (signatures by its own root keys)",
    )
    return new


def walk_root_chain(trusted: Root, newer: Sequence[bytes], now: int) -> Root:
    """Follow rotations from `trusted` through `newer` (ascending versions) and return the newest.

    Intermediate roots may have expired (as in TUF); the final one must be fresh.

    Raises:
        RootChainError: more than MAX_ROOT_CHAIN steps, or a gap in versions.
        ExpiredError: the final root has expired.
        TrustError: any step fails verification.
    """
    if len(newer) > MAX_ROOT_CHAIN:
        raise RootChainError(
            _("{n_newer} root rotations offered; at most {max_root_chain} are "
              "followed at once").format(n_newer=len(newer), max_root_chain=MAX_ROOT_CHAIN)
        )
    current = trusted
    for data in newer:
        current = verify_next_root(current, data)
    current.check_fresh(now)
    return current



def load_trust(pinned: bytes, newer: Sequence[bytes], now: int) -> Root:
    """The newest trusted root, starting from a pinned root and walking `newer` rotations."""
    return walk_root_chain(verify_pinned_root(pinned), newer, now)
