"""One translation function for every user-facing message, on the ground floor (gettext style).

It lives in the lowest layer so that every layer (keys and manifest included) translates its
messages the same way; `p2pdist.i18n` re-exports it. Call sites write
``_("... {name} ...").format(name=...)`` so translators see whole sentences with named fields.

The catalog ships inside the package: `p2pdist/locale/<lang>/LC_MESSAGES/p2pdist.mo` (compiled
from the `.po` next to it by `make catalog`). It is found by path from here, without importing
the upper layers. Without a catalog for the language, messages stay English.

Language choice (`language_from_env`): `P2PDIST_LANG` first, then as GNU gettext does:
LANGUAGE (a colon list) unless the locale (LC_ALL, LC_MESSAGES, LANG, first set) is C/POSIX,
which means English. The CLI's `--lang` calls `set_language`, which also binds this catalog
as the process's global gettext domain, so click's own words ("Usage:", "Options:") follow.
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

DOMAIN = "p2pdist"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "p2pdist" / "locale"
_ENGLISH = frozenset({"", "C", "POSIX", "en", "en_US", "en_GB"})


def _is_english(lang: str) -> bool:
    return lang.split(".")[0].split("@")[0] in _ENGLISH


def language_from_env(env: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for ("C" for English), by the usual variables."""
    env = os.environ if env is None else env
    explicit = env.get("P2PDIST_LANG", "")
    if explicit:
        return explicit
    locale = next((env[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(v)), "C")
    if locale.split(".")[0] in ("C", "POSIX"):
        return "C"
    return env.get("LANGUAGE", "") or locale


def translation_for(lang: str | None) -> gettext.NullTranslations:
    """The catalog for `lang` (e.g. "zh_CN", "zh_CN.UTF-8", "zh:en"), or English.

    For callers that answer several languages in one process (a web page per Accept-Language).
    """
    langs = [part for part in (lang or "").split(":") if part]
    if not langs or _is_english(langs[0]):
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=langs, fallback=True)


_state: dict[str, gettext.NullTranslations] = {"t": translation_for(language_from_env())}
_request: contextvars.ContextVar[gettext.NullTranslations | None] = contextvars.ContextVar(
    "p2pdist_language", default=None)


def _current() -> gettext.NullTranslations:
    return _request.get() or _state["t"]


@contextlib.contextmanager
def language(languages: Sequence[str]) -> Iterator[None]:
    """Within the block, `_` of this task (and only this task) speaks the first of `languages`
    that has a catalog (e.g. ``["zh_CN"]``), or English. For servers whose users each have a
    language (the station's web); the process's own language is left alone."""
    token = _request.set(translation_for(":".join(languages)))
    try:
        yield
    finally:
        _request.reset(token)


def set_language(lang: str, *, process_wide: bool = False) -> None:
    """Translate from now on into `lang` ("C" for English).

    With `process_wide` (the CLI does this), the choice is also exported to the environment
    (P2PDIST_LANG for our child processes, LANGUAGE for the stdlib's global gettext) and our
    catalog becomes the global gettext domain, so libraries that call `gettext.gettext` (click)
    speak the same language.
    """
    _state["t"] = translation_for(lang)
    if process_wide:
        os.environ["P2PDIST_LANG"] = lang
        os.environ["LANGUAGE"] = "C" if _is_english(lang) else lang
        gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
        gettext.textdomain(DOMAIN)


def _(message: str) -> str:
    """Translate `message` into the chosen language (see `language_from_env`)."""
    return _current().gettext(message)


def N_(message: str) -> str:
    """Mark `message` for the catalog without translating it now (it is translated where shown)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message whose form depends on the count `n`."""
    return _current().ngettext(singular, plural, n)


__all__ = [
    "DOMAIN",
    "LOCALE_DIR",
    "N_",
    "_",
    "language",
    "language_from_env",
    "ngettext",
    "set_language",
    "translation_for",
]
