"""Asking sources (seeders and LAN neighbours) what they offer for a channel.

A source is just a feed URL: seeders from the configuration and the manifests, neighbours from
LAN discovery. Each answers `info` (hints: which version it holds, its swarm port), its newer trust
roots and its manifest. Nothing here trusts the answers; the agent verifies them. A source that
fails or lies is reported so the agent can leave it alone for a while.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import trio

from keys import P2PDistError

from ..feeds import FeedClient, FeedInfo
from ..i18n import _

log = logging.getLogger(__name__)

SOURCE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Source:
    """Where to ask: a feed URL, whether it is a LAN neighbour, and its node id if known."""

    url: str
    lan: bool
    node_id: str = ""

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


@dataclass(frozen=True)
class Offer:
    """What a source offered: its version hint, newer roots, the manifest bytes, swarm port."""

    source: Source
    version_hint: int
    roots: tuple[bytes, ...]
    manifest: bytes
    swarm_port: int


@dataclass(frozen=True)
class SourceFailure:
    source: Source
    reason: str


async def ask(source: Source, channel: str, root_version: int, newer_than: int | None,
              on_info: Callable[[Source, FeedInfo], None] | None = None,
              ) -> Offer | SourceFailure | None:
    """The source's offer for `channel` if it claims a version above `newer_than`.

    Args:
        on_info: told what the source said about itself (e.g. its swarm port), whatever it holds.

    Returns:
        None when it has nothing newer, a SourceFailure when it could not be asked.
    """
    try:
        with trio.fail_after(SOURCE_TIMEOUT_S):
            async with FeedClient(source.url, timeout_s=5, retries=1) as client:
                info = await client.info()
                if on_info is not None:
                    on_info(source, info)
                hint = info.channels.get(channel)
                if hint is None or (newer_than is not None and hint <= newer_than):
                    return None
                roots = await client.roots_after(root_version) \
                    if info.root_version > root_version else []
                blob = await client.manifest(channel)
                if blob is None:
                    return SourceFailure(source, _(
                        "{url} lists {channel} but has no manifest for it").format(
                            url=source.url, channel=channel))
                return Offer(source, hint, tuple(roots), blob, info.swarm_port)
    except trio.TooSlowError:
        return SourceFailure(source, _("{url} did not answer within {s}s").format(
            url=source.url, s=SOURCE_TIMEOUT_S))
    except P2PDistError as e:
        log.info(_("source {url} failed: {e}").format(url=source.url, e=e))
        return SourceFailure(source, str(e))
