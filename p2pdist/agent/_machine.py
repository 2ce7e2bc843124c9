"""The box's update lifecycle as an explicit state machine (pure: no I/O, no clock reads).

The agent's I/O shell feeds it inputs (a poll is due, a manifest was offered, the download
finished, ...) and carries out the outputs it returns (fetch manifests, verify, start the
download, ...). Every transition is one row of `TRANSITIONS`, so the lifecycle reads as a table
(magic-wormhole's style) and is tested without a network or a disk.

`REST` is not a state but "where the box rests": SEEDING when it has an active release, IDLE when
it has none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..backoff import capped_backoff


class Phase(enum.StrEnum):
    IDLE = "idle"
    MANIFEST_FOUND = "manifest found"
    VERIFIED = "verified"
    DOWNLOADING = "downloading"
    CHECKING = "checking"
    ACTIVATING = "activating"
    SEEDING = "seeding"
    FAILED = "failed"


class Input(enum.StrEnum):
    POLL = "poll"  # time to ask sources for manifests
    MANIFEST = "manifest"  # a source offered a manifest newer than the active one (a hint)
    VERIFIED_NEW = "verified new"  # it verified and is newer
    VERIFIED_OLD = "verified old"  # it verified but is not newer (already have it)
    REJECTED = "rejected"  # it did not verify: the source is penalized
    STARTED = "started"  # space checked, files reused, torrent added: bytes are moving
    DOWNLOADED = "downloaded"  # libtorrent has every wanted piece
    FILES_OK = "files ok"  # every wanted file matched its SHA-256
    ACTIVATED = "activated"
    FAILED = "failed"  # any step failed (disk full, transfer error, ...)
    RETRY = "retry"  # the retry time of a failure has come
    SUPERSEDED = "superseded"  # a newer verified release replaces the running download


class Output(enum.StrEnum):
    FETCH_MANIFESTS = "fetch manifests"
    VERIFY = "verify"
    PENALIZE = "penalize"
    START_DOWNLOAD = "start download"
    CHECK_FILES = "check files"
    ACTIVATE = "activate"
    SCHEDULE_RETRY = "schedule retry"
    REPORT = "report"


REST = "rest"
_ANY_BUSY = (Phase.MANIFEST_FOUND, Phase.VERIFIED, Phase.DOWNLOADING, Phase.CHECKING,
             Phase.ACTIVATING)
_RESTING = (Phase.IDLE, Phase.SEEDING)

TRANSITIONS: dict[tuple[Phase, Input], tuple[Phase | str, tuple[Output, ...]]] = {}


def _row(froms: tuple[Phase, ...], inp: Input, to: Phase | str, *outs: Output) -> None:
    for f in froms:
        TRANSITIONS[(f, inp)] = (to, outs)


# from                      input                to                  outputs
_row(_RESTING,              Input.POLL,          REST,               Output.FETCH_MANIFESTS)
_row(_RESTING,              Input.MANIFEST,      Phase.MANIFEST_FOUND, Output.VERIFY)
_row((Phase.MANIFEST_FOUND,), Input.VERIFIED_NEW, Phase.VERIFIED,    Output.START_DOWNLOAD)
_row((Phase.MANIFEST_FOUND,), Input.VERIFIED_OLD, REST)
_row((Phase.MANIFEST_FOUND,), Input.REJECTED,    REST,               Output.PENALIZE,
     Output.REPORT)
_row((Phase.VERIFIED,),     Input.STARTED,       Phase.DOWNLOADING)
_row((Phase.DOWNLOADING,),  Input.DOWNLOADED,    Phase.CHECKING,     Output.CHECK_FILES)
_row((Phase.CHECKING,),     Input.FILES_OK,      Phase.ACTIVATING,   Output.ACTIVATE)
_row((Phase.ACTIVATING,),   Input.ACTIVATED,     Phase.SEEDING,      Output.REPORT)
_row(_ANY_BUSY,             Input.FAILED,        Phase.FAILED,       Output.SCHEDULE_RETRY,
     Output.REPORT)
_row((Phase.VERIFIED, Phase.DOWNLOADING), Input.SUPERSEDED, Phase.VERIFIED,
     Output.START_DOWNLOAD)
_row((Phase.FAILED,),       Input.RETRY,         REST,               Output.FETCH_MANIFESTS)
_row((Phase.FAILED,),       Input.POLL,          Phase.FAILED)


class UnexpectedInput(RuntimeError):
    """An input that the current state does not accept: a bug in the shell, not bad data."""


RETRY_MIN_S = 30.0
RETRY_MAX_S = 3600.0


@dataclass
class UpdateMachine:
    """The lifecycle of one channel on one box.

    Attributes:
        phase: the current state.
        active_version: the version the box serves, if any (decides where REST is).
        target_version: the version being fetched, if any.
        reason: why the last failure or rejection happened, in plain words.
        retry_at: when a FAILED box tries again (seconds, the shell's clock).
        failures: consecutive failures, for the backoff.
    """

    active_version: int | None = None
    phase: Phase = Phase.IDLE
    target_version: int | None = None
    reason: str | None = None
    retry_at: float | None = None
    failures: int = 0
    history: list[tuple[Phase, Input, Phase]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.active_version is not None and self.phase is Phase.IDLE:
            self.phase = Phase.SEEDING

    def accepts(self, inp: Input) -> bool:
        return (self.phase, inp) in TRANSITIONS

    def feed(self, inp: Input, *, now: float = 0.0, version: int | None = None,
             reason: str | None = None) -> tuple[Output, ...]:
        """Apply one input; return the outputs the shell must carry out, in order.

        Args:
            inp: what happened.
            now: the shell's clock (for the retry time after a failure).
            version: the manifest's version (MANIFEST, VERIFIED_NEW, ACTIVATED).
            reason: what went wrong (REJECTED, FAILED).

        Raises:
            UnexpectedInput: the input makes no sense in this state.
        """
        row = TRANSITIONS.get((self.phase, inp))
        if row is None:
            raise UnexpectedInput(f"input {inp!s} in state {self.phase!s}")
        to, outs = row
        before = self.phase
        if inp in (Input.MANIFEST, Input.VERIFIED_NEW, Input.SUPERSEDED):
            self.target_version = version
        if inp is Input.ACTIVATED:
            self.active_version = self.target_version if version is None else version
            self.target_version = None
            self.failures = 0
            self.reason = None
        if inp in (Input.REJECTED, Input.VERIFIED_OLD):
            self.target_version = None
        if inp is Input.REJECTED:
            self.reason = reason
        if inp is Input.FAILED:
            self.failures += 1
            self.reason = reason
            self.retry_at = now + capped_backoff(RETRY_MIN_S, self.failures, RETRY_MAX_S)
        if inp is Input.RETRY:
            self.retry_at = None
            self.target_version = None
        self.phase = self._resolve(to)
        self.history.append((before, inp, self.phase))
        del self.history[:-50]
        return outs

    def _resolve(self, to: Phase | str) -> Phase:
        if isinstance(to, Phase):
            return to
        return Phase.SEEDING if self.active_version is not None else Phase.IDLE

    def retry_due(self, now: float) -> bool:
        return self.phase is Phase.FAILED and self.retry_at is not None and now >= self.retry_at

    def describe(self) -> dict[str, Any]:
        return {
            "phase": str(self.phase),
            "active_version": self.active_version,
            "target_version": self.target_version,
            "reason": self.reason,
            "retry_at": self.retry_at,
            "failures": self.failures,
        }


def transition_table() -> list[tuple[str, str, str, str]]:
    """The table as rows of text (from, input, to, outputs), e.g. for docs and `--help`."""
    return [(str(f), str(i), str(to), ", ".join(map(str, outs)))
            for (f, i), (to, outs) in TRANSITIONS.items()]
