"""Long-polling `/info`: a node that already has another node's info document waits for its next
change instead of asking again every poll interval.

Why: a box learns of a new release only when it next asks its seeder, and a province only when it
next asks the origin: with the default 5-minute poll that is up to 5 minutes per hop, and on the
testbed (5 s polls) it was 5-6 s of every update's ~16 s bound. Held, the answer leaves the moment
the release is offered.

The wire is plain HTTP: the client sends the ETag it has in `If-None-Match` and how long it may
wait in `Prefer: wait=N` (RFC 7240); the server answers 200 with the document and its ETag as soon
as the document differs, or 304 when `N` seconds (at most `MAX_HOLD_S`) passed with no change. A
node that does not hold answers at once, and the client then falls back to its poll interval, so
old and new nodes mix.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable

import trio

MAX_HOLD_S = 25.0
"""The longest a request is held: under the feed server's 30 s idle timeout and the timeouts of
the middleboxes a township link may pass."""
MAX_HELD = 1024
"""Requests held at once by one node; past this, answers go at once (clients fall back to their
poll interval), so a province's memory is bounded however many boxes ask."""

_WAIT_RE = re.compile(r"(?:^|[,;\s])wait\s*=\s*([0-9]{1,6})(?:$|[,;\s])")


def etag_of(body: bytes) -> str:
    """The entity tag of an info document: a digest of its bytes, quoted as HTTP wants."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def hold_request(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str | None, float]:
    """The ETag the client has (`If-None-Match`) and the seconds it will wait (`Prefer: wait`),
    capped at MAX_HOLD_S; (None, 0) when it asked for no hold. Malformed values count as absent."""
    known: str | None = None
    wait = 0.0
    for name, value in headers:
        lname = name.lower()
        if lname == b"if-none-match" and len(value) <= 100:
            known = value.decode("latin-1").strip()
        elif lname == b"prefer" and len(value) <= 200:
            m = _WAIT_RE.search(value.decode("latin-1").lower())
            if m is not None:
                wait = min(float(m.group(1)), MAX_HOLD_S)
    return known, wait


class Holder:
    """Holds `/info` requests of one server until the document changes (counts them)."""

    def __init__(self) -> None:
        self.held = 0

    async def answer(self, known: str | None, wait_s: float, document: Callable[[], bytes],
                     changed: Callable[[float], Awaitable[None]]) -> tuple[bytes, str, bool]:
        """The document, its ETag and whether it is new to the client (False: answer 304).

        Args:
            known: the client's ETag, if it sent one.
            wait_s: how long the client may wait (already capped).
            document: the info document now (cheap: read from memory and small files).
            changed: returns when the document may have changed, or after the given seconds.
        """
        body = document()
        tag = etag_of(body)
        if known != tag or wait_s <= 0 or self.held >= MAX_HELD:
            return body, tag, known != tag
        self.held += 1
        try:
            deadline = trio.current_time() + wait_s
            while tag == known:
                left = deadline - trio.current_time()
                if left <= 0:
                    break
                await changed(left)
                body = document()
                tag = etag_of(body)
        finally:
            self.held -= 1
        return body, tag, known != tag
