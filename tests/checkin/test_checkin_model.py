"""The check-in document: signing, verification, every rejection, the size cap, the builder."""

from __future__ import annotations

import contextlib
import unicodedata
from typing import Any

import pytest
from checkin_helpers import CHANNEL, NOW, body_of, checkin, sign_body
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import (
    BadSignatureError,
    Envelope,
    MalformedError,
    MissingSignatureError,
    SigningKey,
    SizeLimitError,
    TrailingBytesError,
    TrustError,
    UnknownFormatError,
    encode,
)
from p2pdist.checkin import (
    MAX_CHECKIN_BYTES,
    ChannelReport,
    ForgedIdentityError,
    ReplayError,
    UnknownBoxError,
    make_checkin,
    rejection_for,
    verify_checkin,
)
from p2pdist.errors import ConfigError

KEY = SigningKey.generate()
OTHER = SigningKey.generate()


def test_round_trip_keeps_every_field() -> None:
    v = verify_checkin(checkin(KEY, 7))
    c = v.checkin
    assert c.box_id == KEY.keyid and c.box_key == KEY.public.raw
    assert (c.seq, c.sent, c.site) == (7, NOW, "湖南-城关站")
    assert c.channels == {CHANNEL: ChannelReport(2, "seeding", 1.0)}
    assert c.plays == {"过年好": 12, "微信发红包与抢红包": 3}
    assert c.window == (NOW - 3600, NOW) and c.free_disk == 50 * 10**9


def test_same_checkin_same_digest_other_content_other_digest() -> None:
    a, b = verify_checkin(checkin(KEY, 3)), verify_checkin(checkin(KEY, 3))
    assert a.digest == b.digest
    assert verify_checkin(checkin(KEY, 3, free_disk=1)).digest != a.digest


def test_progress_is_carried_in_ten_thousandths() -> None:
    c = verify_checkin(checkin(KEY, channels={CHANNEL: ChannelReport(1, "downloading",
                                                                     0.12345)})).checkin
    assert c.channels[CHANNEL].progress == pytest.approx(0.1234, abs=1e-4)


def _resign(body: dict[str, Any], key: SigningKey = KEY) -> bytes:
    return sign_body(body, key)


def test_flipped_signature_is_a_bad_signature() -> None:
    env = Envelope.decode(checkin(KEY), "t", 1 << 20, 1 << 20)
    sig = env.signatures[0]
    bad = Envelope(env.signed, (type(sig)(sig.keyid, bytes([sig.sig[0] ^ 1]) + sig.sig[1:]),))
    with pytest.raises(BadSignatureError):
        verify_checkin(bad.encode())


def test_changed_body_no_longer_verifies() -> None:
    env = Envelope.decode(checkin(KEY), "t", 1 << 20, 1 << 20)
    body = body_of(KEY)
    body["free_disk"] = 1
    with pytest.raises(BadSignatureError):
        verify_checkin(Envelope(encode(body), env.signatures).encode())


def test_unsigned_and_doubly_signed() -> None:
    with pytest.raises(MissingSignatureError):
        verify_checkin(sign_body(body_of(KEY)))
    with pytest.raises(MalformedError):
        verify_checkin(sign_body(body_of(KEY), KEY, OTHER))


def test_box_id_that_is_not_the_keys_hash_is_forged() -> None:
    body = body_of(KEY)
    body["box_id"] = OTHER.keyid
    with pytest.raises(ForgedIdentityError):
        verify_checkin(_resign(body))


def test_someone_elses_key_in_the_body_is_forged() -> None:
    body = body_of(KEY)
    body["box_key"], body["box_id"] = OTHER.public.raw, OTHER.keyid
    with pytest.raises(ForgedIdentityError):
        verify_checkin(_resign(body, KEY))


def test_oversized_is_refused_before_decoding() -> None:
    with pytest.raises(SizeLimitError):
        verify_checkin(b"\x00" * (MAX_CHECKIN_BYTES + 1))


def test_trailing_bytes() -> None:
    with pytest.raises(TrailingBytesError):
        verify_checkin(checkin(KEY) + b"\x00")


@pytest.mark.parametrize(("field", "value"), [
    ("type", "p2pdist/manifest"),
    ("seq", 0),
    ("seq", -1),
    ("sent", True),
    ("site", "line\nbreak"),
    ("site", "x" * 65),
    ("channels", {"Not/A/Channel": {"version": 1, "state": "seeding", "progress": 0}}),
    ("channels", {CHANNEL: {"version": 1, "state": "seeding", "progress": 10001}}),
    ("channels", {CHANNEL: {"version": 1, "state": "", "progress": 0}}),
    ("channels", {CHANNEL: {"version": 1, "state": "seeding", "progress": 0.5}}),
    ("channels", {CHANNEL: {"version": 1, "state": "seeding", "progress": 0, "x": 1}}),
    ("counters", {"plays": {"过年好": -1}}),
    ("counters", {"plays": {unicodedata.normalize("NFD", "Café"): 1}}),
    ("counters", {"plays": {}, "downloads": {}}),
    ("window", {"start": NOW, "end": NOW - 1}),
    ("free_disk", 1.5),
    ("box_key", b"\x00" * 31),
])
def test_malformed_fields(field: str, value: object) -> None:
    body = body_of(KEY)
    body[field] = value
    with pytest.raises(MalformedError):
        verify_checkin(_resign(body))


def test_unknown_and_missing_fields() -> None:
    body = body_of(KEY)
    body["extra"] = 1
    with pytest.raises(MalformedError, match="unknown"):
        verify_checkin(_resign(body))
    body = body_of(KEY)
    del body["site"]
    with pytest.raises(MalformedError, match="missing"):
        verify_checkin(_resign(body))


def test_future_format_is_named() -> None:
    body = body_of(KEY)
    body["format"] = 2
    with pytest.raises(UnknownFormatError):
        verify_checkin(_resign(body))


def test_builder_keeps_the_most_played_titles_within_the_cap() -> None:
    plays = {f"影片 {i:04d} " + "长" * 150: i for i in range(400)}
    data = checkin(KEY, plays=plays)
    assert len(data) <= MAX_CHECKIN_BYTES
    kept = verify_checkin(data).checkin.plays
    assert kept and min(kept.values()) > 400 - len(kept) - 1  # the top counts survived
    assert all(len(t) <= 200 for t in kept)


def test_builder_merges_titles_that_differ_only_in_normalization() -> None:
    plays = {unicodedata.normalize("NFD", "Café"): 2, "Café": 3}
    assert verify_checkin(checkin(KEY, plays=plays)).checkin.plays == {"Café": 5}


def test_builder_refuses_an_unreportable_site_and_bad_numbers() -> None:
    with pytest.raises(ConfigError):
        checkin(KEY, site="x" * 65)
    with pytest.raises(ValueError):
        ChannelReport(1, "seeding", float("nan"))
    with pytest.raises(ValueError):
        checkin(KEY, seq=0)


@pytest.mark.parametrize(("error", "reason", "status"), [
    (SizeLimitError("x"), "oversized", 413),
    (BadSignatureError("x"), "bad_signature", 400),
    (MissingSignatureError("x"), "bad_signature", 400),
    (ForgedIdentityError("x"), "forged_identity", 400),
    (UnknownBoxError("x"), "unknown_box", 403),
    (ReplayError("x"), "replay", 409),
    (TrailingBytesError("x"), "malformed", 400),
    (TrustError("x"), "untrusted", 400),
])
def test_each_rejection_has_a_reason_and_status(error: TrustError, reason: str,
                                                 status: int) -> None:
    r = rejection_for(error)
    assert (r.reason, r.status) == (reason, status)


VALID = checkin(KEY, 1)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes_only_raise_trust_errors(data: bytes) -> None:
    with pytest.raises(TrustError):
        verify_checkin(data)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(1, 255), st.integers(0, 8))
def test_fuzz_mutated_checkins_only_raise_trust_errors(pos: int, xor: int, cut: int) -> None:
    data = bytearray(VALID)
    data[pos] ^= xor
    with contextlib.suppress(TrustError):
        verify_checkin(bytes(data[: len(data) - cut]))


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.floats() | st.text(max_size=8)
    | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(body_of(KEY))), _values)
def test_fuzz_any_field_value_only_raises_trust_errors(field: str, value: object) -> None:
    body = body_of(KEY)
    body[field] = value
    try:
        data = _resign(body)
    except (OverflowError, TypeError, ValueError):
        return  # msgpack cannot encode it: nothing to send
    with contextlib.suppress(TrustError):
        verify_checkin(data)


def test_make_checkin_is_verifiable_by_anyone() -> None:
    data = make_checkin(OTHER, seq=5, sent=0, site="", channels={}, free_disk=0, plays={},
                        window=(0, 0))
    assert verify_checkin(data).checkin.box_id == OTHER.keyid
