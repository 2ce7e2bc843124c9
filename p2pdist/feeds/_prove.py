"""Proof of a node id: a neighbour signs a fresh challenge with the identity key it is named after.

A box's node id is the key id (SHA-256 of the raw public key) of its identity key, so a claim in
`/info` costs nothing to forge: a neighbour claiming ``000…0`` would win every site election and
deliver nothing. Before a neighbour counts for the election, the box sends a random nonce to
``GET /p2pdist/v1/prove?nonce=<64 hex>``; the answer ``{"public_key": <hex>, "signature": <hex>}``
must carry a public key whose id is the claimed node id and a valid Ed25519 signature over
`proof_message(nonce, node_id)`. The nonce is fresh per probe, so an answer cannot be replayed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from keys import PUBLIC_KEY_BYTES, SIGNATURE_BYTES, PublicKey, SigningKey, TrustError
from p2pdist.i18n import _

from ._api import PREFIX

PROVE_PATH = f"{PREFIX}/prove"
NONCE_BYTES = 32
MAX_PROOF_BYTES = 1024
_CONTEXT = b"p2pdist feed identity proof v1\0"


class IdentityProofError(TrustError):
    """A neighbour could not prove that it holds the identity key its node id names."""


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_BYTES)


def proof_message(nonce: bytes, node_id: str) -> bytes:
    """The signed bytes: a context string (no other signature of the key can be reused), the
    nonce, and the node id claimed."""
    return _CONTEXT + nonce + node_id.encode()


def nonce_param(query: bytes) -> bytes | None:
    """The one `nonce` query parameter as bytes, or None when malformed (answered 400)."""
    if len(query) > 2 * NONCE_BYTES + 16:
        return None
    try:
        pairs = parse_qsl(query.decode("ascii"), strict_parsing=True, max_num_fields=2)
        (value,) = [v for k, v in pairs if k == "nonce"]
        nonce = bytes.fromhex(value)
    except ValueError:  # UnicodeDecodeError, a wrong number of nonces, bad hex
        return None
    return nonce if len(nonce) == NONCE_BYTES else None


def answer_challenge(key: SigningKey, nonce: bytes) -> dict[str, str]:
    """The prover's side: its public key and its signature over the challenge."""
    return {"public_key": key.public.raw.hex(),
            "signature": key.sign(proof_message(nonce, key.keyid)).hex()}


def verify_proof(node_id: str, nonce: bytes, answer: Mapping[str, Any], where: str) -> None:
    """Accept `answer` only if it proves `node_id` for this `nonce` (pure).

    Raises:
        IdentityProofError: fields missing or malformed, a key of another id, a bad signature.
    """
    pub_hex, sig_hex = answer.get("public_key"), answer.get("signature")
    try:
        if not isinstance(pub_hex, str) or not isinstance(sig_hex, str):
            raise ValueError
        raw, sig = bytes.fromhex(pub_hex), bytes.fromhex(sig_hex)
        if len(raw) != PUBLIC_KEY_BYTES or len(sig) != SIGNATURE_BYTES:
            raise ValueError
    except ValueError:
        raise IdentityProofError(_("{where}: the identity proof is malformed").format(
            where=where)) from None
    pub = PublicKey(raw)
    if pub.keyid != node_id:
        raise IdentityProofError(
            _("{where} claims node id {claimed} but holds the key of {actual}").format(
                where=where, claimed=node_id[:16], actual=pub.keyid[:16]))
    if not pub.verify(sig, proof_message(nonce, node_id)):
        raise IdentityProofError(
            _("{where}: the identity proof's signature does not verify").format(where=where))
