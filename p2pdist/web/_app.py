"""The box's library web app (starlette): pages, content with Range, plays, 点单, JSON.

Routes (GET only for content; the two POSTs write counters and nothing else):

=============================  ===============================================================
``/``                          home: kinds, then themes, as the catalog groups them
``/t/{id}``                    a title: player (or open/download), description, facts
``/media/{id}``                the title's bytes from the ACTIVE release (Range; ?download=1)
``/search?q=``                 titles containing the text
``/request``                   the 点单 form (GET), a request (POST, form-encoded)
``/api/library``               the home as JSON
``/api/titles/{id}``           one title as JSON
``/api/service``               counts not yet sent in a check-in
``POST /api/plays/{id}``       the player's beacon: one play (sent once per page view)
``/static/style.css|icon.svg``  the two assets, shipped in the package
=============================  ===============================================================

What counts as a play: for a video, the page's player starting to play (the beacon); for the
handbook and other documents, a GET of `/media/{id}` from byte 0 (a fresh open, not a seek).

An id that is not a title of the active release, and any other path, is a 404: there is no
route from a URL to a file name.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from manifest import Kind

from ..checkin import ServiceLog, one_line
from ..i18n import _, language
from . import _pages as pages
from ._content import file_response, starts_at_zero
from ._library import Library, Snapshot, Title

MAX_FORM_BYTES = 2048
REQUEST_BURST = 20
REQUEST_REFILL_S = 60.0
"""点单 rate: a burst of 20, then one a minute, box-wide (visitors are not told apart)."""
_STATIC = {"style.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"}
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self'; "
       "img-src 'self'; media-src 'self'; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'")
"""Pages may load nothing from anywhere but the box (the one inline script reports a play)."""


def pick_language(accept: str | None) -> str:
    """Chinese first; English when the browser prefers it (Accept-Language, by q then order)."""
    best: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept or "").split(",")[:20]):
        tag, _sep, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        best.append((-q, i, tag.strip().lower()))
    for _q, _i, tag in sorted(best):
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return "zh_CN"


def static_file(name: str) -> tuple[bytes, str] | None:
    """One of the shipped assets (bytes, content type), or None: a fixed list, no paths."""
    if name not in _STATIC:
        return None
    return resources.files(__package__).joinpath("static", name).read_bytes(), _STATIC[name]


class TokenBucket:
    """A box-wide rate limit (pure apart from the clock it is given)."""

    def __init__(self, burst: int, refill_s: float, now: float) -> None:
        self.burst, self.refill_s = burst, refill_s
        self.tokens, self.at = float(burst), now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.at) / self.refill_s)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def title_json(t: Title) -> dict[str, Any]:
    e = t.entry
    return {"id": t.id, "title": e.title, "kind": e.kind.value, "themes": list(e.themes),
            "duration": e.duration, "size": e.size, "channel": t.channel,
            "version": t.version, "url": f"/t/{t.id}", "media": f"/media/{t.id}"}


def library_json(snap: Snapshot) -> dict[str, Any]:
    return {
        "releases": [{"channel": c, "version": v, "title": t}
                     for c, v, t in snap.release_titles],
        "shelves": [{"kind": s.kind.value, "theme": s.theme, "titles": [t.id for t in s.titles]}
                    for s in snap.shelves],
        "titles": {t.id: title_json(t) for t in snap.titles.values()},
    }


def request_key(choice: str, wish: str, snap: Snapshot) -> str | None:
    """The counter key of a 点单 form: an offered kind/theme, or the (bounded) wish text."""
    if choice:
        kind, _sep, value = choice.partition(":")
        if kind == "kind" and value in {k.value for k in snap.kinds()}:
            return choice
        if kind == "theme" and value in snap.themes():
            return choice
        return None
    text = one_line(unicodedata.normalize("NFC", wish), pages.MAX_WISH)
    return f"wish:{text}" if text else None


class LibraryApp:
    """The ASGI app over a `Library` and the box's `ServiceLog`."""

    def __init__(self, library: Library, service: ServiceLog, *,
                 clock: Any = time.monotonic) -> None:
        self.library = library
        self.service = service
        self.clock = clock
        self.bucket = TokenBucket(REQUEST_BURST, REQUEST_REFILL_S, clock())
        self.app = Starlette(routes=[
            Route("/", self.home),
            Route("/t/{id}", self.title),
            Route("/media/{id}", self.media, methods=["GET", "HEAD"]),
            Route("/search", self.search),
            Route("/request", self.request_form, methods=["GET", "POST"]),
            Route("/api/library", self.api_library),
            Route("/api/titles/{id}", self.api_title),
            Route("/api/service", self.api_service),
            Route("/api/plays/{id}", self.api_play, methods=["POST"]),
            Route("/static/{name}", self.static_file),
        ])
        self.app.add_exception_handler(404, self._not_found)
        self.app.add_exception_handler(405, self._not_allowed)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    def _html(self, request: Request, title: str | Callable[[], str],
              render: Callable[[], str], status: int = 200,
              query: str = "") -> HTMLResponse:
        lang = pick_language(request.headers.get("accept-language"))
        with language([lang]):
            body = render()
            html = pages.page(title() if callable(title) else title, body,
                              lang="zh-CN" if lang == "zh_CN" else "en", query=query)
        return HTMLResponse(html, status_code=status, headers={
            "content-language": lang, "vary": "accept-language", "content-security-policy": CSP})

    def _title(self, request: Request) -> Title | None:
        return self.library.snapshot().titles.get(request.path_params["id"])

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(("/api/", "/media/")):
            return JSONResponse({"error": "Not Found"}, status_code=404)
        return self._html(request, lambda: _("Not found"), pages.not_found, 404)

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": "Method Not Allowed"}, status_code=405)

    async def home(self, request: Request) -> Response:
        snap = self.library.snapshot()
        return self._html(request, lambda: _("Station library"), lambda: pages.home(snap))

    async def title(self, request: Request) -> Response:
        t = self._title(request)
        if t is None:
            return await self._not_found(request, LookupError())
        snap = self.library.snapshot()
        return self._html(request, t.name, lambda: pages.title_page(t, snap))

    async def media(self, request: Request) -> Response:
        t = self._title(request)
        if t is None:
            return await self._not_found(request, LookupError())
        rng = request.headers.get("range")
        head = request.method == "HEAD"
        download = request.query_params.get("download") == "1"
        try:
            response = await file_response(
                self.library.file_of(t), head=head, range_header=rng,
                etag=t.entry.sha256.hex()[:32],
                filename=t.entry.path.rsplit("/", 1)[-1] if download else None)
        except OSError:  # swapped away, or not fetched: nothing to serve under this id
            return await self._not_found(request, LookupError())
        if (not head and t.kind not in (Kind.FILM, Kind.COURSE) and response.status_code < 300
                and starts_at_zero(rng)):
            self.service.record_play(t.name)
        return response

    async def search(self, request: Request) -> Response:
        q = request.query_params.get("q", "")[:50]
        found = self.library.snapshot().search(q)
        return self._html(request, lambda: _("Search"), lambda: pages.search_page(q, found),
                          query=q)

    async def request_form(self, request: Request) -> Response:
        snap = self.library.snapshot()
        if request.method == "GET":
            done = request.query_params.get("done") == "1"
            refused = request.query_params.get("busy") == "1"
            return self._html(request, lambda: _("Ask for content"),
                              lambda: pages.request_page(snap, done=done, refused=refused))
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return JSONResponse({"error": "Payload Too Large"}, status_code=413)
        try:
            form = parse_qs(body.decode("utf-8"), max_num_fields=4)
        except (UnicodeDecodeError, ValueError):
            return JSONResponse({"error": "Bad Request"}, status_code=400)
        key = request_key(form.get("choice", [""])[0], form.get("wish", [""])[0], snap)
        if key is None:
            return RedirectResponse("/request", status_code=303)
        if not self.bucket.take(self.clock()):
            return RedirectResponse("/request?busy=1", status_code=303)
        self.service.record_request(key)
        return RedirectResponse("/request?done=1", status_code=303)

    async def api_library(self, request: Request) -> Response:
        return JSONResponse(library_json(self.library.snapshot()))

    async def api_title(self, request: Request) -> Response:
        t = self._title(request)
        if t is None:
            return JSONResponse({"error": "Not Found"}, status_code=404)
        return JSONResponse(title_json(t))

    async def api_service(self, request: Request) -> Response:
        r = self.service.pending()
        return JSONResponse({"plays": r.plays, "days": r.days, "requests": r.requests})

    async def api_play(self, request: Request) -> Response:
        t = self._title(request)
        if t is None:
            return JSONResponse({"error": "Not Found"}, status_code=404)
        self.service.record_play(t.name)
        return JSONResponse({"counted": True})

    async def static_file(self, request: Request) -> Response:
        found = static_file(request.path_params["name"])
        if found is None:
            return JSONResponse({"error": "Not Found"}, status_code=404)
        return Response(found[0], media_type=found[1], headers={"cache-control": "max-age=3600"})
