"""Builders for the check-in tests (a unique module name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from typing import Any

from keys import Envelope, SigningKey, decode_strict, encode
from p2pdist.checkin import ChannelReport, make_checkin

NOW = 1_800_000_000
CHANNEL = "national/winter-2027"


def checkin(key: SigningKey, seq: int = 1, **changes: Any) -> bytes:
    """A valid signed check-in; keyword arguments replace the defaults."""
    args: dict[str, Any] = {
        "seq": seq,
        "sent": NOW,
        "site": "湖南-城关站",
        "channels": {CHANNEL: ChannelReport(2, "seeding", 1.0)},
        "free_disk": 50 * 10**9,
        "plays": {"过年好": 12, "微信发红包与抢红包": 3},
        "window": (NOW - 3600, NOW),
    }
    args.update(changes)
    return make_checkin(key, **args)


def body_of(key: SigningKey, seq: int = 1, **changes: Any) -> dict[str, Any]:
    """The decoded body of a valid check-in, to tamper with."""
    env = Envelope.decode(checkin(key, seq, **changes), "t", 1 << 20, 1 << 20)
    body = decode_strict(env.signed, "t")
    assert isinstance(body, dict)
    return body


def sign_body(body: dict[str, Any], *signers: SigningKey) -> bytes:
    """Encode `body` as is and sign it (for bodies the builder would never make)."""
    env = Envelope(encode(body))
    for k in signers:
        env = env.sign(k)
    return env.encode()
