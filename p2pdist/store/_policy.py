"""Which files of a release a box wants: a pure filter over the manifest's catalog data.

Boxes differ: a county station with a small disk may take only the courses and the handbook, a
township that already screened a film theme may skip it. The policy is plain data, so the store,
the agent and the CLI all decide "wanted" the same way.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from manifest import FileEntry, Kind, Manifest

from ..errors import ConfigError
from ..i18n import _

_KEYS = ("kinds", "themes", "exclude-themes")


@dataclass(frozen=True)
class Policy:
    """The files a box wants, by kind and theme. The default wants every file.

    A file is wanted when its kind is selected and at least one of its themes is selected.
    A theme is selected when `themes` is None (all) or lists it, and `exclude_themes` does not.
    A file with no theme is wanted only when `themes` is None. A file in two themes (《过年好》)
    stays wanted while either theme is selected: excluding one theme hides that theme's files,
    not a film someone chose through another theme.

    Attributes:
        kinds: the kinds wanted; None means all.
        themes: the themes wanted; None means all.
        exclude_themes: themes never wanted.
    """

    kinds: frozenset[Kind] | None = None
    themes: frozenset[str] | None = None
    exclude_themes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.themes is not None:
            both = self.themes & self.exclude_themes
            if both:
                raise ConfigError(
                    _("themes {themes} are both wanted and excluded; name each theme once")
                    .format(themes=", ".join(sorted(both)))
                )

    @classmethod
    def parse(cls, *specs: str) -> Policy:
        """Build a policy from `key=value,value` strings (config lines or repeated CLI options).

        Keys: ``kinds`` (film, course, handbook, other), ``themes``, ``exclude-themes``. Values
        are comma-separated; spaces around them are ignored; a key given twice adds to its list.
        No spec (or only blank ones) means "every file". Examples::

            Policy.parse("kinds=course,handbook")
            Policy.parse("kinds=film", "exclude-themes=战争片")

        Theme names are compared after NFC normalization. A theme whose name contains a comma
        cannot be written here; build `Policy` directly for it.

        Args:
            specs: the policy lines.

        Returns:
            The policy.

        Raises:
            ConfigError: an unknown key or kind, an empty list, or a theme both wanted and
                excluded; the message names the offending text.
        """
        lists: dict[str, set[str]] = {}
        for spec in specs:
            if not spec.strip():
                continue
            key, sep, value = spec.partition("=")
            key = key.strip()
            if not sep or key not in _KEYS:
                raise ConfigError(
                    _("policy {spec!r} is not key=value with key one of {keys} "
                      "(e.g. kinds=course,handbook)").format(spec=spec, keys=", ".join(_KEYS))
                )
            items = [unicodedata.normalize("NFC", v.strip()) for v in value.split(",")]
            if not all(items):
                raise ConfigError(
                    _("policy {spec!r} has an empty name in its list").format(spec=spec)
                )
            lists.setdefault(key, set()).update(items)
        kinds = None if "kinds" not in lists else frozenset(_kind(k) for k in lists["kinds"])
        themes = None if "themes" not in lists else frozenset(lists["themes"])
        return cls(kinds, themes, frozenset(lists.get("exclude-themes", ())))

    def wants(self, entry: FileEntry) -> bool:
        """Whether the box wants `entry` (see the class docstring for the rule)."""
        if self.kinds is not None and entry.kind not in self.kinds:
            return False
        if not entry.themes:
            return self.themes is None
        return any(self._theme_selected(t) for t in entry.themes)

    def wanted(self, manifest: Manifest) -> tuple[FileEntry, ...]:
        """The files of `manifest` this box wants, in manifest order."""
        return tuple(f for f in manifest.files if self.wants(f))

    def _theme_selected(self, theme: str) -> bool:
        if theme in self.exclude_themes:
            return False
        return self.themes is None or theme in self.themes


def _kind(name: str) -> Kind:
    try:
        return Kind(name)
    except ValueError:
        raise ConfigError(
            _("policy kind {kind!r} is not one of {kinds}")
            .format(kind=name, kinds=", ".join(k.value for k in Kind))
        ) from None

