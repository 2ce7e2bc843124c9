"""The station's web: the box's library for people on the LAN (phones, TV browsers).

`Library` is the active releases as titles and shelves; `LibraryApp` serves them (pages,
content with Range, plays and 点单 into the box's `checkin.ServiceLog`); `serve_library` runs it
next to the feed in the agent's nursery.
"""

from __future__ import annotations

import logging

import trio

from ..checkin import ServiceLog
from ..errors import ConfigError
from ..feeds import serve_asgi
from ._app import LibraryApp, pick_language, static_file
from ._content import parse_range
from ._library import Library, Snapshot, Title, title_id

log = logging.getLogger(__name__)


async def serve_library(library: Library, service: ServiceLog, bind: str, *,
                        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve the library on `bind` until cancelled; started with the bound port.

    A box whose library address cannot be bound (the port is taken) keeps distributing
    releases: the failure is logged and the port reported as 0.
    """
    try:
        await serve_asgi(LibraryApp(library, service), bind, name="library",
                         task_status=task_status)
    except ConfigError as e:
        log.warning("the station's library web is off: %s", e)
        task_status.started(0)


__all__ = ["Library", "LibraryApp", "Snapshot", "Title", "parse_range", "pick_language",
           "serve_library", "static_file", "title_id"]
