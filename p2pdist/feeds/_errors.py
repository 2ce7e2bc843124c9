"""Errors the feeds layer adds to the transfer family (`p2pdist.errors.PeerError`).

Connection trouble stays `NetworkError` and slowness stays `FetchTimeoutError`; these two name the
ways a peer that did answer can be wrong, so a caller can move on to another peer.
"""

from __future__ import annotations

from p2pdist.errors import PeerError


class ResponseTooLargeError(PeerError):
    """A peer sent (or announced) more bytes than the document can have; the transfer stopped."""


class BadResponseError(PeerError):
    """A peer answered, but not as the feed API says: bad status, encoding, JSON or field types.

    Attributes:
        status: the HTTP status when that was the problem, else None.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
