"""Errors the swarm adds to p2pdist's families."""

from __future__ import annotations

from p2pdist.errors import P2PDistError


class UnknownTorrentError(P2PDistError, LookupError):
    """No torrent with this key is in the swarm (never added, or removed)."""
