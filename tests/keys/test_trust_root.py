"""The trust root: pinned-root thresholds, rotation, chain limits, expiry and strict decoding.

Every hostile root is built through the real encoding: a body dict encoded with `keys.encode`
(or a `Root` re-encoded), wrapped in an envelope signed by real Ed25519 keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack
import pytest
from trust_keys_helpers import (
    EXPIRES,
    NOW,
    Cast,
    body_of,
    make_root,
    raw_map,
    sign_bytes,
    sign_obj,
    sign_root,
    standard_v1,
    standard_v2,
)

import keys._encoding
from keys import (
    CLOCK_SKEW_S,
    MAX_ROOT_BYTES,
    MAX_ROOT_CHAIN,
    BadSignatureError,
    Envelope,
    ExpiredError,
    KeyNotInRoleError,
    MalformedError,
    MissingSignatureError,
    Root,
    RootChainError,
    Signature,
    SizeLimitError,
    ThresholdError,
    TrailingBytesError,
    UnknownFormatError,
    decode_strict,
    encode,
    load_trust,
    verify_next_root,
    verify_pinned_root,
    walk_root_chain,
)

# --- the pinned root ----------------------------------------------------------------------------


def test_pinned_root_signed_by_its_threshold_is_accepted(c: Cast) -> None:
    v1 = standard_v1()
    data = sign_root(v1, c.r1, c.r2)
    got = verify_pinned_root(data)
    assert got == v1
    assert got.envelope == data
    assert got.release_keys().keys() == {c.rel1.keyid, c.rel2.keyid}
    assert got.root_keys().keys() == {c.r1.keyid, c.r2.keyid}


def test_pinned_root_without_signatures(c: Cast) -> None:
    with pytest.raises(MissingSignatureError, match="not signed"):
        verify_pinned_root(sign_root(standard_v1()))


def test_pinned_root_altered_after_signing(c: Cast) -> None:
    v1 = standard_v1()
    env = Envelope.decode(sign_root(v1, c.r1, c.r2), "t", MAX_ROOT_BYTES, MAX_ROOT_BYTES)
    altered = body_of(v1)
    altered["expires"] += 1
    forged = Envelope(encode(altered), env.signatures).encode()
    with pytest.raises(BadSignatureError, match="does not verify"):
        verify_pinned_root(forged)


def test_pinned_root_with_a_flipped_signature_byte(c: Cast) -> None:
    v1 = make_root(1, [c.r1])
    env = Envelope.decode(sign_root(v1, c.r1), "t", MAX_ROOT_BYTES, MAX_ROOT_BYTES)
    (s,) = env.signatures
    bad = Signature(s.keyid, bytes([s.sig[0] ^ 1]) + s.sig[1:])
    with pytest.raises(BadSignatureError, match=c.r1.keyid[:16]):
        verify_pinned_root(Envelope(env.signed, (bad,)).encode())


@pytest.mark.parametrize("who", ["rel1", "outsider"])
def test_pinned_root_signed_by_a_key_that_is_not_a_root_key(c: Cast, who: str) -> None:
    signer = getattr(c, who)
    with pytest.raises(KeyNotInRoleError, match=signer.keyid[:16]):
        verify_pinned_root(sign_root(standard_v1(), signer))


def test_pinned_root_below_threshold(c: Cast) -> None:
    v1 = standard_v1()
    with pytest.raises(ThresholdError, match="1 valid signature"):
        verify_pinned_root(sign_root(v1, c.r1))
    with pytest.raises(ThresholdError):
        verify_pinned_root(sign_root(v1, c.r1, c.outsider, c.rel1))


def test_pinned_root_valid_plus_bad_signature_is_still_below_threshold(c: Cast) -> None:
    v1 = standard_v1()
    env = Envelope.decode(sign_root(v1, c.r1, c.r2), "t", MAX_ROOT_BYTES, MAX_ROOT_BYTES)
    s1, s2 = env.signatures
    broken = Signature(s2.keyid, bytes(64))
    with pytest.raises(ThresholdError):
        verify_pinned_root(Envelope(env.signed, (s1, broken)).encode())


def test_the_same_signature_twice_counts_once(c: Cast) -> None:
    v1 = standard_v1()
    env = Envelope.decode(sign_root(v1, c.r1), "t", MAX_ROOT_BYTES, MAX_ROOT_BYTES)
    doubled = Envelope(env.signed, env.signatures * 2).encode()
    with pytest.raises(ThresholdError):
        verify_pinned_root(doubled)


# --- rotation -----------------------------------------------------------------------------------


def test_rotation_signed_by_both_thresholds(c: Cast) -> None:
    v1, v2 = standard_v1(), standard_v2()
    got = verify_next_root(v1, sign_root(v2, c.r1, c.r2, c.n1, c.n2))
    assert got == v2
    assert load_trust(sign_root(v1, c.r1, c.r2), [sign_root(v2, c.r1, c.r2, c.n1, c.n2)], NOW) == v2


@pytest.mark.parametrize(
    ("signers", "error", "phrase"),
    [
        # v1's half missing entirely / below v1's threshold
        (("n1", "n2"), KeyNotInRoleError, "v1's root keys"),
        (("r1", "n1", "n2"), ThresholdError, "v1's root keys"),
        # v2's own half missing entirely / below its threshold
        (("r1", "r2"), KeyNotInRoleError, "its own root keys"),
        (("r1", "r2", "n1"), ThresholdError, "its own root keys"),
    ],
)
def test_rotation_needs_both_halves(
    c: Cast, signers: tuple[str, ...], error: type[Exception], phrase: str
) -> None:
    v1, v2 = standard_v1(), standard_v2()
    data = sign_root(v2, *(getattr(c, s) for s in signers))
    with pytest.raises(error, match=phrase):
        verify_next_root(v1, data)
    with pytest.raises(error, match=phrase):
        walk_root_chain(v1, [data], NOW)


def test_rotation_with_a_shared_key_still_needs_its_own_threshold(c: Cast) -> None:
    v1 = standard_v1()
    v2 = make_root(2, [c.r1, c.n1], 2)
    with pytest.raises(ThresholdError, match="its own root keys"):
        verify_next_root(v1, sign_root(v2, c.r1, c.r2))
    assert verify_next_root(v1, sign_root(v2, c.r1, c.r2, c.n1)) == v2


@pytest.mark.parametrize("version", [1, 3, 7])
def test_rotation_version_gap_or_repeat(c: Cast, version: int) -> None:
    v1 = standard_v1()
    other = make_root(version, [c.r1, c.r2], 2)
    with pytest.raises(RootChainError, match=f"expected trust root v2, got v{version}"):
        walk_root_chain(v1, [sign_root(other, c.r1, c.r2)], NOW)


def test_rotation_repeated_in_the_chain(c: Cast) -> None:
    v1, v2 = standard_v1(), standard_v2()
    d2 = sign_root(v2, c.r1, c.r2, c.n1, c.n2)
    with pytest.raises(RootChainError, match="expected trust root v3, got v2"):
        walk_root_chain(v1, [d2, d2], NOW)


def _chain(c: Cast, n: int) -> tuple[Root, list[bytes]]:
    v1 = make_root(1, [c.r1])
    return v1, [sign_root(make_root(v, [c.r1]), c.r1) for v in range(2, n + 2)]


def test_chain_of_max_length_is_followed(c: Cast) -> None:
    v1, chain = _chain(c, MAX_ROOT_CHAIN)
    assert walk_root_chain(v1, chain, NOW).version == MAX_ROOT_CHAIN + 1


def test_chain_longer_than_max_is_refused_before_verifying(c: Cast) -> None:
    v1, chain = _chain(c, MAX_ROOT_CHAIN + 1)
    with pytest.raises(RootChainError, match=f"at most {MAX_ROOT_CHAIN}"):
        walk_root_chain(v1, chain, NOW)
    with pytest.raises(RootChainError, match=f"at most {MAX_ROOT_CHAIN}"):
        walk_root_chain(v1, [b"\xc1"] * (MAX_ROOT_CHAIN + 1), NOW)


def test_root_envelope_over_the_size_limit(c: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    chans = [f"region-{i:02d}/" + "x" * 50 for i in range(64)]
    roles = [(f"role{j}", [c.rel1], 1, chans) for j in range(25)]
    data = sign_root(make_root(1, [c.r1], 1, roles), c.r1)
    assert len(data) > MAX_ROOT_BYTES
    with pytest.raises(SizeLimitError, match=f"limit is {MAX_ROOT_BYTES}"):
        verify_pinned_root(data)
    next_data = sign_root(make_root(2, [c.r1], 1, roles), c.r1)
    with pytest.raises(SizeLimitError):
        walk_root_chain(make_root(1, [c.r1]), [next_data], NOW)

    def no_decoding(data: bytes, what: str) -> Any:
        raise AssertionError("decoded before the size check")

    monkeypatch.setattr(keys._encoding, "decode_strict", no_decoding)
    with pytest.raises(SizeLimitError, match="before decoding"):
        verify_pinned_root(b"\xc1" * (MAX_ROOT_BYTES + 1))


# --- expiry -------------------------------------------------------------------------------------


def test_expired_final_root(c: Cast) -> None:
    v1 = standard_v1()
    v2 = make_root(2, [c.r1, c.r2], 2, created=NOW - 10 * 86_400, expires=NOW - 3600)
    d2 = sign_root(v2, c.r1, c.r2)
    with pytest.raises(ExpiredError, match="trust root v2 expired") as ei:
        walk_root_chain(v1, [d2], NOW)
    assert "clock skew" in str(ei.value)
    assert ei.value.expires == NOW - 3600 and ei.value.now == NOW


def test_expired_pinned_root_with_nothing_newer(c: Cast) -> None:
    v1 = make_root(1, [c.r1], created=NOW - 10_000, expires=NOW - CLOCK_SKEW_S - 1)
    with pytest.raises(ExpiredError, match="trust root v1"):
        load_trust(sign_root(v1, c.r1), [], NOW)


def test_root_expiry_allows_the_clock_skew(c: Cast) -> None:
    v1 = make_root(1, [c.r1], created=NOW - 10_000, expires=NOW - CLOCK_SKEW_S)
    assert walk_root_chain(v1, [], NOW) == v1
    with pytest.raises(ExpiredError):
        walk_root_chain(v1, [], NOW + 1)


def test_expired_intermediate_root_is_fine(c: Cast) -> None:
    v1 = make_root(1, [c.r1], created=NOW - 100 * 86_400, expires=NOW - 50 * 86_400)
    v2 = make_root(2, [c.r1], created=NOW - 50 * 86_400, expires=NOW - 10 * 86_400)
    v3 = make_root(3, [c.r1])
    got = walk_root_chain(v1, [sign_root(v2, c.r1), sign_root(v3, c.r1)], NOW)
    assert got == v3
    assert got.expires == EXPIRES


# --- strict decoding ----------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any], Cast], None]


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def go(body: dict[str, Any], c: Cast) -> None:
        node: Any = body
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value

    return go


def _del(path: tuple[Any, ...]) -> Mutation:
    def go(body: dict[str, Any], c: Cast) -> None:
        node: Any = body
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]

    return go


def _foreign_keyid(body: dict[str, Any], c: Cast) -> None:
    body["keys"][0]["keyid"] = c.outsider.keyid


def _duplicate_key_entry(body: dict[str, Any], c: Cast) -> None:
    body["keys"].append(dict(body["keys"][0]))


def _root_keyid_not_listed(body: dict[str, Any], c: Cast) -> None:
    body["root"]["keyids"] = [c.outsider.keyid]


def _role_named_twice(body: dict[str, Any], c: Cast) -> None:
    body["release_roles"].append(dict(body["release_roles"][0]))


MALFORMED: list[tuple[str, Mutation, str]] = [
    ("root threshold > keys", _set(("root", "threshold"), 3), "threshold 3 exceeds"),
    ("role threshold > keys", _set(("release_roles", 0, "threshold"), 3), "threshold 3 exceeds"),
    ("threshold zero", _set(("root", "threshold"), 0), "outside"),
    ("keyid mismatch", _foreign_keyid, "key id does not match"),
    ("key listed twice", _duplicate_key_entry, "listed twice"),
    ("root keyid not in keys", _root_keyid_not_listed, "not in root.keys"),
    ("unknown top field", _set(("extra",), 1), "unknown field"),
    ("unknown nested field", _set(("root", "comment"), "hi"), "unknown field"),
    ("unknown key-entry field", _set(("keys", 0, "rsa"), b"x"), "unknown field"),
    ("missing field", _del(("expires",)), "missing field 'expires'"),
    ("version as str", _set(("version",), "1"), "must be an integer, not string"),
    ("version as float", _set(("version",), 1.0), "must be an integer, not float"),
    ("version zero", _set(("version",), 0), "outside"),
    ("bool version", _set(("version",), True), "must be an integer, not boolean"),
    ("bool threshold", _set(("root", "threshold"), True), "must be an integer, not boolean"),
    ("keys not a list", _set(("keys",), {}), "must be a list"),
    ("key bytes as str", _set(("keys", 0, "ed25519"), "abc"), "must be binary"),
    ("key of 31 bytes", _set(("keys", 0, "ed25519"), bytes(31)), "must be 32 bytes"),
    ("channels as str", _set(("release_roles", 0, "channels"), "national"), "must be a list"),
    ("bad channel prefix", _set(("release_roles", 0, "channels"), ["National"]), "not a channel"),
    ("empty role name", _set(("release_roles", 0, "name"), ""), "empty or repeated"),
    ("role named twice", _role_named_twice, "empty or repeated"),
    ("expires before created", _set(("expires",), NOW - 2 * 86_400), "expires before"),
    ("wrong type", _set(("type",), "p2pdist/manifest"), "not a trust root"),
    ("body not a map", lambda b, c: b.clear(), "missing field"),
]


@pytest.mark.parametrize(("mutate", "phrase"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_root_bodies(c: Cast, mutate: Mutation, phrase: str) -> None:
    body = body_of(standard_v1())
    mutate(body, c)
    data = sign_obj(body, c.r1, c.r2)
    with pytest.raises(MalformedError, match=phrase) as ei:
        verify_pinned_root(data)
    assert type(ei.value) is MalformedError
    with pytest.raises(MalformedError, match=phrase):
        walk_root_chain(make_root(1, [c.r1, c.r2], 2), [data], NOW)


@pytest.mark.parametrize("body", [b"", b"\x93\x01\x02\x03", encode([1, 2]), encode("root")])
def test_root_body_that_is_not_a_map(c: Cast, body: bytes) -> None:
    with pytest.raises(MalformedError):
        verify_pinned_root(sign_bytes(body, c.r1))


def test_duplicate_map_key_in_root_body(c: Cast) -> None:
    body = body_of(standard_v1())
    pairs = [*body.items(), ("version", 1)]
    data = sign_bytes(raw_map(pairs), c.r1, c.r2)
    with pytest.raises(MalformedError, match="duplicate map key 'version'"):
        verify_pinned_root(data)


def test_duplicate_map_key_in_envelope(c: Cast) -> None:
    body = standard_v1().encode_body()
    data = raw_map([("signed", body), ("signatures", []), ("signed", body)])
    with pytest.raises(MalformedError, match="duplicate map key 'signed'"):
        verify_pinned_root(data)


@pytest.mark.parametrize("fmt", [0, 2, 99])
def test_unknown_root_format(c: Cast, fmt: int) -> None:
    body = body_of(standard_v1())
    body["format"] = fmt
    with pytest.raises(UnknownFormatError, match=f"format {fmt} is not supported"):
        verify_pinned_root(sign_obj(body, c.r1, c.r2))


def test_trailing_bytes_after_root_envelope(c: Cast) -> None:
    data = sign_root(standard_v1(), c.r1, c.r2)
    with pytest.raises(TrailingBytesError, match="1 unexpected bytes"):
        verify_pinned_root(data + b"\x00")
    with pytest.raises(TrailingBytesError):
        walk_root_chain(standard_v1(), [sign_root(standard_v2(), c.r1, c.r2) + data], NOW)


def test_envelope_fields_are_strict(c: Cast) -> None:
    body = standard_v1().encode_body()
    sig = c.r1.sign(body)
    cases: list[tuple[Any, str]] = [
        ({"signed": body}, "missing field 'signatures'"),
        ({"signed": body, "signatures": [], "x": 1}, "unknown field"),
        ({"signed": body.decode("latin-1"), "signatures": []}, "must be binary"),
        ({"signed": body, "signatures": [{"keyid": c.r1.keyid, "sig": sig[:63]}]}, "64 bytes"),
        ({"signed": body, "signatures": [{"keyid": c.r1.keyid.encode(), "sig": sig}]},
         "must be a string"),
        ({"signed": body, "signatures": [{"keyid": c.r1.keyid, "sig": sig, "alg": "x"}]},
         "unknown field"),
        ({"signed": body, "signatures": [{"keyid": c.r1.keyid, "sig": sig}] * 33},
         "more than 32"),
    ]
    for env, phrase in cases:
        with pytest.raises(MalformedError, match=phrase):
            verify_pinned_root(encode(env))


def test_extension_types_are_refused() -> None:
    with pytest.raises(MalformedError, match="extension type 5"):
        decode_strict(msgpack.packb(msgpack.ExtType(5, b"x")), "x")


def test_timestamp_extension_type_is_refused() -> None:
    with pytest.raises(MalformedError):
        decode_strict(msgpack.packb(msgpack.Timestamp(0)), "x")


def test_unknown_fields_of_mixed_key_types_are_malformed(c: Cast) -> None:
    data = encode({"signed": b"x", "signatures": [], "a": 1, b"b": 2})
    with pytest.raises(MalformedError, match="unknown field"):
        verify_pinned_root(data)
