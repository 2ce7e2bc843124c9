"""Builders for the trust-root tests: real Ed25519 keys, real msgpack bodies, real envelopes.

Imported by the test modules of this folder (pytest puts the folder on sys.path; the name is
unique so it cannot clash with another folder's helper).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgpack

from keys import Envelope, Root, SigningKey, TrustError, encode
from tests.fuzz_strategies import leaves, msgpack_objects, mutations  # noqa: F401  (re-exported)

NOW = 1_800_000_000
"""The box clock in every test: 2027-01-15 08:00:00 UTC."""
DAY = 86_400
CREATED = NOW - DAY
EXPIRES = NOW + 365 * DAY

RoleSpec = tuple[str, Sequence[SigningKey], int, Sequence[str]]


@dataclass(frozen=True)
class Cast:
    """Keys used across the root tests (generated once per process)."""

    r1: SigningKey
    r2: SigningKey
    r3: SigningKey
    n1: SigningKey
    n2: SigningKey
    rel1: SigningKey
    rel2: SigningKey
    outsider: SigningKey


@functools.cache
def cast() -> Cast:
    return Cast(*(SigningKey.generate() for _ in range(8)))


def make_root(
    version: int,
    root_keys: Sequence[SigningKey],
    root_threshold: int = 1,
    roles: Sequence[RoleSpec] = (),
    *,
    created: int = CREATED,
    expires: int = EXPIRES,
) -> Root:
    return Root.new(
        version=version,
        created=created,
        expires=expires,
        root_keys=[k.public for k in root_keys],
        root_threshold=root_threshold,
        release_roles=[(n, [k.public for k in ks], t, list(c)) for n, ks, t, c in roles],
    )


def sign_bytes(body: bytes, *signers: SigningKey) -> bytes:
    env = Envelope(body)
    for k in signers:
        env = env.sign(k)
    return env.encode()


def sign_obj(obj: Any, *signers: SigningKey) -> bytes:
    return sign_bytes(encode(obj), *signers)


def sign_root(root: Root, *signers: SigningKey) -> bytes:
    return sign_bytes(root.encode_body(), *signers)


def body_of(root: Root) -> dict[str, Any]:
    out = msgpack.unpackb(root.encode_body(), raw=False)
    assert isinstance(out, dict)
    return out


def raw_map(pairs: Sequence[tuple[Any, Any]]) -> bytes:
    """A msgpack map written pair by pair, so it can hold a key twice (dicts cannot)."""
    packer = msgpack.Packer(use_bin_type=True)
    out: bytes = packer.pack_map_header(len(pairs))
    for k, v in pairs:
        out += packer.pack(k) + packer.pack(v)
    return out


@functools.cache
def standard_v1() -> Root:
    """v1: root keys r1, r2 (threshold 2); release role for national/ with rel1, rel2."""
    c = cast()
    return make_root(1, [c.r1, c.r2], 2, [("release", [c.rel1, c.rel2], 1, ["national"])])


@functools.cache
def standard_v2() -> Root:
    """v2: root keys rotated to n1, n2 (threshold 2); rel1 revoked."""
    c = cast()
    return make_root(2, [c.n1, c.n2], 2, [("release", [c.rel2], 1, ["national"])])


def only_trust_errors(fn: Any, *args: Any) -> None:
    """Call `fn`; a TrustError is fine, anything else escapes to fail the test."""
    with contextlib.suppress(TrustError):
        fn(*args)
