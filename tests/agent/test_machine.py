"""The update lifecycle table, exercised without I/O."""

from __future__ import annotations

import pytest

from p2pdist.agent._machine import (
    RETRY_MAX_S,
    RETRY_MIN_S,
    TRANSITIONS,
    Input,
    Output,
    Phase,
    UnexpectedInput,
    UpdateMachine,
    transition_table,
)


def run(m: UpdateMachine, *steps: Input, **kw: object) -> list[tuple[Output, ...]]:
    return [m.feed(s, **kw) for s in steps]  # type: ignore[arg-type]


def test_fresh_box_updates_and_ends_seeding() -> None:
    m = UpdateMachine()
    assert m.phase is Phase.IDLE
    assert m.feed(Input.POLL) == (Output.FETCH_MANIFESTS,)
    assert m.feed(Input.MANIFEST, version=3) == (Output.VERIFY,)
    assert m.phase is Phase.MANIFEST_FOUND and m.target_version == 3
    assert m.feed(Input.VERIFIED_NEW, version=3) == (Output.START_DOWNLOAD,)
    assert m.feed(Input.STARTED) == ()
    assert m.phase is Phase.DOWNLOADING
    assert m.feed(Input.DOWNLOADED) == (Output.CHECK_FILES,)
    assert m.feed(Input.FILES_OK) == (Output.ACTIVATE,)
    assert m.feed(Input.ACTIVATED) == (Output.REPORT,)
    assert m.phase is Phase.SEEDING and m.active_version == 3 and m.target_version is None


def test_box_with_active_release_rests_seeding() -> None:
    m = UpdateMachine(active_version=2)
    assert m.phase is Phase.SEEDING
    m.feed(Input.MANIFEST, version=2)
    assert m.feed(Input.VERIFIED_OLD) == ()
    assert m.phase is Phase.SEEDING and m.target_version is None


def test_rejected_manifest_penalizes_and_keeps_resting_state() -> None:
    m = UpdateMachine(active_version=1)
    m.feed(Input.MANIFEST, version=9)
    assert m.feed(Input.REJECTED, reason="bad signature") == (Output.PENALIZE, Output.REPORT)
    assert m.phase is Phase.SEEDING and m.reason == "bad signature"
    assert m.active_version == 1


@pytest.mark.parametrize("busy", [Phase.MANIFEST_FOUND, Phase.VERIFIED, Phase.DOWNLOADING,
                                  Phase.CHECKING, Phase.ACTIVATING])
def test_failure_anywhere_backs_off_then_retries(busy: Phase) -> None:
    m = UpdateMachine(active_version=1, phase=busy)
    assert m.feed(Input.FAILED, now=100.0, reason="disk full") == (
        Output.SCHEDULE_RETRY, Output.REPORT)
    assert m.phase is Phase.FAILED and m.retry_at == 100.0 + RETRY_MIN_S
    assert not m.retry_due(100.0 + RETRY_MIN_S - 1) and m.retry_due(100.0 + RETRY_MIN_S)
    assert m.feed(Input.POLL) == ()  # polls wait for the retry time
    assert m.feed(Input.RETRY) == (Output.FETCH_MANIFESTS,)
    assert m.phase is Phase.SEEDING and m.active_version == 1


def test_backoff_doubles_and_is_capped_then_resets_on_success() -> None:
    m = UpdateMachine()
    delays = []
    for _ in range(10):
        m.feed(Input.MANIFEST, version=1)
        m.feed(Input.FAILED, now=0.0, reason="x")
        delays.append(m.retry_at)
        m.feed(Input.RETRY)
    assert delays[:3] == [RETRY_MIN_S, 2 * RETRY_MIN_S, 4 * RETRY_MIN_S]
    assert max(d for d in delays if d is not None) == RETRY_MAX_S
    run(m, Input.MANIFEST, version=1)
    run(m, Input.VERIFIED_NEW, Input.STARTED, Input.DOWNLOADED, Input.FILES_OK,
        Input.ACTIVATED, version=1)
    assert m.failures == 0 and m.reason is None


def test_inputs_out_of_order_are_bugs() -> None:
    m = UpdateMachine()
    with pytest.raises(UnexpectedInput):
        m.feed(Input.FILES_OK)
    with pytest.raises(UnexpectedInput):
        m.feed(Input.ACTIVATED)


def test_every_phase_can_fail_or_leave_and_the_table_prints() -> None:
    reachable = {to for (_f, _i), (to, _o) in TRANSITIONS.items() if isinstance(to, Phase)}
    assert {Phase.MANIFEST_FOUND, Phase.VERIFIED, Phase.DOWNLOADING, Phase.CHECKING,
            Phase.ACTIVATING, Phase.SEEDING, Phase.FAILED} <= reachable
    rows = transition_table()
    assert ("checking", "files ok", "activating", "activate") in rows
