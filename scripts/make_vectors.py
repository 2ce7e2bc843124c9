#!/usr/bin/env python3
"""Generate, or check, the signed-document test vectors in manifest/vectors/ (see FORMAT.md).

    .venv/bin/python scripts/make_vectors.py           # regenerate, then check every vector
    .venv/bin/python scripts/make_vectors.py --check   # only check the stored vectors

Every key is derived from a fixed 32-byte seed and every timestamp is fixed, and Ed25519 signs
deterministically, so a run reproduces the same documents - except the torrents: libtorrent
stamps a creation date into them, so their bytes (and the signatures over them) change from run
to run. The stored files are therefore the reference, and `--check` verifies each vector's
expected outcome, not byte equality.

The expected outcomes are written by hand below; generation fails if the code disagrees.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import msgpack
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import keys
import manifest
from keys import (
    CLOCK_SKEW_S,
    MAX_ROOT_BYTES,
    MAX_ROOT_CHAIN,
    Envelope,
    Root,
    SigningKey,
    TrustError,
    encode,
    load_trust,
)
from manifest import (
    MAX_BODY_BYTES,
    MAX_ENVELOPE_BYTES,
    MAX_FILES,
    FileEntry,
    Kind,
    Manifest,
    SeederEndpoint,
    make_files,
    torrent_name_for,
    verify_manifest,
)
from p2pdist._libtorrent import lt
from p2pdist.torrent import create_hybrid_torrent, torrent_files

VECTORS_DIR = Path(__file__).resolve().parent.parent / "manifest" / "vectors"
MAX_FILE_BYTES = 100 * 1024
MAX_TOTAL_BYTES = 300 * 1024

# --- Fixed inputs ------------------------------------------------------------------------------

KEY_NAMES = (
    "root1", "root2", "root3", "root4", "national", "hunan1", "hunan2", "hunan3", "outsider",
)


def seed_of(name: str) -> bytes:
    """The 32-byte Ed25519 seed (RFC 8032 private key) of test key `name`."""
    return hashlib.sha256(f"p2pdist test vector key {name}".encode()).digest()


K: dict[str, SigningKey] = {
    n: SigningKey(Ed25519PrivateKey.from_private_bytes(seed_of(n))) for n in KEY_NAMES
}

DAY = 86_400
NOW = 1_800_000_000
"""2027-01-15 08:00:00 UTC: the box clock of most vectors."""
ROOT1_CREATED = NOW - 100 * DAY
ROOT1_EXPIRES = NOW + 100 * DAY
ROOT2_CREATED = NOW - 10 * DAY
ROOT2_EXPIRES = NOW + 400 * DAY
LATE = ROOT1_EXPIRES + 30 * DAY
"""A clock at which root v1 has expired and root v2 has not."""
M_CREATED = NOW - DAY
M_EXPIRES = NOW + 30 * DAY

CHANNEL = "province/hunan/winter"
VERSION = 3
TITLE = "湖南 冬季 2027"
SEEDERS = (SeederEndpoint("http://seed.example:8080/feed", "seed.example:6881"),)


def _content(label: str, size: int) -> bytes:
    block = hashlib.sha256(label.encode()).digest()
    return (block * (size // 32 + 1))[:size]


FILM = "电影/过年好.mp4"
LESSON = "课程/第一课 开学.mp4"
HANDBOOK = "handbook.pdf"
EMPTY = "说明/空.txt"
EXTRA = "电影/多余.mp4"
RELEASE_FILES: dict[str, bytes] = {
    HANDBOOK: _content("handbook", 1_000),
    FILM: _content("film", 40_000),
    LESSON: _content("lesson", 20_000),
    EMPTY: b"",
}
CATALOG: dict[str, tuple[Kind, tuple[str, ...], str, int]] = {
    HANDBOOK: (Kind.HANDBOOK, ("春节",), "过年手册", 0),
    FILM: (Kind.FILM, ("春节", "喜剧"), "过年好", 5_400),
    LESSON: (Kind.COURSE, ("开学",), "第一课 开学", 2_700),
    EMPTY: (Kind.OTHER, (), "空", 0),
}


# --- Builders ----------------------------------------------------------------------------------


def sign(body: bytes, *names: str) -> bytes:
    env = Envelope(body)
    for n in names:
        env = env.sign(K[n])
    return env.encode()


def envelope(signed: Any, sigs: Sequence[tuple[str, bytes]], **extra: Any) -> bytes:
    """An envelope written field by field (for envelopes `Envelope` refuses to build)."""
    return encode(
        {"signed": signed, "signatures": [{"keyid": k, "sig": s} for k, s in sigs], **extra}
    )


def sig_of(body: bytes, name: str) -> tuple[str, bytes]:
    return K[name].keyid, K[name].sign(body)


def corrupt(sig: tuple[str, bytes]) -> tuple[str, bytes]:
    """The same signature with one bit of R flipped: well-formed, but it does not verify."""
    kid, s = sig
    return kid, bytes([s[0] ^ 1]) + s[1:]


def raw_map(pairs: Sequence[tuple[Any, Any]]) -> bytes:
    """A msgpack map written pair by pair, so it can hold a key twice."""
    packer = msgpack.Packer(use_bin_type=True)
    out: bytes = packer.pack_map_header(len(pairs))
    for k, v in pairs:
        out += packer.pack(k) + packer.pack(v)
    return out


def obj_of(body: bytes) -> dict[Any, Any]:
    out = msgpack.unpackb(body, raw=False, strict_map_key=False)
    assert isinstance(out, dict)
    return out


def root_of(
    version: int,
    created: int,
    expires: int,
    root_keys: Sequence[str],
    threshold: int,
    hunan: Sequence[str],
) -> Root:
    return Root.new(
        version=version,
        created=created,
        expires=expires,
        root_keys=[K[n].public for n in root_keys],
        root_threshold=threshold,
        release_roles=[
            ("national", [K["national"].public], 1, ["national/"]),
            ("hunan", [K[n].public for n in hunan], 2, ["province/hunan/"]),
        ],
    )


ROOT_V1 = root_of(1, ROOT1_CREATED, ROOT1_EXPIRES, ["root1", "root2"], 2, ["hunan1", "hunan2"])
ROOT_V2 = root_of(2, ROOT2_CREATED, ROOT2_EXPIRES, ["root3", "root4"], 2, ["hunan1", "hunan3"])
ROOT_V3 = root_of(3, ROOT2_CREATED, ROOT2_EXPIRES, ["root3", "root4"], 2, ["hunan1", "hunan3"])


class ReleaseBuilder:
    """The release folder on disk and the torrents and manifests built from it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for rel, data in {**RELEASE_FILES, EXTRA: _content("extra", 3_000)}.items():
            p = folder / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        self.listing = [(p, len(d)) for p, d in sorted(RELEASE_FILES.items())]
        self._torrents: dict[tuple[str, int, bool], bytes] = {}
        _, tfiles = torrent_files(self.torrent("entries"))
        roots = {t.path: t.merkle_root for t in tfiles}
        self.entries = make_files(
            [
                FileEntry(path, len(data), hashlib.sha256(data).digest(),
                          roots.get(path, bytes(32)), *CATALOG[path])
                for path, data in RELEASE_FILES.items()
            ]
        )

    def torrent(self, name: str, flags: int = 0, extra: bool = False) -> bytes:
        """A torrent of the release named `name` (hybrid unless `flags` says v1_only/v2_only)."""
        if (name, flags, extra) not in self._torrents:
            listing = sorted([*self.listing, (EXTRA, 3_000)]) if extra else self.listing
            if flags == 0:
                t = create_hybrid_torrent(self.folder, name, listing)
            else:
                t = _lt_torrent(self.folder, name, listing, flags)
            self._torrents[(name, flags, extra)] = t
        return self._torrents[(name, flags, extra)]

    def manifest(self, channel: str = CHANNEL, version: int = VERSION, **changes: Any) -> Manifest:
        m = Manifest(
            channel=channel,
            version=version,
            created=M_CREATED,
            expires=M_EXPIRES,
            title=TITLE,
            files=self.entries,
            torrent=self.torrent(torrent_name_for(channel, version)),
            seeders=SEEDERS,
        )
        return replace(m, **changes)

    def body(self, **changes: Any) -> bytes:
        return self.manifest(**changes).encode_body()

    def body_with(self, edit: Callable[[dict[Any, Any]], None]) -> bytes:
        """The valid body, decoded, edited in place by `edit` and re-encoded."""
        obj = obj_of(self.body())
        edit(obj)
        return msgpack.packb(obj, use_bin_type=True)  # type: ignore[no-any-return]

    def file_obj(self, path: str, size: int = 0, root: bytes = bytes(32)) -> dict[str, Any]:
        return FileEntry(path, size, hashlib.sha256(b"").digest(), root, Kind.OTHER, (), "",
                         0).to_obj()


def _lt_torrent(folder: Path, name: str, files: Sequence[tuple[str, int]], flags: int) -> bytes:
    entries = [lt.create_file_entry(f"{name}/{p}", size) for p, size in files]
    ct = lt.create_torrent(entries, 0, flags)
    with tempfile.TemporaryDirectory(prefix="p2pdist-vectors-") as parent:
        (Path(parent) / name).symlink_to(folder.resolve(), target_is_directory=True)
        lt.set_piece_hashes(ct, parent)
    return bytes(lt.bencode(ct.generate()))


# --- The vectors -------------------------------------------------------------------------------

Doc = str | dict[str, Any]
"""A document input: a file name in the vectors folder, or a recipe (see RECIPES)."""

RECIPES = {
    "pad": "the bytes of file `base`, followed by zero bytes up to `size` bytes in all",
    "unsigned_envelope": (
        "the envelope {\"signed\": <bin of `body_size` zero bytes>, \"signatures\": []} "
        "(msgpack: map of 2, bin 32 for `signed`, empty array)"
    ),
}


@dataclass
class Vector:
    name: str
    description: str
    root: list[Doc]
    expect: str
    now: int = NOW
    manifest: Doc | None = None
    last_version: int | None = None
    result: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": "manifest" if self.manifest else "root",
                               "description": self.description}
        if self.manifest is not None:
            out["manifest"] = self.manifest
        out["root"] = self.root
        if self.manifest is not None:
            out["last_version"] = self.last_version
        out["now"] = self.now
        out["expect"] = self.expect
        if self.result is not None:
            out["result"] = self.result
        return out


def build(folder: Path) -> tuple[dict[str, bytes], list[Vector]]:
    """Every stored file (name -> bytes) and every vector."""
    files: dict[str, bytes] = {}
    vectors: list[Vector] = []
    rb = ReleaseBuilder(folder)
    v1, v2 = "root.v1.bin", "root.v2.bin"

    def put(name: str, data: bytes) -> str:
        assert name not in files, name
        files[name] = data
        return name

    # Roots.
    r1_body, r2_body, r3_body = ROOT_V1.encode_body(), ROOT_V2.encode_body(), ROOT_V3.encode_body()
    put(v1, sign(r1_body, "root1", "root2"))
    put(v2, sign(r2_body, "root1", "root2", "root3", "root4"))

    def root_vec(name: str, desc: str, chain: list[Doc], expect: str, now: int = NOW) -> None:
        result = None
        if expect.startswith("ok:"):
            result = {"version": int(expect[3:])}
            expect = "ok"
        vectors.append(Vector(name, desc, chain, expect, now=now, result=result))

    root_vec("root.v1", "pinned root v1 (root keys root1+root2, threshold 2), fresh",
             [v1], "ok:1")
    root_vec("root.rotation", "v1 -> v2: v2 signed by v1's root keys and by its own (root3+root4)",
             [v1, v2], "ok:2")
    root_vec("root.intermediate-expired",
             "v1 -> v2 at a time when v1 has expired: only the final root must be fresh",
             [v1, v2], "ok:2", now=LATE)
    root_vec("root.expired", "pinned v1 alone, past its expiry + skew", [v1], "ExpiredError",
             now=LATE)
    root_vec("root.skew-ok", f"pinned v1 at exactly expires + {CLOCK_SKEW_S} s: still fresh",
             [v1], "ok:1", now=ROOT1_EXPIRES + CLOCK_SKEW_S)
    root_vec("root.skew-expired", f"pinned v1 at expires + {CLOCK_SKEW_S + 1} s: expired",
             [v1], "ExpiredError", now=ROOT1_EXPIRES + CLOCK_SKEW_S + 1)
    root_vec("root.final-expired", "v1 -> v2 after v2 has expired too", [v1, v2],
             "ExpiredError", now=ROOT2_EXPIRES + CLOCK_SKEW_S + 1)
    f = put("root.v2.no-old-sigs.bin", sign(r2_body, "root3", "root4"))
    root_vec("root.rotation-no-old-sigs",
             "v2 signed only by its own root keys: no signature by any v1 root key",
             [v1, f], "KeyNotInRoleError")
    f = put("root.v2.old-below-threshold.bin", sign(r2_body, "root1", "root3", "root4"))
    root_vec("root.rotation-old-threshold",
             "v2 signed by 1 of v1's 2 required root keys (and both of its own)",
             [v1, f], "ThresholdError")
    f = put("root.v2.no-own-sigs.bin", sign(r2_body, "root1", "root2"))
    root_vec("root.rotation-no-own-sigs",
             "v2 signed only by v1's root keys: none of its own root keys vouch for it",
             [v1, f], "KeyNotInRoleError")
    f = put("root.v2.own-below-threshold.bin", sign(r2_body, "root1", "root2", "root3"))
    root_vec("root.rotation-own-threshold",
             "v2 signed by both v1 root keys but only 1 of its own 2 required",
             [v1, f], "ThresholdError")
    tampered = obj_of(r2_body)
    tampered["expires"] += 1
    f = put("root.v2.tampered.bin", envelope(
        encode(tampered), [sig_of(r2_body, n) for n in ("root1", "root2", "root3", "root4")]))
    root_vec("root.rotation-tampered",
             "v2 body changed after signing: no signature verifies", [v1, f],
             "BadSignatureError")
    f = put("root.v3.bin", sign(r3_body, "root3", "root4"))
    root_vec("root.version-gap", "v1 -> v3 (signed by v2's and its own keys): v1's keys never "
             "vouched for it, checked before decoding", [v1, f], "KeyNotInRoleError")
    root_vec("root.chain-rotation-v3", "v1 -> v2 -> v3", [v1, v2, f], "ok:3")
    root_vec("root.version-repeat", "v1 -> v1: the next root must be exactly version 2",
             [v1, v1], "RootChainError")
    root_vec("root.chain-too-long",
             f"pinned v1 then {MAX_ROOT_CHAIN + 1} newer roots: refused before any is read",
             [v1] + [v2] * (MAX_ROOT_CHAIN + 1), "RootChainError")
    f = put("root.v1.unsigned.bin", Envelope(r1_body).encode())
    root_vec("root.unsigned", "pinned root with an empty signature list", [f],
             "MissingSignatureError")
    f = put("root.v1.bad-sigs.bin", envelope(
        r1_body, [corrupt(sig_of(r1_body, "root1")), corrupt(sig_of(r1_body, "root2"))]))
    root_vec("root.bad-signature", "pinned root whose two signatures do not verify", [f],
             "BadSignatureError")
    f = put("root.v1.one-sig.bin", sign(r1_body, "root1"))
    root_vec("root.threshold", "pinned root signed by 1 of its 2 required root keys", [f],
             "ThresholdError")
    f = put("root.v1.outsider.bin", sign(r1_body, "outsider"))
    root_vec("root.foreign-key", "pinned root signed only by a key it does not list as root key",
             [f], "KeyNotInRoleError")
    f = put("root.v1.release-key.bin", sign(r1_body, "national"))
    root_vec("root.release-key", "pinned root signed by a release key (not a root key)", [f],
             "KeyNotInRoleError")

    def root_variant(edit: Callable[[dict[str, Any]], None]) -> bytes:
        obj = obj_of(r1_body)
        edit(obj)
        body = encode(obj)
        return sign(body, "root1", "root2")

    f = put("root.v1.format2.bin", root_variant(lambda o: o.update(format=2)))
    root_vec("root.unknown-format", "root body with format 2", [f], "UnknownFormatError")
    f = put("root.v1.threshold-too-high.bin",
            root_variant(lambda o: o["root"].update(threshold=3)))
    root_vec("root.malformed-threshold", "root threshold 3 with only 2 root keys", [f],
             "MalformedError")

    def bad_keyid(o: dict[str, Any]) -> None:
        o["keys"][0]["ed25519"] = K["outsider"].public.raw

    f = put("root.v1.keyid-mismatch.bin", root_variant(bad_keyid))
    root_vec("root.keyid-mismatch", "a root.keys entry whose keyid is not SHA-256 of its key",
             [f], "MalformedError")

    def slash_prefix(o: dict[str, Any]) -> None:
        o["release_roles"][0]["channels"] = ["national/"]

    f = put("root.v1.prefix-slash.bin", root_variant(slash_prefix))
    root_vec("root.channel-prefix-trailing-slash",
             "a role channel written 'national/' (stored prefixes have no trailing '/')", [f],
             "MalformedError")
    f = put("root.v1.type-manifest.bin",
            root_variant(lambda o: o.update(type="p2pdist/manifest")))
    root_vec("root.wrong-type", "root body whose type is 'p2pdist/manifest'", [f],
             "MalformedError")
    f = put("root.v1.expires-before-created.bin",
            root_variant(lambda o: o.update(expires=ROOT1_CREATED)))
    root_vec("root.expires-not-after-created", "root expires == created", [f], "MalformedError")
    f = put("root.v1.trailing.bin", files[v1] + b"\xc0")
    root_vec("root.trailing-bytes", "root envelope followed by one extra byte (nil)", [f],
             "TrailingBytesError")
    root_vec("root.too-large", f"root envelope of {MAX_ROOT_BYTES + 1} bytes (generated)",
             [{"recipe": "pad", "base": v1, "size": MAX_ROOT_BYTES + 1}], "SizeLimitError")

    # Manifests.
    valid_body = rb.body()
    valid = put("manifest.valid.bin", sign(valid_body, "hunan1", "hunan2"))
    ok = {"channel": CHANNEL, "version": VERSION, "role": "hunan"}

    def man(name: str, desc: str, doc: Doc, expect: str, *, chain: list[Doc] | None = None,
            last: int | None = None, now: int = NOW, result: dict[str, Any] | None = None
            ) -> None:
        vectors.append(Vector(name, desc, [v1] if chain is None else chain,
                              "ok" if result else expect, now=now, manifest=doc,
                              last_version=last, result=result))

    def man_file(name: str, desc: str, data: bytes, expect: str, **kw: Any) -> None:
        man(name, desc, put(f"{name}.bin", data), expect, **kw)

    man("manifest.valid", f"{CHANNEL} v{VERSION} signed by hunan1+hunan2 (threshold 2)", valid,
        "ok", result={**ok, "is_new": True})
    man("manifest.newer", "the same, last trusted version 2", valid, "ok", last=2,
        result={**ok, "is_new": True})
    man("manifest.already-have", "the same, last trusted version 3: a no-op", valid, "ok",
        last=3, result={**ok, "is_new": False})
    man("manifest.rollback", "the same, last trusted version 4", valid, "RollbackError", last=4)
    man("manifest.skew-ok", f"the same at expires + {CLOCK_SKEW_S} s", valid, "ok",
        now=M_EXPIRES + CLOCK_SKEW_S, result={**ok, "is_new": True})
    man("manifest.expired", f"the same at expires + {CLOCK_SKEW_S + 1} s", valid,
        "ExpiredError", now=M_EXPIRES + CLOCK_SKEW_S + 1)
    man("manifest.revoked-key", "signed by hunan1+hunan2, but root v2 replaced hunan2 by hunan3",
        valid, "ThresholdError", chain=[v1, v2])
    man_file("manifest.rotated", "signed by hunan1+hunan3, verified with root v1 -> v2",
             sign(valid_body, "hunan1", "hunan3"), "ok", chain=[v1, v2],
             result={**ok, "is_new": True})
    man("manifest.rotated-without-chain",
        "signed by hunan1+hunan3, verified with root v1 only (hunan3 unknown)",
        "manifest.rotated.bin", "ThresholdError")
    man_file("manifest.national", "channel 'national' v1 signed by the national key",
             sign(rb.body(channel="national", version=1), "national"), "ok",
             result={"channel": "national", "version": 1, "role": "national", "is_new": True})
    sub = "national/primary/grade-1"
    man_file("manifest.national-subchannel", f"channel '{sub}' under prefix 'national'",
             sign(rb.body(channel=sub, version=1), "national"), "ok",
             result={"channel": sub, "version": 1, "role": "national", "is_new": True})
    man_file("manifest.extra-unknown-signature",
             "hunan1+hunan2 plus a signature by a key the root does not list (ignored)",
             sign(valid_body, "hunan1", "hunan2", "outsider"), "ok",
             result={**ok, "is_new": True})
    man_file("manifest.extra-bad-signature",
             "hunan1+hunan2 plus a non-verifying signature by national (ignored)",
             envelope(valid_body, [sig_of(valid_body, "hunan1"), sig_of(valid_body, "hunan2"),
                                   corrupt(sig_of(valid_body, "national"))]),
             "ok", result={**ok, "is_new": True})

    # Signatures and delegation.
    man_file("manifest.unsigned", "valid body, empty signature list", Envelope(valid_body).encode(),
             "MissingSignatureError")
    man_file("manifest.bad-signature", "both signatures have a flipped bit",
             envelope(valid_body, [corrupt(sig_of(valid_body, n)) for n in ("hunan1", "hunan2")]),
             "BadSignatureError")
    tampered_body = rb.body(title=TITLE + "!")
    man_file("manifest.tampered", "title changed after hunan1+hunan2 signed",
             envelope(tampered_body, [sig_of(valid_body, n) for n in ("hunan1", "hunan2")]),
             "BadSignatureError")
    man_file("manifest.outsider", "signed only by a key the root does not list",
             sign(valid_body, "outsider"), "KeyNotInRoleError")
    man_file("manifest.root-key", "signed by both root keys (root keys are not release keys)",
             sign(valid_body, "root1", "root2"), "KeyNotInRoleError")
    man_file("manifest.threshold", "signed by hunan1 only (the hunan role needs 2)",
             sign(valid_body, "hunan1"), "ThresholdError")
    man_file("manifest.threshold-duplicate", "hunan1's signature listed twice (counts once)",
             envelope(valid_body, [sig_of(valid_body, "hunan1")] * 2), "ThresholdError")
    man_file("manifest.threshold-one-bad",
             "hunan1 valid, hunan2 does not verify: 1 of 2 (not BadSignatureError)",
             envelope(valid_body, [sig_of(valid_body, "hunan1"),
                                   corrupt(sig_of(valid_body, "hunan2"))]),
             "ThresholdError")
    man_file("manifest.channel-not-allowed", f"{CHANNEL} signed by the national key",
             sign(valid_body, "national"), "ChannelNotAllowedError")
    man_file("manifest.channel-segment-boundary",
             "channel 'province/hunanese' is not under prefix 'province/hunan'",
             sign(rb.body(channel="province/hunanese"), "hunan1", "hunan2"),
             "ChannelNotAllowedError")
    man_file("manifest.channel-parent", "channel 'province' is above prefix 'province/hunan'",
             sign(rb.body(channel="province"), "hunan1", "hunan2"), "ChannelNotAllowedError")

    # Envelope encoding.
    man_file("manifest.trailing-bytes", "valid envelope followed by one byte (nil)",
             files[valid] + b"\xc0", "TrailingBytesError")
    man_file("manifest.body-trailing-bytes", "signed body followed by one byte (nil), signed",
             sign(valid_body + b"\xc0", "hunan1", "hunan2"), "TrailingBytesError")
    man_file("manifest.truncated", "valid envelope without its last byte", files[valid][:-1],
             "MalformedError")
    man_file("manifest.envelope-not-map", "envelope is an array",
             encode([valid_body, []]), "MalformedError")
    man_file("manifest.envelope-signed-str", "envelope 'signed' is a str, not bin",
             envelope("x", []), "MalformedError")
    man_file("manifest.envelope-unknown-field", "envelope with an extra 'comment' field",
             envelope(valid_body, [sig_of(valid_body, n) for n in ("hunan1", "hunan2")],
                      comment="hi"), "MalformedError")
    man_file("manifest.envelope-duplicate-key", "envelope map holds 'signatures' twice",
             raw_map([("signed", valid_body), ("signatures", []),
                      ("signatures", [{"keyid": k, "sig": s} for k, s in
                                      (sig_of(valid_body, "hunan1"),
                                       sig_of(valid_body, "hunan2"))])]),
             "MalformedError")
    man_file("manifest.envelope-sig-63-bytes", "a signature of 63 bytes",
             envelope(valid_body, [(K["hunan1"].keyid, bytes(63))]), "MalformedError")
    man_file("manifest.envelope-keyid-65", "a keyid of 65 characters",
             envelope(valid_body, [(K["hunan1"].keyid + "0", bytes(64))]), "MalformedError")
    man_file("manifest.envelope-33-signatures", "33 signature entries (the limit is 32)",
             envelope(valid_body, [(f"{i:064x}", bytes(64)) for i in range(33)]),
             "MalformedError")
    man("manifest.envelope-too-large",
        f"envelope of {MAX_ENVELOPE_BYTES + 1} bytes (generated): refused before decoding",
        {"recipe": "pad", "base": valid, "size": MAX_ENVELOPE_BYTES + 1}, "SizeLimitError")
    man("manifest.body-too-large",
        f"envelope whose 'signed' is {MAX_BODY_BYTES + 1} bytes (generated)",
        {"recipe": "unsigned_envelope", "body_size": MAX_BODY_BYTES + 1}, "SizeLimitError")

    # Body encoding and fields (all signed by hunan1+hunan2, so they pass the signature step).
    def body_vec(name: str, desc: str, body: bytes, expect: str) -> None:
        man_file(name, desc, sign(body, "hunan1", "hunan2"), expect)

    def edited(edit: Callable[[dict[Any, Any]], None]) -> bytes:
        return rb.body_with(edit)

    body_vec("manifest.unknown-format", "format 2", edited(lambda o: o.update(format=2)),
             "UnknownFormatError")
    body_vec("manifest.wrong-type", "type 'p2pdist/root'",
             edited(lambda o: o.update(type="p2pdist/root")), "MalformedError")
    pairs = list(obj_of(valid_body).items())
    body_vec("manifest.duplicate-key", "body map holds 'version' twice (3, then 4)",
             raw_map([*pairs, ("version", 4)]), "MalformedError")
    body_vec("manifest.int-map-key", "body map with an integer key",
             raw_map([*pairs, (1, "x")]), "MalformedError")
    body_vec("manifest.ext-type", "title is msgpack extension type 5",
             edited(lambda o: o.update(title=msgpack.ExtType(5, b"x"))), "MalformedError")
    body_vec("manifest.timestamp-ext", "created is a msgpack timestamp (extension -1)",
             edited(lambda o: o.update(created=msgpack.Timestamp(M_CREATED))), "MalformedError")
    body_vec("manifest.bool-as-int", "version is true (bool is not an integer)",
             edited(lambda o: o.update(version=True)), "MalformedError")
    body_vec("manifest.version-str", "version is the string '3'",
             edited(lambda o: o.update(version="3")), "MalformedError")
    body_vec("manifest.float", "created is a float",
             edited(lambda o: o.update(created=float(M_CREATED))), "MalformedError")
    body_vec("manifest.negative", "created is -1", edited(lambda o: o.update(created=-1)),
             "MalformedError")
    body_vec("manifest.version-zero", "version 0 (versions start at 1)",
             edited(lambda o: o.update(version=0)), "MalformedError")
    body_vec("manifest.uint64", "expires is 2**64 - 1 (above 2**63 - 1)",
             edited(lambda o: o.update(expires=2**64 - 1)), "MalformedError")
    body_vec("manifest.missing-field", "no 'seeders' field", edited(lambda o: o.pop("seeders")),
             "MalformedError")
    body_vec("manifest.unknown-field", "an extra top-level field 'note'",
             edited(lambda o: o.update(note="x")), "MalformedError")
    body_vec("manifest.expires-not-after-created", "expires == created",
             edited(lambda o: o.update(expires=M_CREATED)), "MalformedError")
    body_vec("manifest.no-files", "an empty file list", edited(lambda o: o.update(files=[])),
             "MalformedError")
    body_vec("manifest.bad-channel", "channel 'Province/Hunan' (uppercase)",
             edited(lambda o: o.update(channel="Province/Hunan")), "MalformedError")
    body_vec("manifest.bad-kind", "a file of kind 'movie'",
             edited(lambda o: o["files"][0].update(kind="movie")), "MalformedError")
    body_vec("manifest.duplicate-theme", "a file listing theme '春节' twice",
             edited(lambda o: o["files"][0].update(themes=["春节", "春节"])), "MalformedError")
    body_vec("manifest.short-sha256", "a sha256 of 31 bytes",
             edited(lambda o: o["files"][0].update(sha256=bytes(31))), "MalformedError")
    body_vec("manifest.file-too-big", "a file size of 2**44 + 1",
             edited(lambda o: o["files"][0].update(size=2**44 + 1)), "MalformedError")
    body_vec("manifest.file-unknown-field", "a file entry with an extra field 'mime'",
             edited(lambda o: o["files"][0].update(mime="x")), "MalformedError")
    body_vec("manifest.too-many-files",
             f"{MAX_FILES + 1} file entries (each the integer 0): counted before entries are read",
             edited(lambda o: o.update(files=[0] * (MAX_FILES + 1))), "TooManyFilesError")

    # Paths: the handbook's path replaced (or a second entry added), all else valid.
    def with_path(path: str) -> bytes:
        return edited(lambda o: o["files"][0].update(path=path))

    def with_extra(path: str) -> bytes:
        return edited(lambda o: o["files"].append(rb.file_obj(path)))

    bad_paths = [
        ("empty", "", "the empty path"),
        ("absolute", "/etc/passwd", "absolute path"),
        ("dotdot", "电影/../../etc/passwd", "a '..' segment"),
        ("dot", "./handbook.pdf", "a '.' segment"),
        ("empty-segment", "电影//handbook.pdf", "an empty segment"),
        ("trailing-slash", "电影/", "a trailing '/' (empty last segment)"),
        ("backslash", "电影\\handbook.pdf", "a backslash"),
        ("control", "hand\nbook.pdf", "a control character (U+000A)"),
        ("line-separator", "hand\u2028book.pdf", "U+2028 LINE SEPARATOR (category Zl)"),
        ("fat-char", "handbook?.pdf", "'?', which FAT/exFAT cannot store"),
        ("not-nfc", "cafe\u0301.pdf", "not NFC (e + U+0301 instead of U+00E9)"),
        ("leading-dot", ".pad/0", "a segment starting with '.'"),
        ("trailing-dot", "电影./handbook.pdf", "a segment ending in '.'"),
        ("trailing-space", "handbook.pdf ", "a segment ending in a space"),
        ("segment-256-bytes", "电" * 84 + ".pdf", "a segment of 256 UTF-8 bytes (> 255)"),
        ("too-deep", "a/" * 16 + "handbook.pdf", "17 segments (> 16)"),
    ]
    for tag, path, what in bad_paths:
        body_vec(f"manifest.path-{tag}", f"a file path with {what}", with_path(path),
                 "BadPathError")
    body_vec("manifest.path-too-long",
             "a path of 1025 characters: the field length check (MalformedError) comes first",
             with_path("a" * 1025), "MalformedError")
    body_vec("manifest.path-duplicate", f"'{HANDBOOK}' listed twice", with_extra(HANDBOOK),
             "PathCollisionError")
    body_vec("manifest.path-casefold", "'Handbook.PDF' next to 'handbook.pdf'",
             with_extra("Handbook.PDF"), "PathCollisionError")
    body_vec("manifest.path-casefold-sharp-s", "'STRASSE.pdf' next to 'straße.pdf' (full folding)",
             edited(lambda o: o["files"].extend([rb.file_obj("straße.pdf"),
                                                 rb.file_obj("STRASSE.pdf")])),
             "PathCollisionError")
    body_vec("manifest.path-file-and-folder", f"'说明' (a file) and '{EMPTY}' (inside it)",
             with_extra("说明"), "PathCollisionError")

    # The torrent against the file list.
    def torrent_vec(name: str, desc: str, body: bytes) -> None:
        body_vec(name, desc, body, "TorrentMismatchError")

    name = torrent_name_for(CHANNEL, VERSION)
    torrent_vec("manifest.torrent-wrong-name", "v3 manifest carrying the same files' torrent of v2",
                rb.body(torrent=rb.torrent(torrent_name_for(CHANNEL, 2))))
    torrent_vec("manifest.torrent-v1-only", "a v1-only torrent of the files",
                rb.body(torrent=rb.torrent(name, lt.create_torrent.v1_only)))
    torrent_vec("manifest.torrent-v2-only", "a v2-only torrent of the files",
                rb.body(torrent=rb.torrent(name, lt.create_torrent.v2_only)))
    torrent_vec("manifest.torrent-extra-file", f"the torrent also carries '{EXTRA}'",
                rb.body(torrent=rb.torrent(name, extra=True)))
    torrent_vec("manifest.torrent-missing-file",
                "the manifest also lists '说明/新.txt' (empty), which the torrent lacks",
                with_extra("说明/新.txt"))
    torrent_vec("manifest.torrent-size", f"the manifest says '{HANDBOOK}' has 1001 bytes",
                edited(lambda o: o["files"][0].update(size=1001)))
    torrent_vec("manifest.torrent-merkle-root", f"'{HANDBOOK}' merkle root with a flipped bit",
                edited(lambda o: o["files"][0].update(
                    merkle_root=bytes([o["files"][0]["merkle_root"][0] ^ 1])
                    + o["files"][0]["merkle_root"][1:])))
    empty_i = [e.path for e in rb.entries].index(EMPTY)
    torrent_vec("manifest.torrent-empty-file-root",
                f"'{EMPTY}' (0 bytes) with merkle root 0x01 * 32 instead of 32 zero bytes",
                edited(lambda o: o["files"][empty_i].update(merkle_root=b"\x01" * 32)))
    torrent_vec("manifest.torrent-not-bencode", "torrent is b'not a torrent'",
                rb.body(torrent=b"not a torrent"))
    return files, vectors


# --- Running vectors ---------------------------------------------------------------------------


def load_doc(folder: Path, doc: Doc) -> bytes:
    """The bytes of a document input: a stored file or a recipe (see RECIPES)."""
    if isinstance(doc, str):
        return (folder / doc).read_bytes()
    if doc["recipe"] == "pad":
        base = (folder / doc["base"]).read_bytes()
        return base + bytes(doc["size"] - len(base))
    if doc["recipe"] == "unsigned_envelope":
        return encode({"signed": bytes(doc["body_size"]), "signatures": []})
    raise ValueError(f"unknown recipe {doc['recipe']!r}")


def run_vector(folder: Path, v: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """("ok", result) or (error class name, None)."""
    chain = [load_doc(folder, d) for d in v["root"]]
    try:
        root = load_trust(chain[0], chain[1:], v["now"])
        if v["kind"] == "root":
            return "ok", {"version": root.version}
        rel = verify_manifest(load_doc(folder, v["manifest"]), root, v["last_version"], v["now"])
    except TrustError as e:
        return type(e).__name__, None
    m = rel.manifest
    return "ok", {"channel": m.channel, "version": m.version, "role": rel.role,
                  "is_new": rel.is_new}


def trust_error_names() -> set[str]:
    """Every TrustError subclass exported by `keys` and `manifest` (TrustError itself aside)."""
    out = set()
    for mod in (keys, manifest):
        for n in mod.__all__:
            obj = getattr(mod, n)
            if isinstance(obj, type) and issubclass(obj, TrustError) and obj is not TrustError:
                out.add(n)
    return out


def check(folder: Path) -> list[str]:
    """Problems with the stored vectors (empty when all agree with the code)."""
    index = json.loads((folder / "vectors.json").read_text(encoding="utf-8"))
    problems = []
    for v in index["vectors"]:
        got, result = run_vector(folder, v)
        if got != v["expect"] or (got == "ok" and result != v["result"]):
            problems.append(f"{v['name']}: expected {v['expect']} {v.get('result') or ''}, "
                            f"got {got} {result or ''}")
    missing = trust_error_names() - {v["expect"] for v in index["vectors"]}
    if missing:
        problems.append(f"no vector expects {', '.join(sorted(missing))}")
    sizes = {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}
    problems += [f"{n} is {s} bytes (> {MAX_FILE_BYTES})" for n, s in sizes.items()
                 if s > MAX_FILE_BYTES]
    if sum(sizes.values()) > MAX_TOTAL_BYTES:
        problems.append(f"the vectors take {sum(sizes.values())} bytes (> {MAX_TOTAL_BYTES})")
    return problems


def keys_json() -> dict[str, Any]:
    return {
        "warning": "TEST KEYS ONLY. The seeds are public: never trust these keys for anything.",
        "derivation": "seed = SHA-256(UTF-8 'p2pdist test vector key ' + name); the Ed25519 "
                      "private key is the seed (RFC 8032); keyid = hex SHA-256 of the 32-byte "
                      "public key",
        "keys": [
            {"name": n, "seed": seed_of(n).hex(), "public": K[n].public.raw.hex(),
             "keyid": K[n].keyid}
            for n in KEY_NAMES
        ],
    }


def index_json(vectors: list[Vector]) -> dict[str, Any]:
    return {
        "about": (
            "Test vectors for the p2pdist trust root and release manifest formats "
            "(manifest/FORMAT.md). For each vector: walk the trust roots in `root` (the first "
            "is the pinned root, the rest are newer roots in chain order) at clock `now` "
            "(Unix seconds); for kind 'manifest', then verify `manifest` against the resulting "
            "root with `last_version` (null: none trusted yet for the channel). `expect` is "
            "'ok' (with `result`) or the name of the error class raised. A document input is "
            "a file name in this folder or a recipe object (see `recipes`). Torrent bytes "
            "embed a creation date, so regenerating changes the files but not the outcomes."
        ),
        "keys": "keys.json (TEST KEYS ONLY)",
        "recipes": RECIPES,
        "vectors": [v.to_json() for v in vectors],
    }


def generate(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="p2pdist-vectors-") as tmp:
        files, vectors = build(Path(tmp) / "release")
    names = [v.name for v in vectors]
    assert len(set(names)) == len(names), "vector names repeat"
    for old in folder.glob("*.bin"):
        old.unlink()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "keys.json").write_text(
        json.dumps(keys_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "vectors.json").write_text(dump_index(index_json(vectors)), encoding="utf-8")


def dump_index(index: dict[str, Any]) -> str:
    """The index as JSON with one vector per line (readable, and small in diffs)."""
    head = {k: v for k, v in index.items() if k != "vectors"}
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2]
    rows = ",\n".join(json.dumps(v, ensure_ascii=False) for v in index["vectors"])
    return f'{text},\n "vectors": [\n{rows}\n ]\n}}\n'


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check the stored vectors")
    ap.add_argument("--dir", type=Path, default=VECTORS_DIR, help="the vectors folder")
    args = ap.parse_args(argv)
    if not args.check:
        generate(args.dir)
    problems = check(args.dir)
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        n = len(json.loads((args.dir / "vectors.json").read_text(encoding="utf-8"))["vectors"])
        print(f"{n} vectors in {args.dir}: every outcome as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
