"""Hypothesis strategies shared by the trust-layer fuzz tests (keys and manifest)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

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
