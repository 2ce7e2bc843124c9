"""A bounded, canonical-only bencode decoder for the torrents that manifests carry.

The torrent is checked before anything trusts it, so decoding must cost little whatever the
bytes say: at most `MAX_OBJECTS` values and `MAX_DEPTH` levels, each string sliced once. Only
canonical bencode is accepted (dictionary keys strictly increasing, integers and lengths without
leading zeros, no ``-0``), which is at least as strict as libtorrent's own bdecode.
"""

from __future__ import annotations

from typing import Any

from keys.i18n import _

from ._errors import TorrentMismatchError

MAX_DEPTH = 40
MAX_OBJECTS = 400_000
"""A 10,000-file hybrid torrent has ~20 values per file; this leaves room and bounds the cost."""


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.objects = 0

    def fail(self, why: str) -> TorrentMismatchError:
        return TorrentMismatchError(
            _("the manifest's torrent is not valid canonical bencode ({why} at byte "
              "{pos})").format(why=why, pos=self.pos))

    def number(self, end: bytes) -> int:
        stop = self.data.find(end, self.pos)
        if stop < 0 or stop - self.pos > 20:
            raise self.fail("unterminated number")
        raw = self.data[self.pos:stop]
        digits = raw[1:] if raw.startswith(b"-") else raw
        if not digits.isdigit() or not digits.isascii() or (
                len(digits) > 1 and digits.startswith(b"0")) or raw == b"-0":
            raise self.fail("non-canonical number")
        self.pos = stop + 1
        return int(raw)

    def value(self, depth: int) -> Any:
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise self.fail(f"more than {MAX_OBJECTS} values")
        if depth > MAX_DEPTH:
            raise self.fail(f"nested deeper than {MAX_DEPTH}")
        if self.pos >= len(self.data):
            raise self.fail("truncated")
        c = self.data[self.pos]
        if c == ord("i"):
            self.pos += 1
            return self.number(b"e")
        if c == ord("l"):
            self.pos += 1
            out: list[Any] = []
            while self.peek() != ord("e"):
                out.append(self.value(depth + 1))
            self.pos += 1
            return out
        if c == ord("d"):
            self.pos += 1
            d: dict[bytes, Any] = {}
            last: bytes | None = None
            while self.peek() != ord("e"):
                if not chr(self.peek()).isdigit():
                    raise self.fail("dictionary key is not a string")
                key = self.string()
                if last is not None and key <= last:
                    raise self.fail("dictionary keys unsorted or repeated")
                last = key
                d[key] = self.value(depth + 1)
            self.pos += 1
            return d
        if ord("0") <= c <= ord("9"):
            return self.string()
        raise self.fail(f"unexpected byte {c:#04x}")

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("truncated")
        return self.data[self.pos]

    def string(self) -> bytes:
        n = self.number(b":")
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail("string longer than the data")
        s = self.data[self.pos:self.pos + n]
        self.pos += n
        return s


def bdecode(data: bytes) -> Any:
    """Decode one canonical bencoded value that spans all of `data`.

    Raises:
        TorrentMismatchError: not canonical bencode, trailing bytes, or past the bounds above.
    """
    dec = _Decoder(bytes(data))
    obj = dec.value(0)
    if dec.pos != len(dec.data):
        raise dec.fail("trailing bytes")
    return obj
