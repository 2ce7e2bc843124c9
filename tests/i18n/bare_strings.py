"""Find user-facing strings that escape `_()`: an AST scan of the sources.

User-facing means: the `help=` of anything (click options, commands), the first argument of
echo/print/console output, prompts and confirmations, the message of a raised error, warnings,
log lines, table columns and titles, progress descriptions. A literal (or an f-string, or a
`"..." % x`) there is reported; `_(...)`-wrapped text, names and calls are not. Text without
letters ("%s: %s", "-") needs no translation.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("keys", "manifest", "p2pdist", "seeder")
OUTPUT_FUNCS = {"echo", "secho", "print", "confirm", "prompt", "warn", "rule", "log"}
LOG_METHODS = {"debug", "info", "warning", "error", "critical", "exception"}
TEXT_KWARGS = {"help", "title", "caption", "description", "prompt", "short_help", "epilog"}
TABLE_METHODS = {"add_column", "add_task", "add_section", "json_option"}
LETTERS = re.compile(r"[A-Za-z]{2,}")
MARKUP = re.compile(r"\[/?[a-z ]+\]")

# Not for people: field names handed to an error that words them, and errors of a caller's
# programming (bad arguments to a constructor), which a technician cannot act on.
_NOT_USER_CALLS = {"_FieldError"}
ALLOWED: set[tuple[str, str]] = {
    ("p2pdist/discovery/_table.py", "must be positive"),
    ("p2pdist/discovery/_table.py", "a penalty must last"),
    ("p2pdist/feeds/_fetch.py", "need timeout_s > 0"),
    ("p2pdist/feeds/_server.py", "returned an HTTP status outside"),
    ("p2pdist/store/_plan.py", "keep must be >= 0"),
    ("p2pdist/sample.py", "change_films must be"),
    ("p2pdist/sample.py", "variant must be 1 or more"),
}
ALLOWED_TEXT: set[tuple[str, str]] = set()


def _markup_free(text: str) -> str:
    return MARKUP.sub("", text)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _literal_text(node: ast.expr) -> str | None:
    """The text of a string-ish expression that is not translated, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values
                       if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return _literal_text(node.left) or _literal_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format":
        return _literal_text(node.func.value)
    return None


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _is_error(name: str) -> bool:
    return name.endswith(("Error", "Exception", "Refused", "Rejected")) or name in (
        "UsageError", "BadParameter", "ClickException", "Abort")


# Errors that are bugs or stdlib contracts, not messages for a technician.
_NOT_USER_ERRORS = {"TypeError", "AssertionError", "NotImplementedError", "KeyError",
                    "RuntimeError", "AttributeError", "StopIteration"}


def _candidates(tree: ast.AST) -> Iterator[tuple[int, ast.expr]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        for kw in node.keywords:
            if kw.arg in TEXT_KWARGS:
                yield kw.value.lineno, kw.value
        if not node.args:
            continue
        first = node.args[0]
        is_log = name in LOG_METHODS and isinstance(node.func, ast.Attribute) \
            and _name(node.func.value) in ("log", "logger", "_log", "LOG")
        if name in _NOT_USER_CALLS:
            continue
        # errors count whether raised here or built to be raised later (returned, collected)
        is_error = _is_error(name) and name not in _NOT_USER_ERRORS and name[:1].isupper()
        if name in OUTPUT_FUNCS or name in TABLE_METHODS or is_log or is_error:
            yield first.lineno, first


def scan_source(source: str, path: str) -> list[Finding]:
    out = []
    for line, expr in _candidates(ast.parse(source)):
        text = _literal_text(expr)
        if text is None or not LETTERS.search(_markup_free(text)):
            continue
        if not any(path == p and part in text for p, part in ALLOWED):
            out.append(Finding(path, line, text))
    return out


def scan(root: Path = ROOT) -> list[Finding]:
    out: list[Finding] = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = str(path.relative_to(root))
            out.extend(scan_source(path.read_text(encoding="utf-8"), rel))
    return sorted(set(out), key=lambda f: (f.path, f.line))
