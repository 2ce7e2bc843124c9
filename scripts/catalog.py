"""`make catalog`: extract the messages, update the zh_CN catalog, compile it (Babel's API).

1. extract: our sources as babel.cfg says, plus the words click itself prints ("Usage:",
   "Options:", ...), which click looks up in the global gettext domain, which the CLI binds to
   ours; written to p2pdist/locale/p2pdist.pot.
2. update: merge the template into each `<lang>/LC_MESSAGES/p2pdist.po` (new messages come in
   empty, messages gone from the code are dropped).
3. compile: each `.po` to its `.mo` (shipped in the package, so `pip install .` needs no step).

`--check` only reports messages without a translation and exits 1 if there are any.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click as click_pkg
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "p2pdist" / "locale"
KEYWORDS = {"_": None, "ngettext": (1, 2), "N_": None}


def extract() -> Catalog:
    sys.path.insert(0, str(ROOT))
    template = Catalog(project="p2pdist", domain="p2pdist", charset="utf-8")
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    sources = [(ROOT, method_map, options_map, "")]
    click_dir = Path(click_pkg.__file__).parent
    sources.append((click_dir, [("**.py", "python")], {}, "click/"))
    for base, mmap, omap, prefix in sources:
        for filename, lineno, message, comments, context in extract_from_dir(
            str(base), mmap, omap, keywords=KEYWORDS, strip_comment_tags=True
        ):
            if not message or (isinstance(message, tuple) and not message[0]):
                continue
            template.add(message, None, [(prefix + filename, lineno)],
                         auto_comments=comments, context=context)
    return template


def update(template: Catalog, po_path: Path) -> Catalog:
    if po_path.exists():
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parent.parent.name, domain="p2pdist")
    else:
        catalog = Catalog(locale=po_path.parent.parent.name, domain="p2pdist", project="p2pdist")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    return catalog


def untranslated(catalog: Catalog) -> list[str]:
    out = []
    for m in catalog:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if not all(strings) or m.fuzzy:
            out.append(m.id if isinstance(m.id, str) else m.id[0])
    return out


def main(argv: list[str]) -> int:
    template = extract()
    LOCALE.mkdir(parents=True, exist_ok=True)
    if "--check" not in argv:
        with (LOCALE / "p2pdist.pot").open("wb") as f:
            write_po(f, template, width=100, omit_header=False, sort_output=True)
    missing_total = 0
    for po_path in sorted(LOCALE.glob("*/LC_MESSAGES/p2pdist.po")):
        catalog = update(template, po_path)
        missing = untranslated(catalog)
        missing_total += len(missing)
        print(f"{po_path.relative_to(ROOT)}: {len(catalog) - 1} messages, "
              f"{len(missing)} untranslated")
        if "--check" in argv:
            continue
        with po_path.open("wb") as f:
            write_po(f, catalog, width=100, sort_output=True, include_previous=False)
        with po_path.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
    return 1 if "--check" in argv and missing_total else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
