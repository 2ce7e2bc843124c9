"""Inputs within the size limits that are expensive to decode: container and nesting bombs."""

from __future__ import annotations

import struct

from hypothesis import strategies as st


def _array32(n: int) -> bytes:
    return b"\xdd" + struct.pack(">I", n)


def _map32(n: int) -> bytes:
    return b"\xdf" + struct.pack(">I", n)


def msgpack_bomb(kind: str, n: int) -> bytes:
    """One msgpack document of about `n` bytes built to cost much more than `n` decoded."""
    if kind == "empty-maps":
        return _array32(n) + b"\x80" * n
    if kind == "empty-lists":
        return _array32(n) + b"\x90" * n
    if kind == "nested":
        return b"\x91" * n + b"\xc0"
    if kind == "lists-of-15":
        k = max(1, n // 16)
        return _array32(k) + (b"\x9f" + b"\x00" * 15) * k
    if kind == "dup-keys":
        return _map32(n) + b"\xa1a\x00" * n
    if kind == "claims-more":
        return _array32(0xFFFFFFFF) + b"\x80" * 16
    if kind == "big-str-claim":
        return b"\xdb" + struct.pack(">I", 0xFFFFFFF0) + b"x" * 16
    return b"\xdc" + struct.pack(">H", 0xFFFF) + b"\xa0" * 0xFFFF  # empty strings


MSGPACK_KINDS = ("empty-maps", "empty-lists", "nested", "lists-of-15", "dup-keys",
                 "claims-more", "big-str-claim", "empty-strs")


def msgpack_bombs(max_exp: int = 23) -> st.SearchStrategy[bytes]:
    return st.builds(msgpack_bomb, st.sampled_from(MSGPACK_KINDS),
                     st.integers(0, max_exp).map(lambda e: 2**e))


def bencode_bomb(kind: str, n: int) -> bytes:
    if kind == "lists":
        return b"l" + b"le" * n + b"e"
    if kind == "nested":
        return b"l" * n + b"e" * n
    if kind == "dicts":
        return b"l" + b"de" * n + b"e"
    if kind == "ints":
        return b"l" + b"i0e" * n + b"e"
    n = min(n, 1 << 16)  # distinct keys, unsorted past 9: refused at the first disorder
    return b"d" + b"".join(b"%d:%se0:" % (len(str(i)), str(i).encode()) for i in range(n)) + b"e"


def bencode_bombs(max_exp: int = 21) -> st.SearchStrategy[bytes]:
    return st.builds(bencode_bomb, st.sampled_from(("lists", "nested", "dicts", "ints", "keys")),
                     st.integers(0, max_exp).map(lambda e: 2**e))


def json_bomb(kind: str, n: int) -> bytes:
    if kind == "nested":
        return b"[" * n + b"]" * n
    if kind == "objects":
        return b"[" + b",".join([b"{}"] * n) + b"]"
    return b'{"cmd":"' + b"x" * n + b'"}'


def json_bombs(max_exp: int = 15) -> st.SearchStrategy[bytes]:
    return st.builds(json_bomb, st.sampled_from(("nested", "objects", "long")),
                     st.integers(0, max_exp).map(lambda e: 2**e))
