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
from hypothesis import strategies as st

from keys import Envelope, Root, SigningKey, TrustError, encode

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


# Strategies shared by the fuzz tests.

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=40)
)


def msgpack_objects(key: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[Any]:
    """Random msgpack-able values; map keys are text unless `key` says otherwise."""
    keys_st = st.text(max_size=10) if key is None else key
    return st.recursive(
        leaves,
        lambda c: st.lists(c, max_size=5) | st.dictionaries(keys_st, c, max_size=5),
        max_leaves=20,
    )


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with bytes flipped, cut, inserted, deleted or a slice copied elsewhere."""
    buf = bytearray(data)
    n = len(buf)
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "splice"]))
    if kind == "flip":
        for i in draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)):
            buf[i] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        buf = buf[: draw(st.integers(0, n - 1))]
    elif kind == "insert":
        i = draw(st.integers(0, n))
        buf[i:i] = draw(st.binary(min_size=1, max_size=16))
    elif kind == "delete":
        i = draw(st.integers(0, n - 1))
        del buf[i : i + draw(st.integers(1, 16))]
    else:
        i = draw(st.integers(0, n - 1))
        j = draw(st.integers(i, min(n, i + 64)))
        at = draw(st.integers(0, n))
        chunk = bytes(buf[i:j])
        replace = draw(st.booleans())
        buf[at : at + (len(chunk) if replace else 0)] = chunk
    return bytes(buf)
