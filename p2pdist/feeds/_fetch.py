"""The one fetch primitive every feed request goes through (python-tuf's `fetcher.py` idea).

It alone touches httpx. Each request is size-capped while streaming, bounded by an overall deadline
on top of httpx's per-phase timeouts (a peer that drips one byte a second never trips a read
timeout), retried with jittered exponential backoff on transport failures and server errors only,
and every foreign exception leaves as `NetworkError`, `FetchTimeoutError` or a `PeerError` subclass.
"""

from __future__ import annotations

import functools
import logging
import random
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx
import trio

from p2pdist.backoff import capped_backoff
from p2pdist.errors import ConfigError, FetchTimeoutError, NetworkError, P2PDistError
from p2pdist.i18n import _

from ._api import API_VERSION
from ._errors import BadResponseError, ResponseTooLargeError

log = logging.getLogger(__name__)

Method = Literal["GET", "POST"]
_RETRY_STATUSES = frozenset({429, *range(500, 600)})
_MAX_REASON = 160


def backoff_delay(attempt: int, base_s: float, cap_s: float, jitter: float) -> float:
    """Seconds to wait before retry number `attempt` (0-based): exponential, capped, jittered.

    Jitter spreads retries so boxes that lost the same seeder at once do not return in lockstep;
    keeping at least half of the step still backs off from a struggling peer.

    Args:
        attempt: how many retries came before this one.
        base_s: the first step.
        cap_s: the largest step.
        jitter: a uniform random number in [0, 1).

    Returns:
        A delay in [step/2, step], where step = min(cap_s, base_s * 2**attempt).
    """
    return capped_backoff(base_s, attempt + 1, cap_s) * (0.5 + 0.5 * jitter)


def _reason(exc: BaseException) -> str:
    """A short, single-line, printable description of a foreign exception for a message."""
    text = "".join(c if c.isprintable() else " " for c in str(exc))[:_MAX_REASON]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate-verifying TLS context for every client of the process.

    httpx builds a new one for each client by default, loading the whole CA bundle: ~0.1-0.4 s
    of CPU each here. A box makes a client per poll, per neighbour probe and per check-in, so
    that alone kept idle daemons at 2-4 % of a core and delayed the first poll after start.
    """
    return httpx.create_ssl_context(trust_env=False)


def _base_url(base_url: str) -> httpx.URL:
    """Validate a feed address (from config, a manifest or discovery) before any request.

    Raises:
        ConfigError: not an absolute http(s) URL with a host, or it carries credentials, a query
            or a fragment (which would be silently dropped or leaked).
    """
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as e:
        raise ConfigError(_("{url!r} is not a feed address").format(url=base_url)) from e
    if (
        url.scheme not in ("http", "https")
        or not url.host
        or url.userinfo
        or url.query
        or url.fragment
    ):
        raise ConfigError(
            _("{url!r} is not a feed address; write it as http://HOST:PORT").format(url=base_url)
        )
    return url


@dataclass(frozen=True)
class FetchResult:
    """A successful exchange: a 2xx status with its whole body, or a 404 or 304 with none."""

    status: int
    body: bytes
    etag: str | None = None


class Fetcher:
    """Size-capped, deadline-bounded, retrying HTTP requests against one feed address."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        max_backoff_s: float,
    ) -> None:
        """Prepare (but do not open) a connection pool for `base_url`.

        Raises:
            ConfigError: `base_url` is not an http(s) feed address.
            ValueError: a timing parameter is out of range.
        """
        if not timeout_s > 0 or retries < 0 or backoff_s < 0 or max_backoff_s < backoff_s:
            raise ValueError(
                "need timeout_s > 0, retries >= 0 and 0 <= backoff_s <= max_backoff_s"
            )
        self._timeout_s = timeout_s
        self._attempts = retries + 1
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._random = random.Random()
        self._http = httpx.AsyncClient(
            base_url=_base_url(base_url),
            timeout=httpx.Timeout(timeout_s),
            # Every address comes from config, a manifest or discovery (DESIGN "Conventions"):
            # no proxy or certificate settings sneak in from the environment.
            trust_env=False,
            # A redirect could send the box anywhere; feeds never redirect, so none is followed.
            follow_redirects=False,
            # Compressed bodies would defeat the byte cap (a small gzip bomb inflates hugely).
            headers={"Accept-Encoding": "identity", "User-Agent": f"p2pdist-feeds/{API_VERSION}"},
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
            verify=_tls_context(),
        )

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    def url(self, path: str) -> str:
        """The absolute URL of an API path, for messages."""
        return f"{self._http.base_url}{path.lstrip('/')}"

    async def fetch(
        self,
        method: Method,
        path: str,
        *,
        what: str,
        max_bytes: int,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> FetchResult:
        """Send one request, retrying transient failures (transport errors, 429 and 5xx).

        The worst case takes about (retries + 1) * timeout_s plus the backoff sleeps.

        Args:
            method: GET or POST.
            path: the API path, relative to the base address.
            what: the document asked for, as named in messages (already translated).
            max_bytes: the largest body accepted; more stops the transfer.
            params: query parameters.
            content: the request body for POST.
            headers: extra request headers (a long poll's `If-None-Match` and `Prefer`).
            timeout_s: this request's deadline per attempt, if not the fetcher's.

        Returns:
            The status (2xx, 304 or 404), the whole body (empty for 304 and 404) and the ETag.

        Raises:
            ResponseTooLargeError: the body is (or is announced as) over `max_bytes`.
            BadResponseError: any other status, a redirect, or an encoded body.
            FetchTimeoutError: the last attempt missed its deadline.
            NetworkError: the last attempt could not connect or the connection broke.
        """
        attempt = 1
        while True:
            try:
                return await self._attempt(
                    method, path, what, max_bytes, params, content, attempt, headers,
                    self._timeout_s if timeout_s is None else timeout_s
                )
            except (NetworkError, FetchTimeoutError, BadResponseError) as e:
                transient = not isinstance(e, BadResponseError) or e.status in _RETRY_STATUSES
                if not transient or attempt >= self._attempts:
                    raise
                delay = backoff_delay(
                    attempt - 1, self._backoff_s, self._max_backoff_s, self._random.random()
                )
                log.debug(_("retrying in {delay:.2f} s after: {e}").format(delay=delay, e=e))
                await trio.sleep(delay)
                attempt += 1

    async def _attempt(
        self,
        method: Method,
        path: str,
        what: str,
        max_bytes: int,
        params: Mapping[str, str] | None,
        content: bytes | None,
        attempt: int,
        extra_headers: Mapping[str, str] | None,
        timeout_s: float,
    ) -> FetchResult:
        """One request under one overall deadline; all foreign errors are translated here."""
        headers = dict(extra_headers or {})
        if content is not None:
            headers["Content-Type"] = "application/octet-stream"
        url = self.url(path)
        try:
            with trio.fail_after(timeout_s):
                request = self._http.build_request(
                    method, path.lstrip("/"), params=params, content=content, headers=headers,
                    timeout=httpx.Timeout(timeout_s),
                )
                url = str(request.url)
                response = await self._http.send(request, stream=True)
                try:
                    return await self._read(response, url, what, max_bytes, attempt)
                finally:
                    await response.aclose()
        except P2PDistError:
            raise
        except (trio.TooSlowError, httpx.TimeoutException) as e:
            raise FetchTimeoutError(
                _(
                    "{url}: no complete answer within {seconds:g} s (attempt {n} of {total}); "
                    "the link is too slow or the peer is stuck"
                ).format(url=url, seconds=timeout_s, n=attempt, total=self._attempts)
            ) from e
        except Exception as e:
            # httpx, httpcore, h11, anyio and OS errors alike: none may escape untranslated.
            raise NetworkError(
                _(
                    "{url}: cannot connect, or the connection broke ({reason}) "
                    "(attempt {n} of {total}); check the network link and the address"
                ).format(url=url, reason=_reason(e), n=attempt, total=self._attempts)
            ) from e

    async def _read(
        self, response: httpx.Response, url: str, what: str, max_bytes: int, attempt: int
    ) -> FetchResult:
        """Check the status and headers, then stream the body, stopping past `max_bytes`."""
        status = response.status_code
        etag = response.headers.get("etag")
        if status == 404:
            return FetchResult(404, b"")
        if status == 304:
            return FetchResult(304, b"", etag)
        if status in _RETRY_STATUSES:
            raise BadResponseError(
                _("{url}: the peer answered HTTP {status} (attempt {n} of {total})").format(
                    url=url, status=status, n=attempt, total=self._attempts
                ),
                status=status,
            )
        if 300 <= status < 400:
            raise BadResponseError(
                _("{url}: the peer redirects elsewhere (HTTP {status}); feeds are never "
                  "redirected, so the address is probably wrong").format(url=url, status=status),
                status=status,
            )
        if not 200 <= status < 300:
            raise BadResponseError(
                _("{url}: the peer answered HTTP {status}").format(url=url, status=status),
                status=status,
            )
        if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
            raise BadResponseError(
                _("{url}: the peer sent a content-encoded answer; feeds accept only plain bytes")
                .format(url=url)
            )
        declared = response.headers.get("content-length", "").strip()
        # h11 has already checked it is all digits; its length guards int() on absurd values.
        if declared.isdigit() and (len(declared) > 18 or int(declared) > max_bytes):
            raise _too_large(url, what, max_bytes)
        body = bytearray()
        # Stopping early leaves httpx's internal stream generators unfinished (trio notes this as
        # a ResourceWarning, encode/httpx#3686); the caller's response.aclose() drops the socket.
        async for chunk in response.aiter_raw():
            if len(body) + len(chunk) > max_bytes:
                raise _too_large(url, what, max_bytes)
            body += chunk
        return FetchResult(status, bytes(body), etag)


def _too_large(url: str, what: str, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        _(
            "{url}: the answer is larger than {limit} bytes, more than any {what} can be; "
            "the transfer was stopped"
        ).format(url=url, limit=limit, what=what)
    )
