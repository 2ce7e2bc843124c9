"""The check-in document: what a box reports to its seeder, signed by the box (pure, no I/O).

A check-in is an envelope (`keys.Envelope`) whose body is a msgpack map:

=============  ========================================================================
field          value
=============  ========================================================================
``type``       ``"p2pdist/checkin"`` (the identity key signs nothing else, but say so)
``format``     1
``box_id``     the box's key id: hex SHA-256 of ``box_key``
``box_key``    the box's raw 32-byte Ed25519 public key
``seq``        1 or more; grows with every check-in the box makes, never reused
``sent``       the box's clock when it was made (Unix seconds; boxes' clocks can be wrong)
``site``       the station name from the box's configuration (may be empty)
``channels``   ``{channel: {version, state, progress}}``: the active version (0: none), the
               update phase (``idle``, ``downloading``, ``seeding``, ...), and the progress of
               the current update in ten-thousandths (0..10000; no floats in signed documents)
``free_disk``  free bytes on the data disk
``counters``   ``{"plays": {title: count}}`` over the window; since the station's web, also
               ``"days": {"YYYY-MM-DD": plays}`` (the box's calendar day of each play) and
               ``"requests": {key: count}`` (点单: ``kind:<kind>``, ``theme:<theme>`` or
               ``wish:<free text>``)
``window``     ``{start, end}``: the period the counters cover (Unix seconds)
``clock``      optional, ``{"trusted": 0 | 1}``: whether the box believed its clock when it
               dated ``sent``, ``window`` and ``days`` (boxes may have no real-time clock; the
               seq numbers order check-ins whatever the clock says)
=============  ========================================================================

A channel report may also carry ``rate`` (download bytes/s now) and ``problem`` (why the
update is stuck, as the box words it; empty when nothing is wrong). The fields added with the
station's web are optional on decode, so a check-in of an older box still reads.

Unlike a manifest, the key that verifies a check-in travels inside it: a box's identity is
self-certifying (its id is the hash of its key), so a seeder can take check-ins from boxes it
never heard of. The body is therefore decoded before the signature is checked; that is safe here
because the whole envelope is size-capped and decoded strictly first, and nothing from the body
is used until the key matches the id and the signature verifies.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from keys import (
    BadSignatureError,
    Envelope,
    Fields,
    MalformedError,
    MissingSignatureError,
    PublicKey,
    SigningKey,
    TrustError,
    UnknownFormatError,
    decode_strict,
    encode,
    is_valid_channel,
    key_id,
)

from ..errors import ConfigError
from ..i18n import _
from ._errors import ForgedIdentityError

CHECKIN_TYPE = "p2pdist/checkin"
CHECKIN_FORMAT = 1
MAX_CHECKIN_BYTES = 16 * 1024
"""A whole check-in envelope: service counters for a few hundred titles, never media."""
MAX_SITE = 64
MAX_CHANNELS = 64
MAX_STATE = 32
MAX_TITLES = 256
MAX_TITLE = 200
MAX_DAYS = 400
MAX_REQUESTS = 64
MAX_REQUEST_KEY = 160
MAX_PROBLEM = 200
PROGRESS_SCALE = 10_000
_KEY_BYTES = 32
_BOX_ID_LEN = 64
_HEX = frozenset("0123456789abcdef")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
REQUEST_KINDS = ("kind", "theme", "wish")


@dataclass(frozen=True)
class ChannelReport:
    """One channel on one box.

    Attributes:
        version: the active version, 0 when nothing is active yet.
        state: the update phase, as the box's update machine names it.
        progress: how far the current update is, 0..1 (1 when nothing is pending).
    """

    version: int
    state: str
    progress: float
    rate: int = 0
    """Download rate now, bytes per second."""
    problem: str = ""
    """Why the update does not move (the box's last error), or "" when nothing is wrong."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.progress <= 1.0 or self.version < 0 or self.rate < 0:
            raise ValueError("a channel report needs version >= 0, rate >= 0 and progress in "
                             "[0, 1]")  # NaN fails the comparison too

    def to_obj(self) -> dict[str, object]:
        return {"version": self.version, "state": self.state,
                "progress": round(self.progress * PROGRESS_SCALE), "rate": self.rate,
                "problem": one_line(self.problem, MAX_PROBLEM)}


@dataclass(frozen=True)
class Checkin:
    """A decoded check-in body (see the module docstring for the fields)."""

    box_key: bytes
    seq: int
    sent: int
    site: str
    channels: Mapping[str, ChannelReport]
    free_disk: int
    plays: Mapping[str, int]
    window: tuple[int, int]
    days: Mapping[str, int] = field(default_factory=dict)
    requests: Mapping[str, int] = field(default_factory=dict)
    clock_trusted: bool = True
    box_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "box_id", key_id(self.box_key))
        for name in ("channels", "plays", "days", "requests"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def encode_body(self) -> bytes:
        return encode({
            "type": CHECKIN_TYPE,
            "format": CHECKIN_FORMAT,
            "box_id": self.box_id,
            "box_key": self.box_key,
            "seq": self.seq,
            "sent": self.sent,
            "site": self.site,
            "channels": {c: r.to_obj() for c, r in self.channels.items()},
            "free_disk": self.free_disk,
            "counters": {"plays": dict(self.plays), "days": dict(self.days),
                         "requests": dict(self.requests)},
            "window": {"start": self.window[0], "end": self.window[1]},
            "clock": {"trusted": int(self.clock_trusted)},
        })

    @classmethod
    def decode_body(cls, body: bytes) -> Checkin:
        """Decode and check a check-in body (not its signature).

        Raises:
            UnknownFormatError: another format version.
            ForgedIdentityError: `box_id` is not the key id of `box_key`.
            MalformedError: anything else that does not follow the format.
        """
        f = Fields(decode_strict(body, "check-in"), "check-in")
        if f.text("type", 64) != CHECKIN_TYPE:
            raise MalformedError(f"not a check-in (type is not {CHECKIN_TYPE!r})")
        fmt = f.integer("format")
        if fmt != CHECKIN_FORMAT:
            raise UnknownFormatError(
                f"check-in format {fmt} is not supported (this software reads {CHECKIN_FORMAT})")
        box_id = f.text("box_id", _BOX_ID_LEN)
        if len(box_id) != _BOX_ID_LEN or not set(box_id) <= _HEX:
            raise MalformedError("check-in.box_id must be 64 lowercase hex digits")
        box_key = f.binary("box_key", _KEY_BYTES)
        if key_id(box_key) != box_id:
            raise ForgedIdentityError(
                f"the check-in claims box {box_id[:16]} but carries the key of box "
                f"{key_id(box_key)[:16]}")
        seq = f.integer("seq", 1)
        sent = f.integer("sent")
        site = _printable(f.text("site", MAX_SITE), "check-in.site", allow_empty=True)
        channels = _decode_channels(f.mapping("channels"))
        free_disk = f.integer("free_disk")
        counters = Fields(f.mapping("counters"), "check-in.counters")
        plays = _decode_plays(counters.mapping("plays"))
        days = _decode_days(counters.mapping("days")) if counters.has("days") else {}
        requests = (_decode_requests(counters.mapping("requests"))
                    if counters.has("requests") else {})
        counters.done()
        w = Fields(f.mapping("window"), "check-in.window")
        window = (w.integer("start"), w.integer("end"))
        w.done()
        if window[0] > window[1]:
            raise MalformedError("check-in.window ends before it starts")
        trusted = True
        if f.has("clock"):
            clock = Fields(f.mapping("clock"), "check-in.clock")
            trusted = bool(clock.integer("trusted", 0, 1))
            clock.done()
        f.done()
        return cls(box_key, seq, sent, site, channels, free_disk, plays, window, days, requests,
                   trusted)


def one_line(text: str, limit: int) -> str:
    """`text` as one printable NFC line of at most `limit` characters (for free text from a
    box's errors or a station's visitor)."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", flat)[:limit]).strip()


def _printable(text: str, what: str, *, allow_empty: bool = False) -> str:
    if (not text and not allow_empty) or not text.isprintable() or text != text.strip():
        raise MalformedError(
            f"{what} must be printable text without leading or trailing spaces"
            + ("" if allow_empty else ", not empty"))
    return text


def _decode_channels(obj: dict[str, object]) -> dict[str, ChannelReport]:
    if len(obj) > MAX_CHANNELS:
        raise MalformedError(f"check-in.channels lists more than {MAX_CHANNELS} channels")
    out = {}
    for channel, value in obj.items():
        if not is_valid_channel(channel):
            raise MalformedError("check-in.channels has a key that is not a channel name")
        what = f"check-in.channels[{channel!r}]"
        r = Fields(value, what)
        version = r.integer("version")
        state = _printable(r.text("state", MAX_STATE), f"{what}.state")
        progress = r.integer("progress", 0, PROGRESS_SCALE)
        rate = r.integer("rate") if r.has("rate") else 0
        problem = r.text("problem", MAX_PROBLEM) if r.has("problem") else ""
        if problem:
            _printable(problem, f"{what}.problem")
        r.done()
        out[channel] = ChannelReport(version, state, progress / PROGRESS_SCALE, rate, problem)
    return out


def _count(count: object, what: str) -> int:
    if type(count) is not int or not 0 <= count < 2**63:
        raise MalformedError(f"{what} counts must be non-negative integers")
    return count


def _decode_days(obj: dict[str, object]) -> dict[str, int]:
    if len(obj) > MAX_DAYS:
        raise MalformedError(f"check-in.counters.days lists more than {MAX_DAYS} days")
    out = {}
    for day, count in obj.items():
        if not _DAY.fullmatch(day):
            raise MalformedError("check-in.counters.days keys must be dates like 2027-01-28")
        out[day] = _count(count, "check-in.counters.days")
    return out


def _decode_requests(obj: dict[str, object]) -> dict[str, int]:
    if len(obj) > MAX_REQUESTS:
        raise MalformedError(f"check-in.counters.requests lists more than {MAX_REQUESTS} keys")
    out = {}
    for key, count in obj.items():
        kind, sep, value = key.partition(":")
        if (kind not in REQUEST_KINDS or not sep or len(key) > MAX_REQUEST_KEY
                or unicodedata.normalize("NFC", key) != key):
            raise MalformedError("check-in.counters.requests keys must be kind:, theme: or "
                                 f"wish: and NFC text of at most {MAX_REQUEST_KEY} characters")
        _printable(value, "check-in.counters.requests value")
        out[key] = _count(count, "check-in.counters.requests")
    return out


def _decode_plays(obj: dict[str, object]) -> dict[str, int]:
    if len(obj) > MAX_TITLES:
        raise MalformedError(f"check-in.counters.plays lists more than {MAX_TITLES} titles")
    out = {}
    for title, count in obj.items():
        if len(title) > MAX_TITLE or unicodedata.normalize("NFC", title) != title:
            raise MalformedError(
                f"check-in.counters.plays: a title is not NFC text of at most {MAX_TITLE} "
                "characters")
        _printable(title, "check-in.counters.plays title")
        if type(count) is not int or not 0 <= count < 2**63:
            raise MalformedError("check-in.counters.plays counts must be non-negative integers")
        out[title] = count
    return out


@dataclass(frozen=True)
class VerifiedCheckin:
    """A check-in whose signature verified, the exact bytes received, and a digest of its body
    (two sends of the same check-in have the same digest)."""

    checkin: Checkin
    envelope: bytes
    digest: bytes


def verify_checkin(data: bytes) -> VerifiedCheckin:
    """Check a check-in envelope: size, strict format, identity, signature.

    Raises:
        SizeLimitError: larger than MAX_CHECKIN_BYTES (checked before decoding).
        MissingSignatureError: not signed.
        ForgedIdentityError: the key does not match the box id, or another key signed it.
        BadSignatureError: the box's signature does not verify.
        MalformedError: (or a subclass) not a check-in.
    """
    env = Envelope.decode(data, "check-in", MAX_CHECKIN_BYTES, MAX_CHECKIN_BYTES)
    if not env.signatures:
        raise MissingSignatureError("the check-in is not signed")
    if len(env.signatures) != 1:
        raise MalformedError("a check-in carries exactly one signature, its box's")
    checkin = Checkin.decode_body(env.signed)
    sig = env.signatures[0]
    if sig.keyid != checkin.box_id:
        raise ForgedIdentityError(
            f"the check-in of box {checkin.box_id[:16]} is signed by another key "
            f"({sig.keyid[:16]})")
    if not PublicKey(checkin.box_key).verify(sig.sig, env.signed):
        raise BadSignatureError(
            f"the signature of box {checkin.box_id[:16]} over its check-in does not verify")
    return VerifiedCheckin(checkin, bytes(data), hashlib.sha256(env.signed).digest())


def make_checkin(
    key: SigningKey,
    *,
    seq: int,
    sent: int,
    site: str,
    channels: Mapping[str, ChannelReport],
    free_disk: int,
    plays: Mapping[str, int],
    window: tuple[int, int],
    days: Mapping[str, int] | None = None,
    requests: Mapping[str, int] | None = None,
    clock_trusted: bool = True,
) -> bytes:
    """Build and sign a check-in; the bytes to queue and send.

    Titles are normalized to NFC (counts of the same title merged) and cut to MAX_TITLE
    characters; when more titles were played than fit, the most played are kept. Every other
    value must already be within the format's limits.

    Args:
        key: the box's identity key (`BoxState.identity()`).
        seq: from `CheckinQueue.next_seq`.
        sent: the box's clock now.
        site: the box's site name.
        channels: per followed channel, what the box holds and is doing.
        free_disk: free bytes on the data disk.
        plays: play counts per title over `window`.
        window: (start, end) Unix seconds covered by `plays`.
        days: plays per calendar day of the box's clock ("YYYY-MM-DD").
        requests: 点单 counts by key (``kind:...``, ``theme:...``, ``wish:...``).
        clock_trusted: whether the box believes its clock (`sent`, `window`, `days`).

    Raises:
        ConfigError: the site name or the channel list does not fit the format.
        ValueError: a number is out of range (a bug in the caller).
    """
    if len(site) > MAX_SITE or not site.isprintable() or site != site.strip():
        raise ConfigError(_("the site name {site!r} cannot be reported: use at most {n} "
                            "printable characters").format(site=site, n=MAX_SITE))
    if len(channels) > MAX_CHANNELS:
        raise ConfigError(_("a box can report at most {n} channels").format(n=MAX_CHANNELS))
    merged: dict[str, int] = {}
    for title, count in plays.items():
        cut = unicodedata.normalize("NFC", title).strip()[:MAX_TITLE]
        t = unicodedata.normalize("NFC", cut).strip()  # a cut may end mid-sequence
        if t and t.isprintable():
            merged[t] = merged.get(t, 0) + count
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TITLES]
    days_in = {d: n for d, n in (days or {}).items() if _DAY.fullmatch(d)}
    asked = sorted(((k, n) for k, n in (requests or {}).items()
                    if len(k) <= MAX_REQUEST_KEY and k.partition(":")[0] in REQUEST_KINDS),
                   key=lambda kv: (-kv[1], kv[0]))[:MAX_REQUESTS]

    def signed() -> bytes:
        checkin = Checkin(key.public.raw, seq, sent, site, channels, free_disk, dict(ranked),
                          window, dict(sorted(days_in.items())[-MAX_DAYS:]),
                          dict(asked), clock_trusted)
        return Envelope(checkin.encode_body()).sign(key).encode()

    data = signed()
    while len(data) > MAX_CHECKIN_BYTES and (ranked or asked):
        # the most played titles and the most asked-for requests are the ones kept
        if len(ranked) >= len(asked):
            ranked = ranked[: len(ranked) // 2]
        else:
            asked = asked[: len(asked) // 2]
        data = signed()
    try:
        verify_checkin(data)  # the builder and the parser agree, by construction
    except TrustError as e:
        raise ValueError(f"the check-in does not follow its own format: {e}") from e
    return data
