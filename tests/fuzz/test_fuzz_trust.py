"""Fuzz targets: manifest bytes, root bytes, the torrents inside signed manifests.

Random bytes, mutations of valid envelopes, and container bombs (also signed by a trusted
key, as a leaked key could sign them): only trust errors escape, memory stays bounded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

import pytest
from bombs import bencode_bombs, msgpack_bombs
from fuzz_world import Trust
from hypothesis import given
from hypothesis import strategies as st

from keys import Envelope, TrustError, encode, parse_root_envelope, verify_next_root
from manifest import Manifest, check_torrent_matches, decode_envelope, verify_manifest_with
from tests.fuzz_budget import BATCH, Meter, drive
from tests.fuzz_strategies import msgpack_objects, mutations

pytestmark = pytest.mark.fuzz

def _signed(body: bytes, trust: Trust) -> bytes:
    return Envelope(body).sign(trust.keys.release).encode()


def _manifest_inputs(trust: Trust) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=2048),
        mutations(trust.manifest_v1),
        msgpack_bombs(),
        msgpack_bombs(22).map(lambda b: _signed(b, trust)),
        msgpack_objects().map(lambda o: _signed(encode(o), trust)),
    )


def test_fuzz_manifest_bytes(trust: Trust) -> None:
    meter = Meter()

    @BATCH
    @given(_manifest_inputs(trust))
    def batch(data: bytes) -> None:
        with meter.measure(data[:40]), contextlib.suppress(TrustError):
            verify_manifest_with(data, trust.root, lambda _c: 1, int(time.time()))

    drive("manifest bytes", batch, meter)


def test_fuzz_root_bytes(trust: Trust) -> None:
    meter = Meter()
    roots = st.one_of(st.binary(max_size=2048), mutations(trust.keys.root_v2),
                      msgpack_bombs(15))

    @BATCH
    @given(roots)
    def batch(data: bytes) -> None:
        for fn in (parse_root_envelope, lambda d: verify_next_root(trust.root, d)):
            with meter.measure(data[:40]), contextlib.suppress(TrustError):
                fn(data)

    drive("root bytes", batch, meter)


def test_fuzz_torrent_in_a_signed_manifest(trust: Trust) -> None:
    meter = Meter()
    good = Manifest.decode_body(decode_envelope(trust.manifest_v1).signed)
    torrents = st.one_of(mutations(good.torrent), bencode_bombs(),
                         bencode_bombs().map(lambda b: b"d4:info" + b + b"e"))

    @BATCH
    @given(torrents)
    def batch(torrent: bytes) -> None:
        candidate = dataclasses.replace(good, torrent=torrent)
        with meter.measure((len(torrent), torrent[:20])), contextlib.suppress(TrustError):
            check_torrent_matches(candidate)

    drive("torrent in a manifest", batch, meter)
