"""Structured log lines: ``event key=value key="value with spaces"``.

The seeder's operators grep and ship logs; key=value pairs survive both, and values that come
from boxes (site names, error texts) are quoted and shortened so they cannot forge fields or
flood a line.
"""

from __future__ import annotations

import json

MAX_VALUE = 200


def kv(event: str, **fields: object) -> str:
    """One log line: the event name, then each field as key=value (None as ``-``)."""
    parts = [event]
    for key, value in fields.items():
        if value is None:
            text = "-"
        elif isinstance(value, bool | int | float):
            text = str(value)
        else:
            raw = str(value)[:MAX_VALUE]
            plain = raw and raw.isprintable() and not any(c in raw for c in ' "=\\')
            text = raw if plain else json.dumps(raw, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return " ".join(parts)
