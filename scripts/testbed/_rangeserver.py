"""A small Range-capable static HTTP server: the fallback when nginx cannot be installed.

`python -m http.server` ignores `Range` (NOTES-libtorrent: BitTorrent web seeds need it), so this
handler answers `Range: bytes=a-b` / `a-` / `-n` with 206 and a Content-Range, streams files in
1 MiB chunks and is threaded, so it serves many boxes at once the way the central server of the
old update path does.

Usage: python -m scripts.testbed._rangeserver --bind IP --port 80 --root DIR
"""

from __future__ import annotations

import argparse
import json
import os
import re
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

CHUNK = 1 << 20
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single-range header; None if absent/unsatisfiable/multi."""
    m = _RANGE.match(header.strip())
    if not m or size == 0:
        return None
    a, b = m.groups()
    if a == "" and b == "":
        return None
    if a == "":
        n = int(b)
        return (max(0, size - n), size - 1) if n > 0 else None
    first = int(a)
    last = min(int(b), size - 1) if b else size - 1
    return (first, last) if first <= last and first < size else None


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single-range support."""

    protocol_version = "HTTP/1.1"  # keep-alive: a box fetches all files on one connection

    def send_head(self):  # type: ignore[no-untyped-def]
        path = self.translate_path(self.path)
        if os.path.isdir(path) or not os.path.isfile(path):
            self.send_error(HTTPStatus.NOT_FOUND)
            return None
        f = open(path, "rb")  # noqa: SIM115 - closed by copyfile's caller
        size = os.fstat(f.fileno()).st_size
        rng = parse_range(self.headers.get("Range", ""), size) if "Range" in self.headers else None
        if "Range" in self.headers and rng is None:
            f.close()
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        first, last = rng or (0, size - 1)
        self.send_response(HTTPStatus.PARTIAL_CONTENT if rng else HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        if rng:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.end_headers()
        f.seek(first)
        self._left = last - first + 1
        return f

    def copyfile(self, source, outputfile):  # type: ignore[no-untyped-def]
        left = self._left
        while left > 0:
            buf = source.read(min(CHUNK, left))
            if not buf:
                break
            outputfile.write(buf)
            left -= len(buf)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    os.chdir(args.root)
    ThreadingHTTPServer.daemon_threads = True
    with ThreadingHTTPServer((args.bind, args.port), RangeHandler) as srv:
        print(json.dumps({"event": "listening", "port": srv.server_address[1]}), flush=True)
        srv.serve_forever()


if __name__ == "__main__":
    main()
