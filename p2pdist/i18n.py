"""One translation function for every user-facing message (gettext style).

Call sites write ``_("... {name} ...").format(name=...)`` so translators see whole sentences with
named fields. A Chinese catalog can be dropped into `p2pdist/locale/zh_CN/LC_MESSAGES/p2pdist.mo`
later without touching call sites; until then messages are English.
"""

from __future__ import annotations

import gettext
from pathlib import Path

_LOCALE_DIR = Path(__file__).with_name("locale")
_translation = gettext.translation("p2pdist", localedir=_LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    """Translate `message` into the user's language (LANGUAGE / LC_ALL / LANG)."""
    return _translation.gettext(message)


__all__ = ["_"]
