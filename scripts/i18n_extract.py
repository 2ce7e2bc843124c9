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


def extract(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
            options: dict[str, Any]) -> Iterator[tuple[int, str, Any, list[str]]]:
    source = fileobj.read()
    fileobj.seek(0)
    yield from extract_python(fileobj, keywords, comment_tags, options)
    for lineno, doc in click_docstrings(source.decode("utf-8")):
        yield lineno, "", doc, ["click command help"]
