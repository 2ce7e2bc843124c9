"""The catalog file: the operator's TOML list of what each content file is (`release build` input).

The release manifest carries catalog metadata (kind, themes, title, duration) for every file; the
operator writes it once, by hand or with `p2pdist sample`, in a TOML file next to the content::

    title = "文化年货带回家 · 2027 冬季"     # release title (optional)

    [[file]]
    # relative POSIX path under the content folder
    path = "微课/跨越时空拜新年/01 微信文字和语音聊天.mp4"
    kind = "course"                        # film | course | handbook | other
    themes = ["跨越时空拜新年"]              # one or more; a film may sit in two themes
    title = "微信文字和语音聊天"
    duration = 600                         # whole seconds; 0 for the handbook

Every `[[file]]` needs all five keys; unknown keys are refused so that a typo (`theme = ...`) is
not silently dropped. Paths, titles and themes are NFC-normalized on read, because the same
Chinese name typed on another system may arrive decomposed; two paths that become equal are
reported. The full path rules (FAT-safe characters, case-fold collisions, length limits) belong to
the manifest and are checked when the release is built; this module checks only what it needs to
match entries to files.

This module is I/O only at `read_catalog`; `parse_catalog`, `dump_catalog` and
`entries_for_files` work on plain values.
"""

from __future__ import annotations

import json
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .i18n import _, ngettext

KINDS: tuple[str, ...] = ("film", "course", "handbook", "other")
"""The values `kind` may take, as the manifest's `Kind` enumerates them."""

_ENTRY_KEYS = ("path", "kind", "themes", "title", "duration")
_TOP_KEYS = ("title", "file")
_SHOWN = 5
"""How many names an error lists before it says "and N more": enough to act on, short to read."""


@dataclass(frozen=True)
class CatalogEntry:
    """What one content file is: its kind, the themes (collections) it belongs to, its title and
    its running time in whole seconds (0 for documents)."""

    kind: str
    themes: tuple[str, ...]
    title: str
    duration: int


@dataclass(frozen=True)
class Catalog:
    """A parsed catalog: the release title and one entry per NFC relative path, in file order.

    `source` names where it was read from, so later errors (a file with no entry) can say which
    catalog to edit; it is empty for a catalog built in memory.
    """

    title: str
    entries: dict[str, CatalogEntry]
    source: str = ""


def read_catalog(path: Path) -> Catalog:
    """Read and validate a catalog file.

    Args:
        path: the catalog TOML file.

    Returns:
        The catalog, with NFC paths, titles and themes.

    Raises:
        ConfigError: the file cannot be read, is not UTF-8 TOML (the message gives the line), or an
            entry is invalid; the message names the file, the entry and the problem.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(
            _("cannot read catalog {path}: {value}").format(
                path=path, value=e.strerror or e)) from e
    return parse_catalog(data, source=str(path))


def parse_catalog(data: bytes, *, source: str = "catalog") -> Catalog:
    """Validate catalog TOML bytes (the pure half of `read_catalog`).

    Args:
        data: the file's bytes.
        source: the name used in error messages and kept in `Catalog.source`.

    Returns:
        The catalog.

    Raises:
        ConfigError: as for `read_catalog`.
    """
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(
            _("{source}: not UTF-8 text (bad byte at offset {start})").format(
                source=source, start=e.start)) from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(_("{source}: not valid TOML: {e}").format(source=source, e=e)) from e
    unknown = sorted(set(doc) - set(_TOP_KEYS))
    if unknown:
        raise ConfigError(
            _("{source}: unknown top-level key {unknown!r} (allowed: 'title' and "
              "[[file]] tables)").format(source=source, unknown=unknown[0])
        )
    title = doc.get("title", "")
    if not isinstance(title, str):
        raise ConfigError(
            _("{source}: 'title' must be a string, not {tname}").format(
                source=source, tname=_tname(title)))
    files = doc.get("file")
    if files is None:
        raise ConfigError(
            _("{source}: lists no files; add a [[file]] table per content file").format(
                source=source))
    if not isinstance(files, list) or not all(isinstance(t, dict) for t in files):
        raise ConfigError(
            _("{source}: 'file' must be [[file]] tables, one per content file").format(
                source=source))
    entries: dict[str, CatalogEntry] = {}
    raw_of: dict[str, tuple[int, str]] = {}
    for index, table in enumerate(files, start=1):
        raw_path, entry = _parse_entry(table, f"{source}: [[file]] #{index}")
        norm = unicodedata.normalize("NFC", raw_path)
        if norm in entries:
            first_index, first_raw = raw_of[norm]
            if first_raw == raw_path:
                raise ConfigError(
                    _("{source}: [[file]] #{index}: path {raw_path!r} is already "
                      "listed by [[file]] #{first_index}").format(
                        source=source, index=index, raw_path=raw_path, first_index=first_index)
                )
            raise ConfigError(
                _("{source}: [[file]] #{index}: path {raw_path!r} and [[file]] "
                  "#{first_index}'s {first_raw!r} are the same name after Unicode NFC "
                  "normalization").format(
                    source=source, index=index, raw_path=raw_path, first_index=first_index,
                    first_raw=first_raw)
            )
        entries[norm] = entry
        raw_of[norm] = (index, raw_path)
    return Catalog(unicodedata.normalize("NFC", title), entries, source)


def _parse_entry(table: dict[str, object], where: str) -> tuple[str, CatalogEntry]:
    """Check one [[file]] table; return its path as written and its entry (NFC text fields)."""
    raw = table.get("path")
    if isinstance(raw, str) and raw:
        where = f"{where} ({raw!r})"
    for key in table:
        if key not in _ENTRY_KEYS:
            raise ConfigError(
                _("{where}: unknown key {key!r} (allowed: {entry_keys})").format(
                    where=where, key=key, entry_keys=', '.join(_ENTRY_KEYS)))
    for key in _ENTRY_KEYS:
        if key not in table:
            raise ConfigError(_("{where}: missing {key!r}").format(where=where, key=key))
    path = _string(table, "path", where)
    _check_path_shape(path, where)
    kind = _string(table, "kind", where)
    if kind not in KINDS:
        raise ConfigError(
            _("{where}: kind {kind!r} is not one of {kinds}").format(
                where=where, kind=kind, kinds=', '.join(KINDS)))
    themes = table["themes"]
    if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes):
        raise ConfigError(
            _("{where}: 'themes' must be a list of strings, not {tname}").format(
                where=where, tname=_tname(themes)))
    if not themes:
        raise ConfigError(
            _("{where}: 'themes' is empty; give at least one theme").format(where=where))
    norm_themes = tuple(unicodedata.normalize("NFC", t) for t in themes)
    if any(not t.strip() for t in norm_themes):
        raise ConfigError(_("{where}: 'themes' contains an empty theme").format(where=where))
    if len(set(norm_themes)) != len(norm_themes):
        raise ConfigError(_("{where}: 'themes' lists a theme twice").format(where=where))
    title = _string(table, "title", where)
    duration = table["duration"]
    # TOML booleans are Python bools, which are ints; a duration of `true` is a typo, not 1 s.
    if not isinstance(duration, int) or isinstance(duration, bool):
        raise ConfigError(
            _("{where}: 'duration' must be a whole number of seconds, not {tname}").format(
                where=where, tname=_tname(duration))
        )
    if duration < 0:
        raise ConfigError(
            _("{where}: 'duration' is negative ({duration})").format(
                where=where, duration=duration))
    entry = CatalogEntry(kind, norm_themes, unicodedata.normalize("NFC", title), duration)
    return path, entry


def _string(table: dict[str, object], key: str, where: str) -> str:
    """The non-blank string at `key`, or a ConfigError naming the key and the wrong type."""
    value = table[key]
    if not isinstance(value, str):
        raise ConfigError(
            _("{where}: {key!r} must be a string, not {tname}").format(
                where=where, key=key, tname=_tname(value)))
    if not value.strip():
        raise ConfigError(_("{where}: {key!r} is empty").format(where=where, key=key))
    return value


def _check_path_shape(path: str, where: str) -> None:
    """Refuse paths that could not name a file under the content dir: entries are matched to
    files by this exact string, so `./a`, `a//b` or `C:\\a` would only fail later, less clearly."""
    if path.startswith("/"):
        raise ConfigError(
            _("{where}: path is absolute; give it relative to the content folder").format(
                where=where))
    if "\\" in path:
        raise ConfigError(
            _("{where}: path contains a backslash; use '/' between folders").format(where=where))
    if any(seg in ("", ".", "..") for seg in path.split("/")):
        raise ConfigError(_("{where}: path has an empty, '.' or '..' part").format(where=where))


def _tname(value: object) -> str:
    """A TOML-ish name for a value's type, for messages read by operators, not programmers."""
    names = {
        bool: _("a boolean"),
        int: _("an integer"),
        float: _("a number with a fraction"),
        str: _("a string"),
        list: _("a list"),
        dict: _("a table"),
    }
    return names.get(type(value), type(value).__name__)


def entries_for_files(catalog: Catalog, paths: Iterable[str]) -> dict[str, CatalogEntry]:
    """Pair every content file with its catalog entry, requiring a one-to-one match.

    `release build` calls this with the files it found under the content folder (the catalog file
    itself excluded) so that a file with no metadata, or metadata whose file is missing or
    misspelt, stops the build instead of shipping a half-described release.

    Args:
        catalog: the catalog.
        paths: relative POSIX paths of the content files; looked up in NFC form.

    Returns:
        Each given path (as given) mapped to its entry, in the order given.

    Raises:
        ConfigError: some files have no entry and/or some entries have no file; the message lists
            both kinds (the first few of each) and names the catalog.
    """
    found: dict[str, CatalogEntry] = {}
    used: set[str] = set()
    orphans: list[str] = []
    for p in paths:
        norm = unicodedata.normalize("NFC", p)
        entry = catalog.entries.get(norm)
        if entry is None:
            orphans.append(p)
        else:
            found[p] = entry
            used.add(norm)
    missing = [p for p in catalog.entries if p not in used]
    if orphans or missing:
        problems = []
        if orphans:
            problems.append(ngettext(
                "{n} file has no catalog entry: {names}",
                "{n} files have no catalog entry: {names}", len(orphans),
            ).format(n=len(orphans), names=_names(orphans)))
        if missing:
            problems.append(ngettext(
                "{n} catalog entry has no file: {names}",
                "{n} catalog entries have no file: {names}", len(missing),
            ).format(n=len(missing), names=_names(missing)))
        raise ConfigError(_("{source}: {problems}").format(
            source=catalog.source or "catalog", problems="; ".join(problems)))
    return found


def _names(items: list[str]) -> str:
    shown = ", ".join(repr(p) for p in items[:_SHOWN])
    if len(items) <= _SHOWN:
        return shown
    return _("{shown} and {n} more").format(shown=shown, n=len(items) - _SHOWN)


def dump_catalog(catalog: Catalog) -> str:
    """Render a catalog in the format `read_catalog` reads (for generated catalogs).

    Args:
        catalog: the catalog; entries are written in its order, an empty title is left out.

    Returns:
        The TOML text (UTF-8 when encoded), ending in a newline.
    """
    lines = [f"title = {_toml_str(catalog.title)}", ""] if catalog.title else []
    for path, e in catalog.entries.items():
        themes = ", ".join(_toml_str(t) for t in e.themes)
        lines += [
            "[[file]]",
            f"path = {_toml_str(path)}",
            f"kind = {_toml_str(e.kind)}",
            f"themes = [{themes}]",
            f"title = {_toml_str(e.title)}",
            f"duration = {e.duration}",
            "",
        ]
    return "\n".join(lines)


def _toml_str(text: str) -> str:
    """A TOML basic string. JSON's escapes are a subset of TOML's; DEL is the one control
    character JSON leaves raw and TOML forbids, so it is escaped by hand."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
