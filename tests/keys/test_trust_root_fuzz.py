"""Fuzzing the trust root: whatever the bytes, only a `TrustError` may come out."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from trust_keys_helpers import (
    NOW,
    body_of,
    cast,
    msgpack_objects,
    mutations,
    only_trust_errors,
    sign_obj,
    sign_root,
    standard_v1,
    standard_v2,
)

from keys import Root, encode, verify_pinned_root, walk_root_chain

FUZZ = settings(max_examples=200, deadline=None)


def _v1_data() -> bytes:
    c = cast()
    return sign_root(standard_v1(), c.r1, c.r2)


def _v2_data() -> bytes:
    c = cast()
    return sign_root(standard_v2(), c.r1, c.r2, c.n1, c.n2)


def _both(data: bytes) -> None:
    """Feed `data` as a pinned root and as the next root after v1."""
    only_trust_errors(verify_pinned_root, data)
    only_trust_errors(walk_root_chain, standard_v1(), [data], NOW)


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    _both(data)


@FUZZ
@given(st.data())
def test_mutated_root_envelopes(data: st.DataObject) -> None:
    _both(data.draw(mutations(_v1_data())))
    _both(data.draw(mutations(_v2_data())))


@FUZZ
@given(msgpack_objects())
def test_random_object_as_signed_body(obj: Any) -> None:
    c = cast()
    _both(sign_obj(obj, c.r1, c.r2, c.n1, c.n2))


def _paths(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every field position of a root body (top level and nested records)."""
    out: list[tuple[Any, ...]] = [(k,) for k in body]
    out += [("root", k) for k in body["root"]]
    out += [("keys", 0, k) for k in body["keys"][0]]
    out += [("release_roles", 0, k) for k in body["release_roles"][0]]
    out += [("keys", 0), ("release_roles", 0), ("root", "keyids", 0),
            ("release_roles", 0, "channels", 0)]
    return out


def _replaced(root: Root, path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = body_of(root)
    node: Any = body
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return body


@FUZZ
@given(st.data(), msgpack_objects())
def test_random_field_values_in_a_valid_root(data: st.DataObject, value: Any) -> None:
    c = cast()
    for root in (standard_v1(), standard_v2()):
        path = data.draw(st.sampled_from(_paths(body_of(root))))
        _both(sign_obj(_replaced(root, path, value), c.r1, c.r2, c.n1, c.n2))


@FUZZ
@given(st.dictionaries(st.text(max_size=8), msgpack_objects(), min_size=1, max_size=3))
def test_extra_text_keyed_fields_in_a_valid_root(extra: dict[str, Any]) -> None:
    c = cast()
    body = body_of(standard_v2())
    body.update(extra)
    _both(sign_obj(body, c.r1, c.r2, c.n1, c.n2))
    _both(encode({"signed": standard_v1().encode_body(), "signatures": [], **extra}))


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=4) | st.binary(min_size=1, max_size=4),
        st.none(),
        min_size=2,
        max_size=4,
    )
)
def test_extra_fields_with_any_msgpack_key_type(extra: dict[Any, Any]) -> None:
    _both(encode({"signed": standard_v1().encode_body(), "signatures": [], **extra}))
