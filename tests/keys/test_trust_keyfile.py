"""Key files: generation, 0600 private files, passphrases, no overwrite, key ids."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keys import (
    KeyFileError,
    PublicKey,
    SigningKey,
    key_id,
    load_public_key,
    load_signing_key,
    save_keypair,
)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would make files world-readable if the code relied on it."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_generate_save_load_round_trip(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "release.key"
    pub_path = save_keypair(key, path)
    assert pub_path == tmp_path / "release.key.pub"
    loaded = load_signing_key(path)
    assert loaded.keyid == key.keyid
    assert loaded.public == key.public
    assert load_public_key(pub_path) == key.public
    sig = loaded.sign(b"hello")
    assert key.public.verify(sig, b"hello")
    assert not key.public.verify(sig, b"hellO")


@pytest.mark.usefixtures("open_umask")
def test_private_file_is_0600_even_with_open_umask(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "k"
    save_keypair(key, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (tmp_path / "k.tmp").exists()


def test_encrypted_key_needs_its_passphrase(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "k"
    save_keypair(key, path, passphrase=b"correct horse")
    assert b"ENCRYPTED" in path.read_bytes()
    assert load_signing_key(path, b"correct horse").keyid == key.keyid
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_signing_key(path, b"wrong horse")
    with pytest.raises(KeyFileError, match="passphrase"):
        load_signing_key(path)
    with pytest.raises(KeyFileError, match="passphrase"):
        load_signing_key(path, b"")


def test_passphrase_for_unencrypted_key_is_refused(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "k"
    save_keypair(key, path)
    with pytest.raises(KeyFileError, match="not encrypted"):
        load_signing_key(path, b"pw")


def test_refuses_to_overwrite(tmp_path: Path, key: SigningKey) -> None:
    path = tmp_path / "k"
    save_keypair(key, path)
    before = path.read_bytes(), (tmp_path / "k.pub").read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        save_keypair(SigningKey.generate(), path)
    assert (path.read_bytes(), (tmp_path / "k.pub").read_bytes()) == before


def test_refuses_to_overwrite_a_lone_public_key(tmp_path: Path, key: SigningKey) -> None:
    (tmp_path / "k.pub").write_bytes(b"keep me")
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        save_keypair(key, tmp_path / "k")
    assert not (tmp_path / "k").exists()
    assert (tmp_path / "k.pub").read_bytes() == b"keep me"


def test_key_id_is_sha256_hex_of_raw_public_key(tmp_path: Path, key: SigningKey) -> None:
    raw = key._private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    expected = hashlib.sha256(raw).hexdigest()
    assert len(raw) == 32
    assert key.keyid == expected == key_id(raw) == PublicKey(raw).keyid
    assert expected == expected.lower() and len(expected) == 64
    save_keypair(key, tmp_path / "k")
    assert load_public_key(tmp_path / "k.pub").keyid == expected


@pytest.mark.parametrize("passphrase", [None, b"pw"])
def test_public_key_loading_rejects_a_private_key_file(
    tmp_path: Path, key: SigningKey, passphrase: bytes | None
) -> None:
    save_keypair(key, tmp_path / "k", passphrase)
    with pytest.raises(KeyFileError, match="private key"):
        load_public_key(tmp_path / "k")


def test_public_key_of_wrong_length_is_refused() -> None:
    with pytest.raises(KeyFileError, match="32 bytes"):
        PublicKey(bytes(31))


def test_non_ed25519_keys_are_refused(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    priv = tmp_path / "ec.key"
    pub = tmp_path / "ec.pub"
    priv.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub.write_bytes(
        other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(KeyFileError, match="not an Ed25519 private key"):
        load_signing_key(priv)
    with pytest.raises(KeyFileError, match="not an Ed25519 public key"):
        load_public_key(pub)


def test_missing_and_garbage_files(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="cannot read private key"):
        load_signing_key(tmp_path / "nope")
    with pytest.raises(KeyFileError, match="cannot read public key"):
        load_public_key(tmp_path / "nope")
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a key at all")
    with pytest.raises(KeyFileError, match="not a PEM private key"):
        load_signing_key(junk)
    with pytest.raises(KeyFileError, match="not a PEM public key"):
        load_public_key(junk)
