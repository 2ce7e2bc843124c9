"""One translation function for every user-facing message, on the ground floor (gettext style).

It lives in the lowest layer so that every layer (keys and manifest included) translates its
messages the same way; `p2pdist.i18n` re-exports it. Call sites write
``_("... {name} ...").format(name=...)`` so translators see whole sentences with named fields.
The catalog is `p2pdist/locale/<lang>/LC_MESSAGES/p2pdist.mo`; without one, messages stay English.
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext
from collections.abc import Iterator, Sequence
from pathlib import Path

_LOCALE_DIR = Path(__file__).resolve().parent.parent / "p2pdist" / "locale"
_translation = gettext.translation("p2pdist", localedir=_LOCALE_DIR, fallback=True)
_request: contextvars.ContextVar[gettext.NullTranslations | None] = contextvars.ContextVar(
    "p2pdist_language", default=None)


def _(message: str) -> str:
    """Translate `message` into the user's language (LANGUAGE / LC_ALL / LC_MESSAGES / LANG),
    or into the language `language()` chose for the current task (a web request)."""
    return (_request.get() or _translation).gettext(message)


@contextlib.contextmanager
def language(languages: Sequence[str]) -> Iterator[None]:
    """Within the block, `_` of this task (and only this task) speaks the first of `languages`
    that has a catalog (e.g. ``["zh_CN"]``), or English. For servers whose users each have a
    language (the station's web); the process's own language is left alone."""
    token = _request.set(gettext.translation("p2pdist", localedir=_LOCALE_DIR,
                                             languages=list(languages), fallback=True))
    try:
        yield
    finally:
        _request.reset(token)


__all__ = ["_", "language"]
