"""Manifest-specific trust errors (the shared family lives in `keys`)."""

from __future__ import annotations

from keys import MalformedError, TrustError


class TooManyFilesError(TrustError):
    """The manifest lists more files than the limit."""


class BadPathError(MalformedError):
    """A file path is not a safe, normalized, relative POSIX path."""


class PathCollisionError(BadPathError):
    """Two file paths are the same, the same after case folding, or one is inside the other."""


class TorrentMismatchError(TrustError):
    """The torrent does not carry exactly the files the manifest lists (mix-and-match)."""
