"""Store-level integrity checks of an active release (issue 16 item 1): the cheap check
finds missing, resized and touched-and-changed files; marks left by `verify` are taken once."""

from __future__ import annotations

import os
from pathlib import Path

from sneaker_world import CHANNEL, build_signed, install_into, make_keys

from p2pdist.integrity import (
    IntegrityRecord,
    expected_files,
    full_check,
    mark_damaged,
    quick_check,
    take_marks,
)
from p2pdist.sample import write_sample
from p2pdist.store import Policy, Store


def test_quick_check_full_check_and_marks(tmp_path: Path) -> None:
    k = make_keys()
    content = write_sample(tmp_path / "c", 300_000, seed=4).root
    install_into(tmp_path / "box", [k.root_v1], build_signed(content, CHANNEL, 1, k.release),
                 content)
    store = Store(tmp_path / "box", reserve=0)
    m = store.load_manifest(CHANNEL, 1)
    wanted = expected_files(store, m, Policy())
    assert len(wanted) == len(m.files)
    record = IntegrityRecord(1)
    assert quick_check(store, m, wanted, record) == []
    record.note_good(store, m, wanted)
    record.save(tmp_path / "box", m)
    record = IntegrityRecord.load(tmp_path / "box", m) or IntegrityRecord(0)
    assert record.version == 1 and len(record.files) == len(wanted)

    active = store.active_dir(CHANNEL)
    gone, flipped, touched = wanted[0], wanted[1], wanted[2]
    (active / gone.path).unlink()
    data = bytearray((active / flipped.path).read_bytes())
    data[3] ^= 1
    (active / flipped.path).unlink()  # a linked object: write a new file, as an editor does
    (active / flipped.path).write_bytes(bytes(data))
    st = (active / touched.path).stat()
    os.utime(active / touched.path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))

    damaged = quick_check(store, m, wanted, record)
    assert {e.path for e in damaged} == {gone.path, flipped.path}  # touched but same bytes
    assert {e.path for e in full_check(store, m, wanted)} == {gone.path, flipped.path}

    mark_damaged(tmp_path / "box", m, [touched.path])
    assert take_marks(tmp_path / "box", m) == {touched.path}
    assert take_marks(tmp_path / "box", m) == set()
