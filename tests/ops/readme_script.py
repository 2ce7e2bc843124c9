"""The README's console blocks as a script: every `$ ` command in order, its exit code, and the
daemons it starts (`... run ...`, or a command ending in `&`).

Pure parsing plus the few substitutions a test needs to run the commands as written in an empty
folder (system paths moved into the folder, the sample made smaller); nothing else is changed.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

_BLOCK = re.compile(r"^```console\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Step:
    """One command of the README: its words and whether it is a daemon (left running)."""

    argv: tuple[str, ...]
    daemon: bool
    line: str


def console_commands(text: str) -> list[list[str]]:
    """Per console block, its `$ ` commands, continuation lines joined, comments dropped."""
    blocks: list[list[str]] = []
    for block in _BLOCK.findall(text):
        out: list[str] = []
        blocks.append(out)
        current: str | None = None
        for raw in block.splitlines():
            if current is None:
                if not raw.startswith("$ "):
                    continue  # printed output
                current = raw[2:]
            else:
                current += " " + raw.strip()
            if current.endswith("\\"):
                current = current[:-1].rstrip()
                continue
            out.append(_strip_comment(current).strip())
            current = None
    return blocks


def _strip_comment(line: str) -> str:
    words = shlex.shlex(line, posix=True, punctuation_chars="&")
    words.whitespace_split = True
    words.commenters = "#"
    return shlex.join(list(words)).replace("'&'", "&")


def blocks(text: str, substitutions: dict[str, str]) -> list[list[Step]]:
    """The README's commands as steps, per block; `a & b &` gives two daemons."""
    return [_steps(commands, substitutions) for commands in console_commands(text)]


def _steps(commands: list[str], substitutions: dict[str, str]) -> list[Step]:
    out: list[Step] = []
    for line in commands:
        for old, new in substitutions.items():
            line = line.replace(old, new)
        parts = [p.strip() for p in line.split("&")]
        background = line.rstrip().endswith("&")
        for i, part in enumerate(parts):
            if not part:
                continue
            argv = tuple(shlex.split(part))
            daemon = background or i < len(parts) - 1 or _is_daemon(argv)
            out.append(Step(argv, daemon, part))
    return out


def _is_daemon(argv: tuple[str, ...]) -> bool:
    return len(argv) >= 3 and argv[0] == "p2pdist" and argv[2] == "run" and argv[1] in (
        "box", "seeder")
