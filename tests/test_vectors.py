"""The stored test vectors of manifest/vectors/ (FORMAT.md) give exactly their expected outcome.

Each vector walks a chain of trust roots with `keys.load_trust` and, for manifest vectors,
verifies the manifest with `manifest.verify_manifest`; the outcome is "ok" with a result, or the
exact class name of the error raised. Every `TrustError` subclass the packages export must be
expected by at least one vector, so a new rejection reason needs a vector (regenerate with
`scripts/make_vectors.py`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import keys
import manifest
from keys import TrustError, encode, load_trust
from manifest import verify_manifest

VECTORS = Path(__file__).resolve().parent.parent / "manifest" / "vectors"
INDEX: dict[str, Any] = json.loads((VECTORS / "vectors.json").read_text(encoding="utf-8"))

NOT_APPLICABLE: set[str] = set()
"""TrustError subclasses that cannot arise from a root chain or a manifest (none today)."""


def load_doc(doc: str | dict[str, Any]) -> bytes:
    """A document input: a stored file, or a recipe from the index's `recipes`."""
    if isinstance(doc, str):
        return (VECTORS / doc).read_bytes()
    if doc["recipe"] == "pad":
        base = (VECTORS / doc["base"]).read_bytes()
        assert doc["size"] > len(base)
        return base + bytes(doc["size"] - len(base))
    if doc["recipe"] == "unsigned_envelope":
        return encode({"signed": bytes(doc["body_size"]), "signatures": []})
    raise AssertionError(f"unknown recipe {doc['recipe']!r}")


def run(v: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    chain = [load_doc(d) for d in v["root"]]
    try:
        root = load_trust(chain[0], chain[1:], v["now"])
        if v["kind"] == "root":
            return "ok", {"version": root.version}
        rel = verify_manifest(load_doc(v["manifest"]), root, v["last_version"], v["now"])
    except TrustError as e:
        return type(e).__name__, None
    m = rel.manifest
    return "ok", {"channel": m.channel, "version": m.version, "role": rel.role,
                  "is_new": rel.is_new}


@pytest.mark.parametrize("v", INDEX["vectors"], ids=[v["name"] for v in INDEX["vectors"]])
def test_vector(v: dict[str, Any]) -> None:
    got, result = run(v)
    assert got == v["expect"], v["description"]
    if got == "ok":
        assert result == v["result"]


def _trust_errors() -> set[str]:
    out = set()
    for mod in (keys, manifest):
        for name in mod.__all__:
            obj = getattr(mod, name)
            if isinstance(obj, type) and issubclass(obj, TrustError) and obj is not TrustError:
                out.add(name)
    return out


def test_every_trust_error_has_a_vector() -> None:
    expected = {v["expect"] for v in INDEX["vectors"]}
    missing = _trust_errors() - NOT_APPLICABLE - expected
    assert not missing, f"no vector expects {sorted(missing)}: add one to scripts/make_vectors.py"
    assert expected - {"ok"} <= _trust_errors(), "a vector expects an unknown error class"


def test_index_is_well_formed() -> None:
    names = [v["name"] for v in INDEX["vectors"]]
    assert len(names) == len(set(names))
    for v in INDEX["vectors"]:
        assert v["kind"] in ("root", "manifest")
        assert v["root"], v["name"]
        assert (v["kind"] == "manifest") == ("manifest" in v), v["name"]
        assert (v["expect"] == "ok") == ("result" in v), v["name"]
        assert type(v["now"]) is int
    referenced = set()
    for v in INDEX["vectors"]:
        for d in [*v["root"], v.get("manifest")]:
            if isinstance(d, str):
                referenced.add(d)
            elif isinstance(d, dict) and "base" in d:
                referenced.add(d["base"])
    stored = {p.name for p in VECTORS.glob("*.bin")}
    assert referenced == stored, "every stored .bin is used, and every used one is stored"


def test_vectors_stay_small() -> None:
    sizes = {p.name: p.stat().st_size for p in VECTORS.iterdir() if p.is_file()}
    assert max(sizes.values()) <= 100 * 1024
    assert sum(sizes.values()) <= 300 * 1024


def test_test_keys_derive_from_their_seeds() -> None:
    data = json.loads((VECTORS / "keys.json").read_text(encoding="utf-8"))
    assert "TEST KEYS ONLY" in data["warning"]
    for k in data["keys"]:
        seed = bytes.fromhex(k["seed"])
        assert seed == hashlib.sha256(f"p2pdist test vector key {k['name']}".encode()).digest()
        public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        assert public.hex() == k["public"]
        assert keys.key_id(public) == k["keyid"] == hashlib.sha256(public).hexdigest()
