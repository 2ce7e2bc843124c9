"""The seeder's BEP 19 web seed: the files of the releases it seeds, over plain HTTP with Range.

A stock BitTorrent client (or a box) whose network blocks the BitTorrent port still gets the
bytes from a torrent whose `url-list` names `http://SEEDER:8470/webseed/`: it asks for
``/webseed/<torrent name>/<file path>``. Read-only (GET and HEAD); only a file listed in the
manifest of a release this seeder seeds right now is answered, matched as a whole string
against that list, so no URL reaches any other path on the disk; the file is opened without
following a final symlink. libtorrent checks every piece it gets against the torrent's hashes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from p2pdist.web import file_response

log = logging.getLogger(__name__)

WEBSEED_PATH = "/webseed/"

Lookup = Callable[[str, str], Path | None]
"""(torrent name, file path inside it) -> the file on disk, or None when not served."""


def make_webseed_app(lookup: Lookup) -> Any:
    """The ASGI app under WEBSEED_PATH."""

    async def serve(request: Request) -> Response:
        name = request.path_params["name"]
        rel = request.path_params["path"]
        path = lookup(name, rel)
        if path is None:
            return PlainTextResponse("not found", status_code=404)
        try:
            return await file_response(path, head=request.method == "HEAD",
                                       range_header=request.headers.get("range"),
                                       etag=f"{name}/{rel}".encode().hex()[:64])
        except OSError:
            return PlainTextResponse("not found", status_code=404)

    async def nothing(_request: Request) -> Response:
        return PlainTextResponse("not found", status_code=404)

    return Starlette(routes=[
        Route(WEBSEED_PATH + "{name}/{path:path}", serve, methods=["GET", "HEAD"]),
        Route(WEBSEED_PATH + "{rest:path}", nothing, methods=["GET", "HEAD"]),
    ])
