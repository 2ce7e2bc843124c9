"""Feeds: the small HTTP API every box and seeder answers, and the client that fetches from it.

A box updates from a LAN neighbour exactly as from a seeder: `serve_feed` publishes a node's trust
roots, latest signed manifests and check-in intake; `FeedClient` fetches them size-capped,
time-limited and retried, with every failure in the transfer error family. Nothing here trusts
what it moves: the trust layer verifies every root and manifest afterwards.
"""

from ._api import MAX_CHECKIN_BYTES, FeedInfo, Role
from ._client import FeedClient, prove_identity
from ._errors import BadResponseError, ResponseTooLargeError
from ._prove import IdentityProofError, answer_challenge, new_nonce, verify_proof
from ._server import FeedSource, serve_asgi, serve_feed
from ._watch import watch_info

__all__ = [
    "MAX_CHECKIN_BYTES",
    "BadResponseError",
    "FeedClient",
    "FeedInfo",
    "FeedSource",
    "IdentityProofError",
    "ResponseTooLargeError",
    "Role",
    "answer_challenge",
    "new_nonce",
    "prove_identity",
    "serve_asgi",
    "serve_feed",
    "verify_proof",
    "watch_info",
]
