"""A Babel extractor: gettext calls, plus the docstrings of click commands (their help text)."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python


def _is_click_command(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for dec in node.decorator_list:
        if not isinstance(dec, ast.Call):
            continue
        func = dec.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("command", "group") and not any(k.arg == "help" for k in dec.keywords):
            return True
    return False


def click_docstrings(source: str) -> Iterator[tuple[int, str]]:
    """(line, cleaned docstring) of each click command defined in `source`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_click_command(node):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield node.lineno, inspect.cleandoc(doc)


def calls_in_fstrings(source: str) -> Iterator[tuple[int, str, str | tuple[str, str]]]:
    """`_("...")` inside f-strings, which Babel's tokenizer does not see on Python 3.11."""
    seen: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.JoinedStr):
            continue
        for call in ast.walk(node):
            if id(call) in seen or not isinstance(call, ast.Call) \
                    or not isinstance(call.func, ast.Name):
                continue
            seen.add(id(call))
            args = [a.value for a in call.args
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if call.func.id in ("_", "N_") and args:
                yield call.lineno, call.func.id, args[0]
            elif call.func.id == "ngettext" and len(args) >= 2:
                yield call.lineno, "ngettext", (args[0], args[1])


def extract(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
            options: dict[str, Any]) -> Iterator[tuple[int, str, Any, list[str]]]:
    source = fileobj.read()
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)
    text = source.decode("utf-8")
    for lineno, doc in click_docstrings(text):
        yield lineno, "", doc, ["click command help"]
    for lineno, func, message in calls_in_fstrings(text):
        yield lineno, func, message, []
