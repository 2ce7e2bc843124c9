"""Ed25519 keys on disk: generation, private files (0600, optionally encrypted), public export.

A key id is the hex SHA-256 of the raw 32-byte public key, so anyone holding the public key can
derive it and nobody can pick it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ._errors import KeyFileError
from .i18n import _

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def key_id(raw_public: bytes) -> str:
    """The key id: lowercase hex SHA-256 of the raw public key."""
    return hashlib.sha256(raw_public).hexdigest()


@dataclass(frozen=True)
class PublicKey:
    """A raw Ed25519 public key and its id."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != PUBLIC_KEY_BYTES:
            raise KeyFileError(
                _("an Ed25519 public key has 32 bytes, not {n_raw}").format(n_raw=len(self.raw)))

    @property
    def keyid(self) -> str:
        return key_id(self.raw)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when `signature` is this key's valid signature over `data`."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class SigningKey:
    """An Ed25519 private key held in memory."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = PublicKey(raw)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def keyid(self) -> str:
        return self.public.keyid

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by the owner only (0600 from the first byte), atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def save_keypair(key: SigningKey, path: Path, passphrase: bytes | None = None) -> Path:
    """Write the private key to `path` (0600) and the public key to `path`.pub; return the latter.

    Raises:
        KeyFileError: `path` already exists (keys are never overwritten) or cannot be written.
    """
    pub_path = path.with_name(path.name + ".pub")
    for p in (path, pub_path):
        if p.exists():
            raise KeyFileError(_("{p} already exists; refusing to overwrite a key").format(p=p))
    try:
        # `keys generate keys/root-a` in an empty folder: make `keys/`, private like the key.
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private_file(path, key.to_pem(passphrase))
        pub_path.write_bytes(key.public.to_pem())
    except OSError as e:
        raise KeyFileError(
            _("cannot write key to {path}: {strerror}").format(
                path=path, strerror=e.strerror)) from e
    return pub_path


def load_signing_key(path: Path, passphrase: bytes | None = None) -> SigningKey:
    """Read a private key file written by `save_keypair`.

    Raises:
        KeyFileError: unreadable, not an Ed25519 private key, or wrong/missing passphrase.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KeyFileError(
            _("cannot read private key {path}: {strerror}").format(
                path=path, strerror=e.strerror)) from e
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError as e:
        if passphrase:
            raise KeyFileError(
                _("{path} is not encrypted; do not give a passphrase").format(path=path)) from e
        raise KeyFileError(
            _("{path} is encrypted: give its passphrase (--passphrase-file or "
              "P2PDIST_PASSPHRASE)").format(path=path)
        ) from e
    except ValueError as e:
        raise KeyFileError(
            _("cannot load private key {path}: wrong passphrase or not a PEM private key").format(
                path=path)
        ) from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(_("{path} is not an Ed25519 private key").format(path=path))
    return SigningKey(key)


def load_public_key(path: Path) -> PublicKey:
    """Read a public key: a PEM public key (PATH.pub) or, for convenience, a private key file.

    Raises:
        KeyFileError: unreadable or not an Ed25519 key.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise KeyFileError(
            _("cannot read public key {path}: {strerror}").format(
                path=path, strerror=e.strerror)) from e
    if b"PRIVATE KEY" in data:
        raise KeyFileError(
            _("{path} holds a private key; give the public key ({path}.pub)").format(path=path))
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as e:
        raise KeyFileError(_("{path} is not a PEM public key").format(path=path)) from e
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(_("{path} is not an Ed25519 public key").format(path=path))
    return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
