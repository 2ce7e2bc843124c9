"""The zh_CN catalog: complete for the code, same named fields, compiled, consistent terms."""

from __future__ import annotations

import gettext
import re
import string
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from keys.i18n import LOCALE_DIR, translation_for

ROOT = Path(__file__).resolve().parent.parent.parent
PO = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "p2pdist.po"
MO = PO.with_suffix(".mo")
PERCENT = re.compile(r"%\((\w+)\)[sdr]")


def _catalog():  # type: ignore[no-untyped-def]
    with PO.open("rb") as f:
        return read_po(f, locale="zh_CN")


def _fields(text: str) -> set[tuple[str, str | None, str | None]]:
    out = {(m, None, None) for m in PERCENT.findall(text)}
    for _lit, name, spec, conv in string.Formatter().parse(text):
        if name is not None:
            out.add((name, conv, spec))
    return out


def _pairs() -> list[tuple[str, str]]:
    pairs = []
    for m in _catalog():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        pairs += [(ids[-1 if i else 0], s) for i, s in enumerate(strs)]
    return pairs


def test_every_message_of_the_code_has_a_translation() -> None:
    sys.path.insert(0, str(ROOT))
    from scripts.catalog import extract

    have = {m.id for m in _catalog() if m.id and (m.string if isinstance(m.string, str)
                                                  else all(m.string)) and not m.fuzzy}
    wanted = {m.id for m in extract() if m.id}
    missing = sorted(str(w) for w in wanted - have)
    assert not missing, f"run `make catalog` and translate: {missing[:20]}"


def test_translations_keep_the_named_fields() -> None:
    bad = [(mid, s) for mid, s in _pairs() if s and _fields(mid) != _fields(s)]
    assert not bad, bad[:10]


def test_translations_are_chinese() -> None:
    cjk = re.compile(r"[\u4e00-\u9fff]")
    words = [(mid, s) for mid, s in _pairs() if re.search(r"[a-z]{3,} [a-z]{3,}", mid)]
    assert words
    english = [(mid, s) for mid, s in words if not cjk.search(s)]
    assert not english, english[:10]


def test_compiled_catalog_matches_the_po() -> None:
    """Someone edited the .po and forgot `make catalog`: the shipped .mo would be stale."""
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    for m in _catalog():
        if not m.id or not m.string or m.fuzzy:
            continue
        if isinstance(m.id, tuple):
            assert compiled.get((m.id[0], 0)) == m.string[0], m.id
        else:
            assert compiled.get(m.id) == m.string, m.id


def test_glossary_terms_are_used_consistently() -> None:
    """The glossary's "not" column lists words a technician must not meet for our terms."""
    glossary = (LOCALE_DIR / "GLOSSARY.md").read_text(encoding="utf-8")
    avoid = [w.strip() for line in glossary.splitlines() if line.startswith("|")
             for w in line.split("|")[4].split("、") if w.strip() and not w.strip().startswith("-")
             and "不用" not in w]
    assert avoid
    used = [(w, s) for mid, s in _pairs() for w in avoid if w in s]
    assert not used, used[:10]


@pytest.mark.parametrize(("msgid", "zh"), [("Usage:", "用法："), ("Options", "选项"),
                                           ("trust root", "信任根"), ("channel", "频道")])
def test_translation_for_language(msgid: str, zh: str) -> None:
    assert translation_for("zh_CN.UTF-8").gettext(msgid) == zh
    assert translation_for("zh").gettext(msgid) == zh
    assert translation_for("C").gettext(msgid) == msgid
