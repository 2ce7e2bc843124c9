"""The library's HTML, rendered on the server (no scripts beyond one line that reports a play).

Every text a visitor reads goes through `_` (the request's language is chosen by the app);
every value from the catalog or the visitor is escaped. Works without CSS grid support (old TV
browsers just stack the cards) and without JavaScript (plays of videos are then not counted).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from manifest import Kind

from ..i18n import _
from ._library import Shelf, Snapshot, Title

MAX_WISH = 100


def kind_name(kind: Kind) -> str:
    return {Kind.FILM: _("Films"), Kind.COURSE: _("Micro-courses"),
            Kind.HANDBOOK: _("Handbook"), Kind.OTHER: _("Other")}[kind]


def duration_text(seconds: int) -> str:
    if seconds <= 0:
        return ""
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return _("{m} min").format(m=minutes)
    return _("{h} h {m} min").format(h=minutes // 60, m=minutes % 60)


def size_text(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def page(title: str, body: str, *, lang: str, query: str = "") -> str:
    return f"""<!doctype html>
<html lang="{escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/style.css">
</head><body>
<header><a class="home" href="/"><img src="/static/icon.svg" alt="" width="32" height="32">
<span>{escape(_("Station library"))}</span></a>
<form class="search" action="/search" method="get" role="search">
<input type="search" name="q" value="{escape(query)}" maxlength="50"
 placeholder="{escape(_("Search by title"))}" aria-label="{escape(_("Search by title"))}">
<button type="submit">{escape(_("Search"))}</button></form>
<nav><a href="/#film">{escape(_("Films"))}</a>
<a href="/#course">{escape(_("Micro-courses"))}</a>
<a href="/#handbook">{escape(_("Handbook"))}</a>
<a href="/request">{escape(_("Ask for content"))}</a>
</nav></header>
<main>{body}</main>
<footer>{escape(_("Offline library of this cultural station: nothing here reaches the internet."))}
</footer></body></html>"""


def _card(t: Title) -> str:
    meta = duration_text(t.entry.duration) or kind_name(t.kind)
    return (f'<li class="card {t.kind.value}"><a href="/t/{t.id}">'
            f'<span class="badge">{escape(kind_name(t.kind))}</span>'
            f'<span class="name">{escape(t.name)}</span>'
            f'<span class="meta">{escape(meta)}</span></a></li>')


def cards(titles: Iterable[Title]) -> str:
    return '<ul class="cards">' + "".join(_card(t) for t in titles) + "</ul>"


def _shelf(s: Shelf) -> str:
    theme = s.theme or _("Other titles")
    return (f'<section class="shelf"><h3>{escape(theme)} <small>'
            f'{escape(_("{n} titles").format(n=len(s.titles)))}</small></h3>'
            f"{cards(s.titles)}</section>")


def home(snap: Snapshot) -> str:
    if not snap.titles:
        empty = _("Nothing to play yet: the box has no active release. Come back after the "
                  "update.")
        return f'<p class="empty">{escape(empty)}</p>'
    parts = []
    for _channel, version, title in snap.release_titles:
        parts.append(f'<p class="release">{escape(title)} · '
                     f"{escape(_('version {v}').format(v=version))}</p>")
    for kind in snap.kinds():
        shelves = [s for s in snap.shelves if s.kind is kind]
        parts.append(f'<h2 id="{kind.value}">{escape(kind_name(kind))}</h2>')
        parts += [_shelf(s) for s in shelves]
    return "".join(parts)


def title_page(t: Title, snap: Snapshot) -> str:
    e = t.entry
    themes = ", ".join(escape(x) for x in e.themes) or "-"
    facts = [(_("Kind"), escape(kind_name(t.kind))), (_("Themes"), themes)]
    if e.duration:
        facts.append((_("Duration"), escape(duration_text(e.duration))))
    facts.append((_("Size"), escape(size_text(e.size))))
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in facts)
    media = f"/media/{t.id}"
    if t.kind in (Kind.FILM, Kind.COURSE):
        player = (f'<video id="player" controls preload="metadata" playsinline src="{media}">'
                  f'<a href="{media}">{escape(_("Download"))}</a></video>'
                  f'<script>(function(){{var v=document.getElementById("player"),s=0;'
                  f'v.addEventListener("playing",function(){{if(s)return;s=1;'
                  f'fetch("/api/plays/{t.id}",{{method:"POST"}});}});}})();</script>')
    else:
        player = (f'<p class="actions"><a class="button" href="{media}">'
                  f'{escape(_("Open"))}</a> <a class="button" href="{media}?download=1">'
                  f'{escape(_("Download"))}</a></p>')
    description = _("{kind} of the theme(s) {themes}, from the release {release}.").format(
        kind=kind_name(t.kind), themes=", ".join(e.themes) or "-",
        release=next((r[2] for r in snap.release_titles if r[0] == t.channel), t.channel))
    related = [x for s in snap.shelves if s.theme in e.themes and s.kind is t.kind
               for x in s.titles if x.id != t.id]
    more = ""
    if related:
        more = (f"<h3>{escape(_('More on this theme'))}</h3>"
                f"{cards(list(dict.fromkeys(related))[:8])}")
    return (f'<article class="title"><h1>{escape(t.name)}</h1>{player}'
            f'<p class="description">{escape(description)}</p><dl>{rows}</dl></article>{more}')


def search_page(query: str, found: list[Title]) -> str:
    if not query.strip():
        return f"<p>{escape(_('Type a few characters of a title.'))}</p>"
    head = _("{n} titles match {q}").format(n=len(found), q=f"“{query}”")
    return f"<h2>{escape(head)}</h2>" + (cards(found) if found else "")


def request_page(snap: Snapshot, *, done: bool, refused: bool) -> str:
    options = [f'<option value="kind:{k.value}">{escape(kind_name(k))}</option>'
               for k in snap.kinds()]
    options += [f'<option value="theme:{escape(t)}">{escape(t)}</option>'
                for t in snap.themes()]
    note = ""
    if done:
        note = f'<p class="note ok">{escape(_("Thank you: your request was noted."))}</p>'
    if refused:
        busy = _("Too many requests just now; please try again later.")
        note = f'<p class="note">{escape(busy)}</p>'
    return f"""<h1>{escape(_("Ask for content"))}</h1>{note}
<p>{escape(_("Tell the cultural center what you would like in the next bundle."))}</p>
<form class="ask" action="/request" method="post">
<label>{escape(_("More of"))} <select name="choice">
<option value="">{escape(_("(choose a kind or theme)"))}</option>{"".join(options)}</select></label>
<label>{escape(_("Or write a wish"))} <input type="text" name="wish" maxlength="{MAX_WISH}"
 placeholder="{escape(_("e.g. courses on mobile payment"))}"></label>
<button type="submit">{escape(_("Send"))}</button></form>
<p class="small">{escape(_("Only the count of each request is kept; nothing about who asked."))}</p>
"""


def not_found() -> str:
    return (f"<h1>{escape(_('Not found'))}</h1><p><a href=\"/\">"
            f"{escape(_('Back to the library'))}</a></p>")
