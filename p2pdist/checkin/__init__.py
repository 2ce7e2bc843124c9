"""Check-ins: the signed reports a box sends up to its seeders (the reverse channel).

The document and its verification are pure (`make_checkin`, `verify_checkin`); `CheckinQueue` is
the box's durable outbox and `deliver` sends it through a `FeedClient`. The seeder side (intake,
storage, forwarding) lives in the `seeder` package.
"""

from ._deliver import ACCEPTED, DeliveryReport, deliver
from ._errors import (
    FINAL_STATUSES,
    REASONS,
    ForgedIdentityError,
    Rejection,
    ReplayError,
    UnknownBoxError,
    rejection_for,
)
from ._model import (
    CHECKIN_FORMAT,
    MAX_CHECKIN_BYTES,
    ChannelReport,
    Checkin,
    VerifiedCheckin,
    make_checkin,
    verify_checkin,
)
from ._queue import CheckinQueue

__all__ = [
    "ACCEPTED",
    "CHECKIN_FORMAT",
    "FINAL_STATUSES",
    "MAX_CHECKIN_BYTES",
    "REASONS",
    "ChannelReport",
    "Checkin",
    "CheckinQueue",
    "DeliveryReport",
    "ForgedIdentityError",
    "Rejection",
    "ReplayError",
    "UnknownBoxError",
    "VerifiedCheckin",
    "deliver",
    "make_checkin",
    "rejection_for",
    "verify_checkin",
]
