"""Serving one file of the active release with HTTP Range (RFC 9110 §14), from one open fd.

The file is opened once per request, through the active link, and every byte of the answer is
read from that descriptor: if an update swaps the link while a phone is playing, the open
descriptor still reads the old release's file (a hard link into the store's objects), so the
answer in flight stays whole. The next request (a seek) opens whatever is active then.

One range per request (what media players send); a multi-range request gets the whole file,
which RFC 9110 allows.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import anyio
from starlette.responses import Response, StreamingResponse

CHUNK = 256 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm",
          ".mkv": "video/x-matroska", ".mp3": "audio/mpeg", ".pdf": "application/pdf",
          ".txt": "text/plain; charset=utf-8"}


def media_type(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """The byte range ``(first, last)`` a Range header asks for (pure).

    Returns:
        None: no usable single range (serve the whole file, 200);
        False: unsatisfiable (416);
        (first, last): inclusive, within the file (206).
    """
    if header is None:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None:
        return None  # another unit, several ranges, or garbage: the whole file
    a, b = m.groups()
    if not a and not b:
        return None
    if not a:  # the last N bytes
        n = int(b)
        if n == 0 or size == 0:
            return False
        return max(0, size - n), size - 1
    first = int(a)
    last = min(int(b), size - 1) if b else size - 1
    if first >= size or (b and int(b) < first):
        return False
    return first, last


def starts_at_zero(header: str | None) -> bool:
    """Whether a request reads the file from its first byte (how plays of documents count)."""
    r = parse_range(header, 2**63)
    return r is None or (isinstance(r, tuple) and r[0] == 0)


def _open(path: Path) -> tuple[int, int]:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise FileNotFoundError(path)
    return fd, st.st_size


async def file_response(path: Path, *, head: bool, range_header: str | None, etag: str,
                        filename: str | None = None) -> Response:
    """The answer for GET/HEAD of `path` (200, 206 or 416).

    Raises:
        OSError: the file cannot be opened (the caller answers 404).
    """
    fd, size = await anyio.to_thread.run_sync(_open, path)
    headers = {"accept-ranges": "bytes", "etag": f'"{etag}"', "cache-control": "no-cache",
               "x-content-type-options": "nosniff"}
    if filename is not None:
        headers["content-disposition"] = "attachment; filename*=UTF-8''" + quote(filename, safe="")
    r = parse_range(range_header, size)
    if r is False:
        os.close(fd)
        return Response(status_code=416, headers={**headers, "content-range": f"bytes */{size}"})
    first, last = r if isinstance(r, tuple) else (0, size - 1)
    length = max(0, last - first + 1)
    headers["content-length"] = str(length)
    status = 200
    if isinstance(r, tuple):
        status = 206
        headers["content-range"] = f"bytes {first}-{last}/{size}"
    mime = media_type(str(path))
    if head:
        os.close(fd)
        return Response(status_code=status, headers=headers, media_type=mime)
    return StreamingResponse(_read(fd, first, length), status_code=status, headers=headers,
                             media_type=mime)


async def _read(fd: int, offset: int, length: int) -> AsyncIterator[bytes]:
    try:
        while length > 0:
            chunk = await anyio.to_thread.run_sync(os.pread, fd, min(CHUNK, length), offset)
            if not chunk:
                return  # the file shrank under us: end the answer short, never block
            offset += len(chunk)
            length -= len(chunk)
            yield chunk
    finally:
        os.close(fd)
