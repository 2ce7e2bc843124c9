"""Why a check-in is refused: the trust errors it can raise, and how each is answered.

Both ends share this table. The seeder answers a refusal with the HTTP status listed here and a
short reason code (also its metric label and log field); the box's delivery loop reads the status
to decide whether a refused check-in can ever succeed (drop it) or may later (keep it).
"""

from __future__ import annotations

from dataclasses import dataclass

from keys import (
    BadSignatureError,
    MalformedError,
    MissingSignatureError,
    SizeLimitError,
    TrustError,
)


class ForgedIdentityError(TrustError):
    """The check-in's public key does not hash to its box id, or another key signed it."""


class UnknownBoxError(TrustError):
    """The box is not on the seeder's allow-list."""


class ReplayError(TrustError):
    """The sequence number was already used by different content, or is older than the newest
    check-in seen from that box."""


@dataclass(frozen=True)
class Rejection:
    """How a refused check-in is answered: a stable reason code and an HTTP status."""

    reason: str
    status: int


# Most specific first: the first matching class decides.
_REJECTIONS: tuple[tuple[type[TrustError], Rejection], ...] = (
    (SizeLimitError, Rejection("oversized", 413)),
    (MissingSignatureError, Rejection("bad_signature", 400)),
    (BadSignatureError, Rejection("bad_signature", 400)),
    (ForgedIdentityError, Rejection("forged_identity", 400)),
    (UnknownBoxError, Rejection("unknown_box", 403)),
    (ReplayError, Rejection("replay", 409)),
    (MalformedError, Rejection("malformed", 400)),
)
_UNTRUSTED = Rejection("untrusted", 400)

REASONS: tuple[str, ...] = (*dict.fromkeys(r.reason for _t, r in _REJECTIONS),
                            _UNTRUSTED.reason)
"""Every reason code, e.g. to pre-create metric labels."""

FINAL_STATUSES: frozenset[int] = frozenset(
    r.status for _t, r in _REJECTIONS if r.reason != "unknown_box"
)
"""Statuses after which re-sending the same check-in can never succeed. An unknown box (403)
is not final: the seeder's operator may add it to the allow-list later."""


def rejection_for(error: TrustError) -> Rejection:
    """The reason code and HTTP status for a refused check-in."""
    for kind, rejection in _REJECTIONS:
        if isinstance(error, kind):
            return rejection
    return _UNTRUSTED
