"""Fuzzing `verify_manifest`: whatever the bytes, it returns or raises a `TrustError`."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from trust_manifest_builders import (
    NOW,
    Cast,
    Release,
    body_of,
    msgpack_objects,
    mutations,
    only_trust_errors,
    sign_obj,
)

from keys import Root, encode
from manifest import VerifiedRelease, verify_manifest

FUZZ = settings(max_examples=200, deadline=None)


def _check(data: bytes, root: Root) -> None:
    got = only_trust_errors(verify_manifest, data, root, None, NOW)
    assert got is None or isinstance(got, VerifiedRelease)


@FUZZ
@given(st.binary(max_size=1024))
def test_random_bytes(root: Root, data: bytes) -> None:
    _check(data, root)


@FUZZ
@given(st.data())
def test_mutated_signed_envelope(
    release: Release, root: Root, c: Cast, data: st.DataObject
) -> None:
    valid = release.manifest().sign(c.hunan1, c.hunan2)
    _check(data.draw(mutations(valid)), root)


@FUZZ
@given(msgpack_objects())
def test_random_object_as_signed_body(root: Root, c: Cast, obj: Any) -> None:
    _check(sign_obj(obj, c.hunan1), root)


def _paths(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every field position in a manifest body (top level, a file entry, a seeder)."""
    out: list[tuple[Any, ...]] = [(k,) for k in body]
    out += [("files", 0, k) for k in body["files"][0]]
    out += [("files", 1), ("files", 0, "themes", 0), ("seeders", 0, "feed"),
            ("seeders", 0, "swarm"), ("seeders", 0)]
    return out


@FUZZ
@given(st.data(), msgpack_objects())
def test_random_field_value_in_a_valid_body(
    release: Release, root: Root, c: Cast, data: st.DataObject, value: Any
) -> None:
    body = body_of(release.manifest())
    body["seeders"] = [{"feed": "http://seeder.local:8080/feed", "swarm": "10.0.0.1:6881"}]
    path = data.draw(st.sampled_from(_paths(body)))
    node: Any = body
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    _check(sign_obj(body, c.hunan1), root)


@FUZZ
@given(
    st.sampled_from(["top", "file", "envelope"]),
    st.dictionaries(st.text(max_size=8), msgpack_objects(), min_size=1, max_size=3),
)
def test_extra_text_keyed_fields(
    release: Release, root: Root, c: Cast, where: str, extra: dict[str, Any]
) -> None:
    body = body_of(release.manifest())
    if where == "envelope":
        _check(encode({"signed": encode(body), "signatures": [], **extra}), root)
        return
    (body if where == "top" else body["files"][0]).update(extra)
    _check(sign_obj(body, c.hunan1), root)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=4) | st.binary(min_size=1, max_size=4),
        st.none(),
        min_size=2,
        max_size=4,
    )
)
def test_extra_fields_with_any_msgpack_key_type(
    release: Release, root: Root, c: Cast, extra: dict[Any, Any]
) -> None:
    body: dict[Any, Any] = body_of(release.manifest())
    body.update(extra)
    _check(sign_obj(body, c.hunan1), root)
