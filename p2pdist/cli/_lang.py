"""The CLI's language: `--lang` / $P2PDIST_LANG / the locale, and command help in that language.

The language is chosen in `main` from the raw arguments before any command module is imported,
because option help strings are translated when their module loads; the `--lang` callback
chooses it again for callers that drive the group directly. Command help comes from docstrings,
which `_()` cannot wrap, so `translate_help` translates them when a command is loaded (the
catalog tool extracts the docstrings of click commands as messages).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import click

from ..i18n import _, language_from_env, set_language


def language_from_argv(argv: Sequence[str]) -> str | None:
    """The value of a `--lang X` / `--lang=X` before any `--` in `argv`, or None."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
    return None


def wants_json(argv: Sequence[str]) -> bool:
    return "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv


def choose_language(argv: Sequence[str]) -> str:
    """Choose the language for this run; with --json it is English, so tools read one language
    (JSON keys and values never depend on the user's locale)."""
    lang = "C" if wants_json(argv) else language_from_argv(argv) or language_from_env()
    set_language(lang, process_wide=True)
    return lang


def _lang_callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:
        set_language(value, process_wide=True)
    return value


lang_option = click.option(
    "--lang", metavar="LANG", expose_value=False, is_eager=True, callback=_lang_callback,
    help=_("Language of messages, e.g. zh_CN or C (else $P2PDIST_LANG, then the locale)."))


def translate_help(command: click.Command) -> None:
    """Translate the docstring help of `command` and of its subcommands, once each."""
    if getattr(command, "_p2pdist_translated", False):
        return
    for attr in ("help", "short_help", "epilog"):
        text = getattr(command, attr)
        if text:
            setattr(command, attr, _(inspect.cleandoc(text)))
    for param in command.params:
        if isinstance(param, click.Option) and param.help:
            param.help = _(param.help)
    command._p2pdist_translated = True  # type: ignore[attr-defined]
    sub: Any = getattr(command, "commands", {})
    for child in sub.values():
        translate_help(child)

