"""`verify_manifest`: every rejection, each built through the real encoding and real keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from trust_manifest_builders import (
    CHANNEL,
    CREATED,
    EXPIRES,
    FILMS,
    LESSON,
    NOW,
    VERSION,
    Cast,
    Release,
    body_of,
    make_root,
    raw_map,
    sign_bytes,
    sign_obj,
)

import keys._encoding
from keys import (
    CLOCK_SKEW_S,
    BadSignatureError,
    ChannelNotAllowedError,
    Envelope,
    ExpiredError,
    KeyNotInRoleError,
    MalformedError,
    MissingSignatureError,
    RollbackError,
    Root,
    SizeLimitError,
    ThresholdError,
    TrailingBytesError,
    UnknownFormatError,
    encode,
    walk_root_chain,
)
from manifest import (
    MAX_BODY_BYTES,
    MAX_ENVELOPE_BYTES,
    MAX_FILES,
    BadPathError,
    Manifest,
    PathCollisionError,
    TooManyFilesError,
    TorrentMismatchError,
    VerifiedRelease,
    decode_envelope,
    verify_manifest,
)


def _utc(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# --- the happy path -----------------------------------------------------------------------------


def test_valid_manifest_with_chinese_names_is_accepted(
    release: Release, root: Root, c: Cast
) -> None:
    m = release.manifest()
    data = m.sign(c.hunan1)
    got = verify_manifest(data, root, None, NOW)
    assert isinstance(got, VerifiedRelease)
    assert got.manifest == m
    assert got.envelope == data
    assert got.signers == {c.hunan1.keyid}
    assert got.role == "hunan"
    assert got.is_new
    assert {f.path for f in got.manifest.files} >= {FILMS, LESSON}


def test_empty_file_has_zero_merkle_root(release: Release) -> None:
    (empty,) = [f for f in release.entries() if f.size == 0]
    assert empty.merkle_root == bytes(32)


# --- signatures ---------------------------------------------------------------------------------


def test_missing_signature(release: Release, root: Root) -> None:
    with pytest.raises(MissingSignatureError, match="not signed"):
        verify_manifest(release.manifest().sign(), root, None, NOW)


def test_body_altered_after_signing(release: Release, root: Root, c: Cast) -> None:
    env = decode_envelope(release.manifest().sign(c.hunan1))
    signed = bytearray(env.signed)
    signed[-1] ^= 0x01
    forged = Envelope(bytes(signed), env.signatures).encode()
    with pytest.raises(BadSignatureError, match="altered after signing"):
        verify_manifest(forged, root, None, NOW)


def test_signature_byte_flipped(release: Release, root: Root, c: Cast) -> None:
    env = decode_envelope(release.manifest().sign(c.hunan1))
    (s,) = env.signatures
    bad = dataclasses.replace(s, sig=s.sig[:10] + bytes([s.sig[10] ^ 0x80]) + s.sig[11:])
    with pytest.raises(BadSignatureError, match=c.hunan1.keyid[:16]):
        verify_manifest(Envelope(env.signed, (bad,)).encode(), root, None, NOW)


@pytest.mark.parametrize("who", ["root", "outsider"])
def test_signed_by_a_key_outside_the_release_roles(
    release: Release, root: Root, c: Cast, who: str
) -> None:
    signer = getattr(c, who)
    with pytest.raises(KeyNotInRoleError, match="does not list as release keys"):
        verify_manifest(release.manifest().sign(signer), root, None, NOW)


def test_threshold_not_met(release: Release, c: Cast) -> None:
    strict = make_root(hunan_threshold=2)
    m = release.manifest()
    with pytest.raises(ThresholdError, match="needs 2"):
        verify_manifest(m.sign(c.hunan1), strict, None, NOW)
    with pytest.raises(ThresholdError, match="needs 2"):
        verify_manifest(m.sign(c.hunan1, c.outsider, c.root), strict, None, NOW)
    # a key of another role does not count towards this role's threshold
    with pytest.raises(ThresholdError, match="needs 2"):
        verify_manifest(m.sign(c.hunan1, c.national), strict, None, NOW)
    got = verify_manifest(m.sign(c.hunan1, c.hunan2), strict, None, NOW)
    assert got.signers == {c.hunan1.keyid, c.hunan2.keyid}


def test_same_signature_twice_counts_once(release: Release, c: Cast) -> None:
    strict = make_root(hunan_threshold=2)
    env = decode_envelope(release.manifest().sign(c.hunan1))
    doubled = Envelope(env.signed, env.signatures * 2).encode()
    with pytest.raises(ThresholdError):
        verify_manifest(doubled, strict, None, NOW)


def test_key_signing_outside_its_channel(release: Release, root: Root, c: Cast) -> None:
    m = release.manifest(channel="national/x")
    with pytest.raises(ChannelNotAllowedError, match="'national/x'") as ei:
        verify_manifest(m.sign(c.hunan1), root, None, NOW)
    assert "hunan" in str(ei.value)
    assert verify_manifest(m.sign(c.national), root, None, NOW).role == "national"


def test_channel_prefix_is_segment_wise(release: Release, root: Root, c: Cast) -> None:
    for channel in ("national", "national/y", "national/y/z"):
        m = release.manifest(channel=channel)
        assert verify_manifest(m.sign(c.national), root, None, NOW).role == "national"
    for channel in ("nationalx/y", "nationalx", "province/hunanx", "province/hunan-2"):
        m = release.manifest(channel=channel)
        signer = c.national if channel.startswith("national") else c.hunan1
        with pytest.raises(ChannelNotAllowedError):
            verify_manifest(m.sign(signer), root, None, NOW)


def test_revoked_release_key_after_walking_to_the_next_root(release: Release, c: Cast) -> None:
    v1 = make_root(version=1)
    v2 = make_root(version=2, with_hunan1=False)
    v2_data = Envelope(v2.encode_body()).sign(c.root).encode()
    data = release.manifest().sign(c.hunan1)
    assert verify_manifest(data, v1, None, NOW).signers == {c.hunan1.keyid}
    trusted = walk_root_chain(v1, [v2_data], NOW)
    assert trusted.version == 2
    with pytest.raises(KeyNotInRoleError, match=c.hunan1.keyid[:16]):
        verify_manifest(data, trusted, None, NOW)
    assert verify_manifest(release.manifest().sign(c.hunan2), trusted, None, NOW).is_new


# --- expiry and rollback ------------------------------------------------------------------------


def test_expired_manifest_names_expiry_clock_and_skew(
    release: Release, root: Root, c: Cast
) -> None:
    expires = NOW - 3600
    m = release.manifest(created=NOW - 10 * 86_400, expires=expires)
    with pytest.raises(ExpiredError) as ei:
        verify_manifest(m.sign(c.hunan1), root, None, NOW)
    msg = str(ei.value)
    assert _utc(expires) in msg and "2027-01-15 07:00:00 UTC" in msg
    assert _utc(NOW) in msg and "2027-01-15 08:00:00 UTC" in msg
    assert "clock skew" in msg and f"{CLOCK_SKEW_S}s" in msg
    assert f"{CHANNEL} v{VERSION}" in msg
    assert (ei.value.expires, ei.value.now) == (expires, NOW)


def test_expiry_allows_the_clock_skew(release: Release, root: Root, c: Cast) -> None:
    m = release.manifest(created=NOW - 86_400, expires=NOW - CLOCK_SKEW_S)
    assert verify_manifest(m.sign(c.hunan1), root, None, NOW).is_new
    with pytest.raises(ExpiredError):
        verify_manifest(m.sign(c.hunan1), root, None, NOW + 1)


@pytest.mark.parametrize(
    ("last", "is_new"), [(None, True), (1, True), (VERSION - 1, True), (VERSION, False)]
)
def test_version_not_older_than_last(
    release: Release, root: Root, c: Cast, last: int | None, is_new: bool
) -> None:
    assert verify_manifest(release.manifest().sign(c.hunan1), root, last, NOW).is_new is is_new


@pytest.mark.parametrize("last", [VERSION + 1, VERSION + 100])
def test_rollback(release: Release, root: Root, c: Cast, last: int) -> None:
    with pytest.raises(RollbackError, match=f"older than v{last}"):
        verify_manifest(release.manifest().sign(c.hunan1), root, last, NOW)


# --- size limits --------------------------------------------------------------------------------


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> Any:
        raise AssertionError("decoded before the size check")

    monkeypatch.setattr(keys._encoding, "decode_strict", refuse)
    monkeypatch.setattr(Manifest, "decode_body", refuse)


def test_envelope_over_the_limit_is_refused_before_decoding(
    root: Root, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = b"\xc1" * (MAX_ENVELOPE_BYTES + 1)  # 0xc1 is never valid msgpack
    with pytest.raises(MalformedError, match="not valid msgpack"):
        verify_manifest(garbage[:1000], root, None, NOW)
    _no_decoding(monkeypatch)
    with pytest.raises(SizeLimitError, match="before decoding") as ei:
        verify_manifest(garbage, root, None, NOW)
    assert str(MAX_ENVELOPE_BYTES) in str(ei.value)


def test_body_over_the_limit(root: Root, c: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    data = sign_bytes(b"\xc1" * (MAX_BODY_BYTES + 1), c.hunan1)
    assert len(data) <= MAX_ENVELOPE_BYTES
    monkeypatch.setattr(Manifest, "decode_body", None)  # must not be reached
    with pytest.raises(SizeLimitError, match=f"body is {MAX_BODY_BYTES + 1} bytes"):
        verify_manifest(data, root, None, NOW)


def _many_files(release: Release, n: int) -> dict[str, Any]:
    body = body_of(release.manifest())
    template = body["files"][0]
    body["files"] = [dict(template, path=f"f/{i:05d}.mp4") for i in range(n)]
    return body


def test_too_many_files(release: Release, root: Root, c: Cast) -> None:
    with pytest.raises(TooManyFilesError, match=f"{MAX_FILES + 1} files; the limit"):
        verify_manifest(sign_obj(_many_files(release, MAX_FILES + 1), c.hunan1), root, None, NOW)
    # exactly at the limit the file list is decoded (and then fails only on the torrent)
    with pytest.raises(TorrentMismatchError):
        verify_manifest(sign_obj(_many_files(release, MAX_FILES), c.hunan1), root, None, NOW)


# --- paths --------------------------------------------------------------------------------------

BAD_PATHS: list[tuple[str, str]] = [
    ("/etc/passwd", "absolute"),
    ("a/../../b.mp4", "'..'"),
    ("../b.mp4", "'..'"),
    ("a/./b.mp4", "'.'"),
    ("a//b.mp4", "empty segment"),
    ("a/b/", "empty segment"),
    ("", "empty file path"),
    ("a\\b.mp4", "backslash"),
    ("a\x00b.mp4", "U\\+0000"),
    ("a\x1fb.mp4", "U\\+001F"),
    ("a\x7f.mp4", "U\\+007F"),
    ("a\nb.mp4", "U\\+000A"),
    ("a\u2028b.mp4", "U\\+2028"),
    ("e\u0301.mp4", "NFC"),
    ("电影/e\u0301.mp4", "NFC"),
    *[(f"a{ch}b.mp4", "FAT") for ch in '<>:"|?*'],
    (".hidden.mp4", "starting with '.'"),
    ("a/.pad/0", "starting with '.'"),
    ("a/name.", "end in '.'"),
    ("a/name ", "end in '.'"),
    ("x" * 256, "255 bytes"),
    ("电" * 86, "255 bytes"),
    ("/".join(["d"] * 17), "deeper"),
]


@pytest.mark.parametrize(("path", "phrase"), BAD_PATHS)
def test_bad_path_in_a_signed_manifest(
    release: Release, root: Root, c: Cast, path: str, phrase: str
) -> None:
    m = release.manifest()
    files = (dataclasses.replace(m.files[0], path=path), *m.files[1:])
    data = dataclasses.replace(m, files=files).sign(c.hunan1)
    with pytest.raises(BadPathError, match=phrase) as ei:
        verify_manifest(data, root, None, NOW)
    assert type(ei.value) is BadPathError


def test_longest_allowed_segment(release: Release, root: Root, c: Cast) -> None:
    m = release.manifest()
    files = (dataclasses.replace(m.files[0], path="电" * 85), *m.files[1:])
    # the path is fine; only the torrent no longer matches
    with pytest.raises(TorrentMismatchError):
        verify_manifest(dataclasses.replace(m, files=files).sign(c.hunan1), root, None, NOW)


@pytest.mark.parametrize(
    ("a", "b", "phrase"),
    [
        ("films/a.mp4", "films/a.mp4", "listed twice"),
        ("Films/A.mp4", "films/a.mp4", "ignoring case"),
        ("电影/Ä.mp4", "电影/ä.mp4", "ignoring case"),
        ("STRASSE.mp4", "straße.mp4", "ignoring case"),
        ("films", "films/a.mp4", "uses it as a folder"),
        ("Films", "films/a.mp4", "uses it as a folder"),
        ("a/b/c.mp4", "a/b", "uses it as a folder"),
    ],
)
def test_path_collisions(
    release: Release, root: Root, c: Cast, a: str, b: str, phrase: str
) -> None:
    m = release.manifest()
    f = m.files[0]
    files = (dataclasses.replace(f, path=a), dataclasses.replace(f, path=b), *m.files[1:])
    with pytest.raises(PathCollisionError, match=phrase):
        verify_manifest(dataclasses.replace(m, files=files).sign(c.hunan1), root, None, NOW)


# --- format and types ---------------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(*path: Any, value: Any) -> Mutation:
    def go(body: dict[str, Any]) -> None:
        node: Any = body
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value

    return go


def _del(*path: Any) -> Mutation:
    def go(body: dict[str, Any]) -> None:
        node: Any = body
        for p in path[:-1]:
            node = node[p]
        del node[path[-1]]

    return go


MALFORMED: list[tuple[str, Mutation, str]] = [
    ("version as str", _set("version", value="3"), "version must be an integer, not string"),
    ("version as bool", _set("version", value=True), "must be an integer, not boolean"),
    ("version zero", _set("version", value=0), "outside"),
    ("expires as float", _set("expires", value=float(EXPIRES)), "not float"),
    ("size as bool", _set("files", 0, "size", value=True), "size must be an integer, not boolean"),
    ("size negative", _set("files", 0, "size", value=-1), "outside"),
    ("size too big", _set("files", 0, "size", value=2**63), "outside"),
    ("sha256 short", _set("files", 0, "sha256", value=bytes(31)), "must be 32 bytes, not 31"),
    ("sha256 long", _set("files", 0, "sha256", value=bytes(33)), "must be 32 bytes, not 33"),
    ("sha256 as hex str", _set("files", 0, "sha256", value="00" * 32), "must be binary"),
    ("merkle short", _set("files", 0, "merkle_root", value=b""), "must be 32 bytes"),
    ("themes not a list", _set("files", 0, "themes", value="春节"), "must be a list"),
    ("theme not a str", _set("files", 0, "themes", value=[1]), r"themes\[0\] must be a string"),
    ("theme twice", _set("files", 0, "themes", value=["a", "a"]), "theme twice"),
    ("kind unknown", _set("files", 0, "kind", value="movie"), "'movie' is not one of"),
    ("kind upper", _set("files", 0, "kind", value="FILM"), "is not one of"),
    ("duration too long", _set("files", 0, "duration", value=10**9), "outside"),
    ("extra field", _set("signed_by", value="me"), "unknown field"),
    ("extra file field", _set("files", 0, "mtime", value=1), "unknown field"),
    ("extra seeder field", _set("seeders", value=[{"feed": "", "swarm": "", "x": 1}]),
     "unknown field"),
    ("missing title", _del("title"), "missing field 'title'"),
    ("missing torrent", _del("torrent"), "missing field 'torrent'"),
    ("missing merkle", _del("files", 0, "merkle_root"), "missing field 'merkle_root'"),
    ("missing seeder swarm", _set("seeders", value=[{"feed": "http://x"}]), "missing field"),
    ("files not a list", _set("files", value={}), "must be a list"),
    ("file not a map", _set("files", 0, value=[]), "must be a map"),
    ("no files", _set("files", value=[]), "no files"),
    ("torrent as str", _set("torrent", value="d4:infoe"), "must be binary"),
    ("title too long", _set("title", value="x" * 257), "longer than 256"),
    ("channel invalid", _set("channel", value="Province/Hunan"), "not a valid channel"),
    ("channel traversal", _set("channel", value="../etc"), "not a valid channel"),
    ("expires before created", _set("expires", value=CREATED), "expires before"),
    ("wrong type", _set("type", value="p2pdist/root"), "not a release manifest"),
    ("path as bytes", _set("files", 0, "path", value=FILMS.encode()), "must be a string"),
]


@pytest.mark.parametrize(("mutate", "phrase"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_bodies(
    release: Release, root: Root, c: Cast, mutate: Mutation, phrase: str
) -> None:
    body = body_of(release.manifest())
    mutate(body)
    with pytest.raises(MalformedError, match=phrase) as ei:
        verify_manifest(sign_obj(body, c.hunan1), root, None, NOW)
    assert type(ei.value) is MalformedError


def test_body_not_a_map(root: Root, c: Cast) -> None:
    for body in (encode([1]), encode(None), b"\xc1", b""):
        with pytest.raises(MalformedError):
            verify_manifest(sign_bytes(body, c.hunan1), root, None, NOW)


def test_duplicate_key_in_body(release: Release, root: Root, c: Cast) -> None:
    body = body_of(release.manifest())
    data = sign_bytes(raw_map([*body.items(), ("version", VERSION + 1)]), c.hunan1)
    with pytest.raises(MalformedError, match="duplicate map key 'version'"):
        verify_manifest(data, root, None, NOW)


@pytest.mark.parametrize("fmt", [0, 2, 2**32])
def test_unknown_format_version(release: Release, root: Root, c: Cast, fmt: int) -> None:
    body = body_of(release.manifest())
    body["format"] = fmt
    with pytest.raises(UnknownFormatError, match=f"format {fmt} is not supported"):
        verify_manifest(sign_obj(body, c.hunan1), root, None, NOW)


def test_trailing_bytes_after_the_envelope(release: Release, root: Root, c: Cast) -> None:
    data = release.manifest().sign(c.hunan1)
    with pytest.raises(TrailingBytesError, match="1 unexpected bytes"):
        verify_manifest(data + b"\x00", root, None, NOW)
    with pytest.raises(TrailingBytesError):
        verify_manifest(data + data, root, None, NOW)


def test_trailing_bytes_after_the_body(release: Release, root: Root, c: Cast) -> None:
    data = sign_bytes(release.manifest().encode_body() + b"\xc0", c.hunan1)
    with pytest.raises(TrailingBytesError):
        verify_manifest(data, root, None, NOW)


def test_signature_checked_before_the_body_is_decoded(
    release: Release, root: Root, c: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Manifest, "decode_body", None)
    for data in (sign_bytes(b"\xc1", c.outsider), sign_bytes(b"\xc1")):
        with pytest.raises((KeyNotInRoleError, MissingSignatureError)):
            verify_manifest(data, root, None, NOW)


def test_unknown_envelope_fields_of_mixed_key_types(root: Root) -> None:
    data = encode({"signed": b"x", "signatures": [], "a": 1, b"b": 2})
    with pytest.raises(MalformedError, match="unknown field"):
        verify_manifest(data, root, None, NOW)


def test_unknown_body_fields_of_mixed_key_types(release: Release, root: Root, c: Cast) -> None:
    body: dict[Any, Any] = body_of(release.manifest())
    body["x"] = 1
    body[b"y"] = 2
    with pytest.raises(MalformedError, match="unknown field"):
        verify_manifest(sign_obj(body, c.hunan1), root, None, NOW)


def test_verify_with_asks_for_the_last_version_of_the_authenticated_channel(
    release: Release, root: Root, c: Cast
) -> None:
    from manifest import verify_manifest_with

    asked: list[str] = []

    def last_of(channel: str) -> int | None:
        asked.append(channel)
        return {CHANNEL: VERSION + 1}.get(channel)

    with pytest.raises(KeyNotInRoleError):
        verify_manifest_with(release.manifest().sign(c.outsider), root, last_of, NOW)
    assert asked == []
    with pytest.raises(RollbackError):
        verify_manifest_with(release.manifest().sign(c.hunan1), root, last_of, NOW)
    assert asked == [CHANNEL]
    m = release.manifest(channel="national/x")
    assert verify_manifest_with(m.sign(c.national), root, last_of, NOW).is_new
    assert asked == [CHANNEL, "national/x"]
