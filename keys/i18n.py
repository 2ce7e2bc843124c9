"""One translation function for every user-facing message, on the ground floor (gettext style).

It lives in the lowest layer so that every layer (keys and manifest included) translates its
messages the same way; `p2pdist.i18n` re-exports it. Call sites write
``_("... {name} ...").format(name=...)`` so translators see whole sentences with named fields.
The catalog is `p2pdist/locale/<lang>/LC_MESSAGES/p2pdist.mo`; without one, messages stay English.
"""

from __future__ import annotations

import gettext
from pathlib import Path

_LOCALE_DIR = Path(__file__).resolve().parent.parent / "p2pdist" / "locale"
_translation = gettext.translation("p2pdist", localedir=_LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    """Translate `message` into the user's language (LANGUAGE / LC_ALL / LC_MESSAGES / LANG)."""
    return _translation.gettext(message)


__all__ = ["_"]
