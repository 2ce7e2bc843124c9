"""`FeedClient`: the box's side of the feed API, the same for a seeder and for a LAN neighbour.

It only moves bytes: roots and manifests come back exactly as sent, and the trust layer verifies
them. Every request goes through the one `Fetcher`, so caps, deadlines and retries are uniform.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from keys import MAX_ROOT_BYTES, MAX_ROOT_CHAIN, is_valid_channel
from manifest import MAX_ENVELOPE_BYTES
from p2pdist.errors import ConfigError
from p2pdist.i18n import _

from ._api import (
    CHECKINS_PATH,
    INFO_PATH,
    MANIFEST_PATH,
    MAX_CHECKIN_BYTES,
    MAX_INFO_BYTES,
    ROOTS_PATH,
    FeedInfo,
    parse_json_object,
)
from ._errors import BadResponseError
from ._fetch import Fetcher, FetchResult
from ._prove import MAX_PROOF_BYTES, PROVE_PATH, IdentityProofError, new_nonce, verify_proof

HOLD_MARGIN_S = 10.0
"""A held request's deadline is the wait it asked for plus this (the answer itself)."""


class FeedClient:
    """Talks to one node's feed API at `base_url`; use as an async context manager.

    Args:
        base_url: the node's address, e.g. ``http://192.168.1.20:8470`` (a path prefix is kept).
        timeout_s: the overall time limit of one attempt, body included.
        retries: extra attempts after a transport failure, 429 or 5xx (never after a bad answer).
        backoff_s: the first wait between attempts; it doubles up to `max_backoff_s`, jittered.
        max_backoff_s: the longest wait between attempts.

    Raises:
        ConfigError: `base_url` is not an http(s) feed address.
        ValueError: a timing parameter is out of range.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10,
        retries: int = 3,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8,
    ) -> None:
        self._fetcher = Fetcher(
            base_url,
            timeout_s=timeout_s,
            retries=retries,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
        )

    async def __aenter__(self) -> FeedClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections (the context manager does this on exit)."""
        await self._fetcher.aclose()

    async def info(self) -> FeedInfo:
        """Ask the node who it is and what it holds.

        Returns:
            The node's validated self-description (hints only: nothing in it is trusted).

        Raises:
            BadResponseError: not a feed (404), another API version, or malformed JSON or fields.
            TransferError: as `Fetcher.fetch` raises it (network, timeout, size).
        """
        result = await self._fetcher.fetch(
            "GET", INFO_PATH, what=_("info document"), max_bytes=MAX_INFO_BYTES
        )
        return self._parse_info(result)

    async def info_change(self, etag: str | None, wait_s: float
                          ) -> tuple[FeedInfo | None, str | None]:
        """The node's info once it differs from the document tagged `etag`, held by the node up
        to `wait_s` seconds (a long poll, see `_hold`); with no `etag`, at once.

        Returns:
            (info, its ETag), or (None, ETag) when it did not change within the wait. A node
            that does not hold answers at once (a 200 with the same document, maybe no ETag).

        Raises:
            As `info`.
        """
        headers = {} if etag is None else {"If-None-Match": etag,
                                           "Prefer": f"wait={max(0, int(wait_s))}"}
        result = await self._fetcher.fetch(
            "GET", INFO_PATH, what=_("info document"), max_bytes=MAX_INFO_BYTES,
            headers=headers, timeout_s=max(0.0, wait_s) + HOLD_MARGIN_S,
        )
        if result.status == 304 and etag is not None:
            return None, result.etag
        return self._parse_info(result), result.etag

    def _parse_info(self, result: FetchResult) -> FeedInfo:
        url = self._url(INFO_PATH)
        if result.status == 404:
            raise BadResponseError(
                _("{url}: not found; the address is not a p2pdist feed").format(url=url),
                status=404,
            )
        try:
            return FeedInfo.from_json(parse_json_object(result.body))
        except ValueError as e:
            raise BadResponseError(
                _("{url}: the info document is malformed ({reason})").format(url=url, reason=e)
            ) from e

    async def prove(self, node_id: str) -> None:
        """Challenge the node to prove it holds the identity key of `node_id` (fresh nonce).

        Raises:
            IdentityProofError: the node answered, but its proof is wrong or absent (404).
            TransferError: as `Fetcher.fetch` raises it.
        """
        nonce = new_nonce()
        result = await self._fetcher.fetch(
            "GET", f"{PROVE_PATH}?nonce={nonce.hex()}", what=_("identity proof"),
            max_bytes=MAX_PROOF_BYTES)
        url = self._url(PROVE_PATH)
        if result.status != 200:
            raise IdentityProofError(
                _("{url}: no identity proof (HTTP {status}); the neighbour cannot prove its node "
                  "id").format(url=url, status=result.status))
        try:
            answer = parse_json_object(result.body)
        except ValueError as e:
            raise IdentityProofError(_("{url}: the identity proof is malformed ({reason})").format(
                url=url, reason=e)) from e
        verify_proof(node_id, nonce, answer, url)

    async def root(self, version: int) -> bytes | None:
        """Fetch the signed trust-root envelope of one version, unverified.

        Args:
            version: the root version, 1 or more.

        Returns:
            The envelope bytes, or None when the node has no such version.

        Raises:
            ValueError: `version` is not a positive integer.
            TransferError: as `Fetcher.fetch` raises it.
        """
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(_("a root version is an integer of at least 1"))
        result = await self._fetcher.fetch(
            "GET",
            f"{ROOTS_PATH}{version}",
            what=_("trust root"),
            max_bytes=MAX_ROOT_BYTES,
        )
        return None if result.status == 404 else result.body

    async def roots_after(self, version: int) -> list[bytes]:
        """Fetch the rotations after `version` in order: version+1, +2, ... until the node has none.

        At most MAX_ROOT_CHAIN are fetched (what `keys.walk_root_chain` follows at once); a box
        further behind catches up over several updates.

        Args:
            version: the newest root version already trusted.

        Returns:
            Envelope bytes, oldest first; empty when the node has nothing newer.

        Raises:
            ValueError: `version` is not a positive integer.
            TransferError: as `Fetcher.fetch` raises it.
        """
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(_("a root version is an integer of at least 1"))
        newer: list[bytes] = []
        for v in range(version + 1, version + 1 + MAX_ROOT_CHAIN):
            data = await self.root(v)
            if data is None:
                break
            newer.append(data)
        return newer

    async def manifest(self, channel: str) -> bytes | None:
        """Fetch the latest signed manifest envelope of a channel, unverified.

        Args:
            channel: e.g. ``national/winter-2027``.

        Returns:
            The envelope bytes, or None when the node has no manifest for the channel.

        Raises:
            ConfigError: `channel` is not a valid channel name.
            TransferError: as `Fetcher.fetch` raises it.
        """
        if not isinstance(channel, str) or not is_valid_channel(channel):
            raise ConfigError(
                _("{channel!r} is not a channel name (lowercase a-z, 0-9, '.', '_', '-' "
                  "segments joined by '/')").format(channel=channel)
            )
        result = await self._fetcher.fetch(
            "GET",
            MANIFEST_PATH,
            what=_("manifest"),
            max_bytes=MAX_ENVELOPE_BYTES,
            params={"channel": channel},
        )
        return None if result.status == 404 else result.body

    async def post_checkin(self, body: bytes) -> dict[str, Any]:
        """Send a check-in and return the node's JSON answer.

        Check-ins are retried like every request, and queued check-ins are re-sent anyway, so the
        receiving node must treat a repeated check-in as a no-op.

        Args:
            body: the encoded check-in, at most MAX_CHECKIN_BYTES.

        Returns:
            The JSON object the node answered with.

        Raises:
            ValueError: `body` is over MAX_CHECKIN_BYTES.
            BadResponseError: the node takes no check-ins (status 404), refused this one (its
                4xx status is in `.status`), or answered with something other than a JSON object.
            TransferError: as `Fetcher.fetch` raises it.
        """
        if len(body) > MAX_CHECKIN_BYTES:
            raise ValueError(
                _("a check-in is at most {max_checkin_bytes} bytes").format(
                    max_checkin_bytes=MAX_CHECKIN_BYTES))
        result = await self._fetcher.fetch(
            "POST",
            CHECKINS_PATH,
            what=_("check-in answer"),
            max_bytes=MAX_CHECKIN_BYTES,
            content=bytes(body),
        )
        url = self._url(CHECKINS_PATH)
        if result.status == 404:
            raise BadResponseError(
                _("{url}: this node does not accept check-ins").format(url=url), status=404
            )
        try:
            return parse_json_object(result.body)
        except ValueError as e:
            raise BadResponseError(
                _("{url}: the check-in answer is malformed ({reason})").format(url=url, reason=e)
            ) from e

    def _url(self, path: str) -> str:
        return self._fetcher.url(path)


async def prove_identity(url: str, node_id: str, *, timeout_s: float = 3) -> None:
    """The one call the agent makes before a neighbour counts as proven (one attempt).

    Raises:
        IdentityProofError: the neighbour cannot prove `node_id`.
        TransferError: it did not answer in time or as a feed.
    """
    async with FeedClient(url, timeout_s=timeout_s, retries=0) as client:
        await client.prove(node_id)
