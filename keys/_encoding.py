"""Strict msgpack decoding and the signed envelope shared by trust roots and manifests.

An envelope is the msgpack map ``{"signed": <bin: msgpack bytes of the body>, "signatures":
[{"keyid": <str>, "sig": <bin>}]}``. Signatures cover the exact `signed` bytes; the body is
decoded only after they verify, so no canonical re-encoding exists to get wrong.

Decoding is strict because a second implementation must accept exactly what we accept: no
trailing bytes, no duplicate map keys, string map keys only, no extension types, and every field
checked for its exact type (`bool` is not an `int`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgpack

from ._errors import MalformedError, SizeLimitError, TrailingBytesError
from ._keyfile import SIGNATURE_BYTES, PublicKey, SigningKey
from .i18n import _

MAX_SIGNATURES = 32
KEYID_HEX_LEN = 64
MAX_ARRAY_LEN = 100_000
"""Longest list any document holds (a manifest lists at most 10,000 files)."""
MAX_MAP_LEN = 20_000
"""Most entries in one map (records have a dozen fields; maps keyed by file path at most one
per file of a release)."""
MAX_CONTAINERS = 200_000
"""Lists and maps in one document, so millions of empty maps are refused early."""
MAX_ITEMS = 1_000_000
"""List entries plus map keys and values in one document: bounds the decoded size to tens of
MB whatever the input, however it is nested."""


class _Budget:
    """Counts containers and their items as msgpack builds them; refuses past the bounds."""

    def __init__(self) -> None:
        self.containers = 0
        self.items = 0

    def charge(self, n: int) -> None:
        self.containers += 1
        self.items += n
        if self.containers > MAX_CONTAINERS or self.items > MAX_ITEMS:
            raise MalformedError(
                _("more than {max_containers} lists and maps or {max_items} entries "
                  "(refused before decoding further)").format(
                    max_containers=MAX_CONTAINERS, max_items=MAX_ITEMS))

    def pairs(self, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
        self.charge(2 * len(pairs))
        out: dict[Any, Any] = {}
        for k, v in pairs:
            if k in out:
                raise MalformedError(_("duplicate map key {k!r}").format(k=k))
            out[k] = v
        return out

    def array(self, items: list[Any]) -> list[Any]:
        self.charge(len(items))
        return items


def _no_ext(code: int, data: bytes) -> Any:
    raise MalformedError(_("msgpack extension type {code} is not allowed").format(code=code))


def decode_strict(data: bytes, what: str) -> Any:
    """Decode one msgpack document from `data`, strictly.

    Containers are capped in length and counted in total (see the bounds above), so any input
    costs memory in proportion to its length, and not much of it, before it is refused.

    Raises:
        TrailingBytesError: bytes follow the document.
        MalformedError: anything else that is not plain, well-formed msgpack.
    """
    budget = _Budget()
    try:
        obj = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            object_pairs_hook=budget.pairs,
            list_hook=budget.array,
            ext_hook=_no_ext,
            timestamp=0,
            max_array_len=MAX_ARRAY_LEN,
            max_map_len=MAX_MAP_LEN,
        )
    except msgpack.ExtraData as e:
        raise TrailingBytesError(
            _("{what}: {n_extra} unexpected bytes after the end").format(
                what=what, n_extra=len(e.extra))) from e
    except MalformedError as e:
        raise MalformedError(f"{what}: {e}") from e
    except Exception as e:  # msgpack raises many unrelated types for bad input
        raise MalformedError(
            _("{what}: not valid msgpack ({name}: {e})").format(
                what=what, name=type(e).__name__, e=e)) from e
    _reject_timestamps(obj, what)
    return obj


def _reject_timestamps(obj: Any, what: str) -> None:
    """msgpack decodes extension -1 (timestamp) itself, bypassing `ext_hook`: refuse it here."""
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, msgpack.Timestamp):
            raise MalformedError(
                _("{what}: msgpack extension type -1 (timestamp) is not allowed").format(
                    what=what))
        if isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())


def encode(obj: Any) -> bytes:
    """Encode plain values (dict, list, str, bytes, int) as msgpack."""
    out = msgpack.packb(obj, use_bin_type=True)
    assert isinstance(out, bytes)
    return out


class Fields:
    """Typed, exhaustive access to one decoded msgpack map (a record of the format).

    Each getter checks the field's exact type; `done()` rejects fields nobody asked for.
    """

    def __init__(self, obj: Any, what: str) -> None:
        if not isinstance(obj, dict):
            raise MalformedError(
                _("{what} must be a map, not {tname}").format(what=what, tname=_tname(obj)))
        self._d: dict[str, Any] = obj
        self._seen: set[str] = set()
        self.what = what

    def _get(self, name: str) -> Any:
        self._seen.add(name)
        if name not in self._d:
            raise MalformedError(
                _("{what}: missing field {name!r}").format(what=self.what, name=name))
        return self._d[name]

    def has(self, name: str) -> bool:
        return name in self._d

    def integer(self, name: str, lo: int = 0, hi: int = 2**63 - 1) -> int:
        v = self._get(name)
        if type(v) is not int:
            raise MalformedError(
                _("{what}.{name} must be an integer, not {tname}").format(
                    what=self.what, name=name, tname=_tname(v)))
        if not lo <= v <= hi:
            raise MalformedError(
                _("{what}.{name} = {v} is outside [{lo}, {hi}]").format(
                    what=self.what, name=name, v=v, lo=lo, hi=hi))
        return v

    def text(self, name: str, max_len: int) -> str:
        v = self._get(name)
        if type(v) is not str:
            raise MalformedError(
                _("{what}.{name} must be a string, not {tname}").format(
                    what=self.what, name=name, tname=_tname(v)))
        if len(v) > max_len:
            raise MalformedError(
                _("{what}.{name} is longer than {max_len} characters").format(
                    what=self.what, name=name, max_len=max_len))
        return v

    def binary(self, name: str, length: int | None = None, max_len: int | None = None) -> bytes:
        v = self._get(name)
        if type(v) is not bytes:
            raise MalformedError(
                _("{what}.{name} must be binary, not {tname}").format(
                    what=self.what, name=name, tname=_tname(v)))
        if length is not None and len(v) != length:
            raise MalformedError(
                _("{what}.{name} must be {length} bytes, not {n_v}").format(
                    what=self.what, name=name, length=length, n_v=len(v)))
        if max_len is not None and len(v) > max_len:
            raise MalformedError(
                _("{what}.{name} is longer than {max_len} bytes").format(
                    what=self.what, name=name, max_len=max_len))
        return v

    def array(self, name: str, max_len: int) -> list[Any]:
        v = self._get(name)
        if type(v) is not list:
            raise MalformedError(
                _("{what}.{name} must be a list, not {tname}").format(
                    what=self.what, name=name, tname=_tname(v)))
        if len(v) > max_len:
            raise MalformedError(
                _("{what}.{name} has more than {max_len} entries").format(
                    what=self.what, name=name, max_len=max_len))
        return v

    def texts(self, name: str, max_len: int, max_item: int) -> list[str]:
        items = self.array(name, max_len)
        for i, s in enumerate(items):
            if type(s) is not str or len(s) > max_item:
                raise MalformedError(
                    _("{what}.{name}[{i}] must be a string of at most {max_item} "
                      "characters").format(what=self.what, name=name, i=i, max_item=max_item)
                )
        return items

    def mapping(self, name: str) -> dict[str, Any]:
        v = self._get(name)
        if type(v) is not dict:
            raise MalformedError(
                _("{what}.{name} must be a map, not {tname}").format(
                    what=self.what, name=name, tname=_tname(v)))
        return v

    def done(self) -> None:
        extra = sorted(set(self._d) - self._seen, key=repr)
        if extra:
            raise MalformedError(
                _("{what}: unknown field(s) {map}").format(
                    what=self.what, map=', '.join(map(repr, extra))))


def _tname(v: object) -> str:
    return {bool: "boolean", int: "integer", str: "string", bytes: "binary", list: "list",
            dict: "map", float: "float", type(None): "nil"}.get(type(v), type(v).__name__)


@dataclass(frozen=True)
class Signature:
    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """Signed bytes plus the signatures over them."""

    signed: bytes
    signatures: tuple[Signature, ...] = ()

    def encode(self) -> bytes:
        return encode(
            {
                "signed": self.signed,
                "signatures": [{"keyid": s.keyid, "sig": s.sig} for s in self.signatures],
            }
        )

    @classmethod
    def decode(cls, data: bytes, what: str, max_envelope: int, max_body: int) -> Envelope:
        """Parse an envelope, checking sizes before decoding anything.

        Raises:
            SizeLimitError: `data` longer than `max_envelope`, or the body than `max_body`.
            MalformedError: not an envelope.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MalformedError(_("{what}: expected bytes").format(what=what))
        if len(data) > max_envelope:
            raise SizeLimitError(
                _("{what} is {n_data} bytes; the limit is {max_envelope} (checked "
                  "before decoding)").format(
                    what=what, n_data=len(data), max_envelope=max_envelope)
            )
        f = Fields(decode_strict(bytes(data), what), what)
        signed = f.binary("signed")
        if len(signed) > max_body:
            raise SizeLimitError(
                _("{what} body is {n_signed} bytes; the limit is {max_body}").format(
                    what=what, n_signed=len(signed), max_body=max_body))
        sigs = []
        for i, s in enumerate(f.array("signatures", MAX_SIGNATURES)):
            sf = Fields(s, f"{what}.signatures[{i}]")
            keyid = sf.text("keyid", KEYID_HEX_LEN)
            sig = sf.binary("sig", SIGNATURE_BYTES)
            sf.done()
            sigs.append(Signature(keyid, sig))
        f.done()
        return cls(signed, tuple(sigs))

    def sign(self, key: SigningKey) -> Envelope:
        """A copy with `key`'s signature added (replacing an earlier one by the same key)."""
        others = tuple(s for s in self.signatures if s.keyid != key.keyid)
        if len(others) >= MAX_SIGNATURES:
            raise MalformedError(
                _("an envelope holds at most {max_signatures} signatures").format(
                    max_signatures=MAX_SIGNATURES))
        return Envelope(self.signed, (*others, Signature(key.keyid, key.sign(self.signed))))

    def check_signatures(self, keys: Mapping[str, PublicKey]) -> SignatureCheck:
        """Sort the signatures into valid, invalid (known key) and unknown-key ones."""
        valid: set[str] = set()
        invalid: set[str] = set()
        unknown: set[str] = set()
        for s in self.signatures:
            pub = keys.get(s.keyid)
            if pub is None:
                unknown.add(s.keyid)
            elif pub.verify(s.sig, self.signed):
                valid.add(s.keyid)
            else:
                invalid.add(s.keyid)
        return SignatureCheck(frozenset(valid), frozenset(invalid - valid), frozenset(unknown))


@dataclass(frozen=True)
class SignatureCheck:
    valid: frozenset[str]
    invalid: frozenset[str]
    unknown: frozenset[str]
