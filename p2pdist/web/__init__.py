"""The station's web: the box's library for people on the LAN (phones, TV browsers).

`Library` is the active releases as titles and shelves; `LibraryApp` serves them (pages,
content with Range, plays and 点单 into the box's `checkin.ServiceLog`); `serve_library` runs it
next to the feed in the agent's nursery.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import trio

from ..checkin import ServiceLog
from ..errors import ConfigError
from ..feeds import serve_asgi
from ..i18n import _
from ._app import CSP, LibraryApp, pick_language, static_file
from ._content import file_response, parse_range
from ._library import Library, Snapshot, Title, title_id

log = logging.getLogger(__name__)


SAMPLE_CLIP = "电影/样片/测试短片.webm"


def add_sample_clip(bundle: Path) -> None:
    """Add a real, playable two-second clip (VP8/Opus test pattern, 15 KB) to a sample bundle
    and its catalog.toml: the sample's films are random bytes, and the demo's library should
    play something."""
    target = bundle / SAMPLE_CLIP
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(resources.files(__package__).joinpath("sample", "clip.webm").read_bytes())
    with (bundle / "catalog.toml").open("a", encoding="utf-8") as f:
        f.write(f'\n[[file]]\npath = "{SAMPLE_CLIP}"\nkind = "film"\nthemes = ["样片"]\n'
                'title = "测试短片"\nduration = 2\n')


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
        log.warning(_("the station's library web is off: {e}").format(e=e))
        task_status.started(0)


__all__ = [
    "CSP",
    "SAMPLE_CLIP",
    "Library",
    "LibraryApp",
    "Snapshot",
    "Title",
    "add_sample_clip",
    "file_response",
    "parse_range",
    "pick_language",
    "serve_library",
    "static_file",
    "title_id",
]
