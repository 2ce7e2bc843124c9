"""Path rules: every file path must be safe to create under the release root on any box and on a
FAT/exFAT USB drive, and must name one file only.

A path is relative POSIX, NFC-normalized (Chinese names are normal), with no empty, `.` or `..`
segment, no backslash, no control character, none of the characters FAT forbids, no segment
starting with a dot (`.pad/` is BitTorrent's and hidden files are invisible to the player) or
ending in a dot or space, at most 255 UTF-8 bytes per segment.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from keys.i18n import _

from . import _limits as L
from ._errors import BadPathError, PathCollisionError

_FAT_FORBIDDEN = set('<>:"|?*')
_BAD_CATEGORIES = {"Cc", "Cs", "Zl", "Zp"}


def check_path(path: str) -> None:
    """Raise BadPathError naming the first rule `path` breaks."""
    shown = repr(path)[:120]
    if not path:
        raise BadPathError(_("empty file path"))
    if len(path) > L.MAX_PATH_CHARS:
        raise BadPathError(
            _("file path {shown} is longer than {max_path_chars} characters").format(
                shown=shown, max_path_chars=L.MAX_PATH_CHARS))
    if path.startswith("/"):
        raise BadPathError(
            _("file path {shown} is absolute; paths must be relative").format(shown=shown))
    if "\\" in path:
        raise BadPathError(
            _("file path {shown} contains a backslash; use '/' between folders").format(
                shown=shown))
    for ch in path:
        if unicodedata.category(ch) in _BAD_CATEGORIES:
            raise BadPathError(
                _("file path {shown} contains control character U+{ord:04X}").format(
                    shown=shown, ord=ord(ch)))
        if ch in _FAT_FORBIDDEN:
            raise BadPathError(
                _("file path {shown} contains {ch!r}, which USB drives (FAT/exFAT) "
                  "cannot store").format(shown=shown, ch=ch)
            )
    if not unicodedata.is_normalized("NFC", path):
        raise BadPathError(_("file path {shown} is not in Unicode NFC form").format(shown=shown))
    segments = path.split("/")
    if len(segments) > L.MAX_PATH_DEPTH:
        raise BadPathError(
            _("file path {shown} is nested deeper than {max_path_depth} folders").format(
                shown=shown, max_path_depth=L.MAX_PATH_DEPTH))
    for seg in segments:
        if seg == "":
            raise BadPathError(
                _("file path {shown} has an empty segment ('//' or a trailing '/')").format(
                    shown=shown))
        if seg in (".", ".."):
            raise BadPathError(
                _("file path {shown} contains {seg!r}").format(shown=shown, seg=seg))
        if seg.startswith("."):
            raise BadPathError(
                _("file path {shown}: names starting with '.' are not allowed").format(
                    shown=shown))
        if seg.endswith((".", " ")):
            raise BadPathError(
                _("file path {shown}: a name may not end in '.' or a space").format(shown=shown))
        if len(seg.encode("utf-8")) > L.MAX_SEGMENT_BYTES:
            raise BadPathError(
                _("file path {shown}: a name is longer than 255 bytes").format(shown=shown))


def check_paths(paths: Iterable[str]) -> None:
    """Check each path, then that no two collide exactly, after case folding, or as file/folder.

    Raises:
        BadPathError: a path breaks a rule.
        PathCollisionError: two paths would land on the same file (or a file is also a folder).
    """
    folded: dict[str, str] = {}
    dirs: dict[str, str] = {}
    for p in paths:
        check_path(p)
        key = unicodedata.normalize("NFC", p.casefold())
        if key in folded:
            other = folded[key]
            how = "twice" if other == p else f"and {other!r} (same name ignoring case)"
            raise PathCollisionError(_("file path {p!r} is listed {how}").format(p=p, how=how))
        folded[key] = p
        parts = key.split("/")
        for i in range(1, len(parts)):
            dirs.setdefault("/".join(parts[:i]), p)
    for key, p in folded.items():
        if key in dirs:
            raise PathCollisionError(
                _("{p!r} is a file but {dirs!r} uses it as a folder").format(p=p, dirs=dirs[key]))
