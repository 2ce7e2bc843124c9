"""The translation function of every layer (defined on the ground floor, `keys.i18n`)."""

from keys.i18n import (
    N_,
    _,
    language,
    language_from_env,
    ngettext,
    set_language,
    translation_for,
)

__all__ = [
    "N_",
    "_",
    "language",
    "language_from_env",
    "ngettext",
    "set_language",
    "translation_for",
]
