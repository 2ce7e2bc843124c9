"""The error hierarchy shared by every layer.

`P2PDistError` is the root of all errors a user can act on; the CLI turns it into a short message
and an exit code. This lives in the lowest layer (keys) so that every layer above can subclass it
without importing upward.

Families (STYLE.md point 3):
- `TrustError`: the data is not trustworthy (signatures, thresholds, expiry, rollback, limits,
  malformed encodings). Its subclasses name exactly one reason each.
- `KeyFileError`: a key file cannot be read, decrypted or written.
"""

from __future__ import annotations

import datetime as _dt


class P2PDistError(Exception):
    """Root of the errors p2pdist reports to people (message is meant to be shown as is)."""


class KeyFileError(P2PDistError):
    """A key file is missing, unreadable, of the wrong kind, or its passphrase is wrong."""


class TrustError(P2PDistError):
    """Signed data failed verification; nothing from it may be used."""


class MalformedError(TrustError):
    """The bytes do not follow the format: wrong types, missing or unknown fields, bad values."""


class TrailingBytesError(MalformedError):
    """Extra bytes follow a complete encoded document."""


class UnknownFormatError(MalformedError):
    """The document declares a format version this software does not understand."""


class SizeLimitError(TrustError):
    """A document is larger than the limit, checked before any decoding."""


class MissingSignatureError(TrustError):
    """The document carries no signature at all."""


class BadSignatureError(TrustError):
    """A signature by a trusted key does not verify over the signed bytes."""


class KeyNotInRoleError(TrustError):
    """Every signature comes from a key that the role does not list."""


class ThresholdError(TrustError):
    """Fewer distinct valid signatures from the role's keys than its threshold."""


class ChannelNotAllowedError(TrustError):
    """The signing keys are not delegated the channel the document is for."""


class ExpiredError(TrustError):
    """The document's expiry is past, judged by this machine's clock."""

    def __init__(self, what: str, expires: int, now: int, skew: int) -> None:
        self.expires = expires
        self.now = now
        exp = _fmt_time(expires)
        clock = _fmt_time(now)
        super().__init__(
            f"{what} expired at {exp}; this machine's clock says {clock} "
            f"(a clock skew of up to {skew}s is allowed). If the clock is wrong, set it "
            "(check the RTC battery / NTP) and retry; otherwise ask for a newer signed copy."
        )


class RollbackError(TrustError):
    """The document's version is older than the one already trusted."""


class RootChainError(TrustError):
    """The chain of trust roots is broken: a version is missing, repeated or too long."""


def _fmt_time(ts: int) -> str:
    try:
        return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"t={ts}"
