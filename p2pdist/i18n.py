"""The translation function of every layer (defined on the ground floor, `keys.i18n`)."""

from keys.i18n import _, language

__all__ = ["_", "language"]
