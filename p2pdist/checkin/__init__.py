"""Check-ins: the signed reports a box sends up to its seeders (the reverse channel).

The document and its verification are pure (`make_checkin`, `verify_checkin`); `CheckinQueue` is
the box's durable outbox, `ServiceLog` the service data (plays, 点单) waiting for a check-in,
and `deliver` sends the outbox through a `FeedClient`. The seeder side (intake, storage,
forwarding) lives in the `seeder` package.
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
    one_line,
    verify_checkin,
)
from ._queue import CheckinQueue
from ._service import ServiceLog, ServiceReport, day_of

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
    "ServiceLog",
    "ServiceReport",
    "UnknownBoxError",
    "VerifiedCheckin",
    "day_of",
    "deliver",
    "make_checkin",
    "one_line",
    "rejection_for",
    "verify_checkin",
]
