"""What a superseded download leaves for the newer release: finished files go to objects/,
partial files whose content the newer release also has move into its folder (where the swarm
keeps their good pieces, tests/swarm/test_swarm_partial_reuse.py)."""

from __future__ import annotations

from pathlib import Path

from agentworld import World

from manifest import Manifest, decode_envelope
from p2pdist.agent._supervise import salvage
from p2pdist.store import Policy, Store


def _manifest(path: Path) -> tuple[bytes, Manifest]:
    blob = path.read_bytes()
    return blob, Manifest.decode_body(decode_envelope(blob).signed)


async def test_partial_files_shared_with_the_newer_release_move_to_it(
        agent_world: World, tmp_path: Path) -> None:
    w = agent_world
    store = Store(tmp_path / "box")
    blob1, m1 = _manifest(w.manifest[1])
    _blob2, m2 = _manifest(w.manifest[2])
    store.record_manifest(blob1, m1)
    store.prepare_release(m1, Policy())
    old = store.release_dir(m1.channel, m1.version)
    content = {e.path: (w.content[1] / e.path).read_bytes() for e in m1.files}
    films = sorted((e for e in m1.files if e.size > 1000), key=lambda e: e.path)
    whole, partial = films[0], films[1:]
    for e in m1.files:  # one film finished, the others half written, the rest absent
        if e in partial or e == whole:
            (old / e.path).parent.mkdir(parents=True, exist_ok=True)
            data = content[e.path] if e == whole else content[e.path][: e.size // 2]
            (old / e.path).write_bytes(data)
    in_v2 = {(e.sha256, e.size): e.path for e in m2.files}
    shared = [e for e in partial if (e.sha256, e.size) in in_v2]
    assert shared, "the world's v2 shares files with v1"

    kept = await salvage(store, m1, m2)

    new = store.release_dir(m2.channel, m2.version)
    assert kept == 1 + len(shared)
    assert (tmp_path / "box" / "objects" / whole.sha256.hex()).is_file()
    for e in shared:
        moved = new / in_v2[(e.sha256, e.size)]
        assert moved.read_bytes() == content[e.path][: e.size // 2]
        assert not (old / e.path).exists()
    for e in partial:
        if e not in shared:
            assert (old / e.path).is_file()  # not in v2: left where it was, for gc
