"""The box's state: its identity key and the chain of trusted roots, re-verified on every load."""

from __future__ import annotations

from pathlib import Path

import pytest
from sneaker_world import NOW, YEAR, Keys, Role, make_keys, make_root

import keys
from p2pdist.boxstate import BoxState
from p2pdist.errors import ConfigError, CorruptStateError, StorageError


@pytest.fixture(scope="module")
def k() -> Keys:
    return make_keys()


@pytest.fixture
def state(tmp_path: Path) -> BoxState:
    return BoxState(tmp_path / "data")


def national(k: Keys) -> Role:
    return ("national", [k.release.public], 1, ["national/"])


def v3(k: Keys, *signers: keys.SigningKey) -> bytes:
    """The rotation after `k.root_v2` (whose root key is `k.root2`)."""
    return make_root(3, [k.root2], [national(k)], signers or [k.root2])


def versions(state: BoxState) -> list[int]:
    return [v for v, _p in state.root_files()]


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


# -- identity ----------------------------------------------------------------------------


def test_identity_is_created_once_owner_only_and_stable(state: BoxState) -> None:
    assert not state.identity_path.exists()
    key = state.identity()
    assert state.identity_path.stat().st_mode & 0o777 == 0o600
    pem = state.identity_path.read_bytes()
    assert state.identity().keyid == key.keyid
    again = BoxState(state.data_dir).identity()
    assert again.keyid == key.keyid
    assert state.identity_path.read_bytes() == pem
    assert keys.load_public_key(state.identity_path.with_name("identity.key.pub")) == key.public


def test_two_boxes_have_different_identities(tmp_path: Path) -> None:
    assert BoxState(tmp_path / "a").identity().keyid != BoxState(tmp_path / "b").identity().keyid


# -- pinning -----------------------------------------------------------------------------


def test_pin_root_stores_it(state: BoxState, k: Keys) -> None:
    root = state.pin_root(k.root_v1)
    assert root.version == 1
    assert versions(state) == [1]
    assert state.chain() == [k.root_v1]
    # Pinning the same root again is harmless.
    assert state.pin_root(k.root_v1).version == 1
    assert versions(state) == [1]


def test_pin_root_refuses_an_unsigned_root(state: BoxState, k: Keys) -> None:
    body = keys.parse_root_envelope(k.root_v1)[0].signed
    with pytest.raises(keys.MissingSignatureError):
        state.pin_root(keys.Envelope(body).encode())
    assert state.root_files() == []


def test_pin_root_refuses_a_root_not_signed_by_its_root_keys(state: BoxState, k: Keys) -> None:
    by_release_key = make_root(1, [k.root], [national(k)], [k.release])
    with pytest.raises(keys.KeyNotInRoleError):
        state.pin_root(by_release_key)
    below_threshold = make_root(1, [k.root, k.root2], [national(k)], [k.root], threshold=2)
    with pytest.raises(keys.ThresholdError):
        state.pin_root(below_threshold)
    assert state.root_files() == []


def test_pin_root_refuses_a_different_root_once_pinned(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    other = make_root(1, [k.outsider], [national(k)], [k.outsider])
    with pytest.raises(ConfigError, match="already trusts a root"):
        state.pin_root(other)
    assert state.chain() == [k.root_v1]


def test_nothing_pinned_is_a_config_error(state: BoxState) -> None:
    with pytest.raises(ConfigError, match="box init"):
        state.chain()
    with pytest.raises(ConfigError):
        state.trusted_root(NOW)
    with pytest.raises(ConfigError):
        state.accept_roots([], NOW)


# -- trusted_root ------------------------------------------------------------------------


def test_trusted_root_walks_the_stored_chain(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    assert state.trusted_root(NOW).version == 1
    state.accept_roots([k.root_v2], NOW)
    root = state.trusted_root(NOW)
    assert root.version == 2
    assert root.envelope == k.root_v2
    assert [r.name for r in root.release_roles] == ["national", "hunan"]


def test_stray_files_in_the_roots_folder_are_ignored(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    (state.roots_dir / "root.v2.tmp").write_bytes(b"junk")
    (state.roots_dir / "README").write_bytes(b"junk")
    assert versions(state) == [1]
    assert state.trusted_root(NOW).version == 1


@pytest.mark.parametrize("which", ["root.v1", "root.v2"])
def test_tampered_stored_root_is_corrupt_state(state: BoxState, k: Keys, which: str) -> None:
    state.pin_root(k.root_v1)
    state.accept_roots([k.root_v2], NOW)
    flip_byte(state.roots_dir / which)
    with pytest.raises(CorruptStateError, match="box init") as info:
        state.trusted_root(NOW)
    assert isinstance(info.value, StorageError)
    assert isinstance(info.value.__cause__, keys.TrustError)


def test_replaced_stored_rotation_is_corrupt_state(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    state.accept_roots([k.root_v2], NOW)
    (state.roots_dir / "root.v2").write_bytes(k.forged_v2)
    with pytest.raises(CorruptStateError):
        state.trusted_root(NOW)


def test_expired_newest_root_is_expired_not_corrupt(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    state.accept_roots([k.root_v2], NOW)
    with pytest.raises(keys.ExpiredError) as info:
        state.trusted_root(NOW + 10 * YEAR)
    assert not isinstance(info.value, CorruptStateError)
    assert state.trusted_root(NOW).version == 2


def test_only_the_newest_root_must_be_fresh(state: BoxState, k: Keys) -> None:
    short = make_root(1, [k.root], [national(k)], [k.root], expires=NOW + 100)
    longer = make_root(2, [k.root], [national(k)], [k.root], expires=NOW + YEAR)
    state.pin_root(short)
    with pytest.raises(keys.ExpiredError):
        state.trusted_root(NOW + 10_000)
    state.accept_roots([longer], NOW + 10_000)
    assert state.trusted_root(NOW + 10_000).version == 2


# -- accept_roots ------------------------------------------------------------------------


def test_accept_roots_stores_verified_rotations(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    third = v3(k)
    root = state.accept_roots([k.root_v2, third], NOW)
    assert root.version == 3
    assert versions(state) == [1, 2, 3]
    assert state.chain() == [k.root_v1, k.root_v2, third]
    assert state.trusted_root(NOW).version == 3
    # Later rotations continue from the newest stored root.
    v4 = make_root(4, [k.root2], [national(k)], [k.root2])
    assert state.accept_roots([v4], NOW).version == 4
    assert versions(state) == [1, 2, 3, 4]


def test_accept_roots_refuses_a_forged_rotation(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    with pytest.raises(keys.KeyNotInRoleError):
        state.accept_roots([k.forged_v2], NOW)
    assert versions(state) == [1]


def test_accept_roots_needs_the_new_root_keys_too(state: BoxState, k: Keys) -> None:
    """Signed by v1's root key only: the new root key never proved it works."""
    only_old = make_root(2, [k.root2], [national(k)], [k.root])
    state.pin_root(k.root_v1)
    with pytest.raises(keys.TrustError):
        state.accept_roots([only_old], NOW)
    assert versions(state) == [1]


def test_accept_roots_stores_nothing_when_a_later_step_fails(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    with pytest.raises(keys.KeyNotInRoleError):
        state.accept_roots([k.root_v2, v3(k, k.outsider)], NOW)
    assert versions(state) == [1]
    assert state.trusted_root(NOW).version == 1


def test_accept_roots_refuses_a_gap(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    with pytest.raises((keys.RootChainError, keys.KeyNotInRoleError)):
        state.accept_roots([v3(k)], NOW)
    assert versions(state) == [1]


def test_accept_roots_refuses_an_expired_newest_root(state: BoxState, k: Keys) -> None:
    state.pin_root(k.root_v1)
    with pytest.raises(keys.ExpiredError):
        state.accept_roots([k.root_v2], NOW + 10 * YEAR)
    assert versions(state) == [1]


def test_a_rotation_offered_twice_is_accepted_once(state: BoxState, k: Keys) -> None:
    """Two honest sources carry the same new root in one poll, then again in the next."""
    state.pin_root(k.root_v1)
    assert state.accept_roots([k.root_v2, k.root_v2], NOW).version == 2
    assert state.accept_roots([k.root_v2], NOW).version == 2
    assert versions(state) == [1, 2]
    assert (state.roots_dir / "root.v2").read_bytes() == k.root_v2


# -- the trust state the agent holds -----------------------------------------------------


def test_the_trust_state_persists_through_the_box_state(state: BoxState, k: Keys) -> None:
    """The agent's one TrustState: rotations it trusts are stored, a reload sees them, and an
    offer of roots already held (two sources in one poll, or the next poll) is no error."""
    state.pin_root(k.root_v1)
    trust = state.trust_state(NOW, {"national/test": (4, b"envelope")})
    assert trust.root.version == 1
    assert trust.last == {"national/test": (4, b"envelope")}
    state.store_roots(trust.update_roots([k.root_v2, k.root_v2], NOW))
    state.store_roots(trust.update_roots([k.root_v2], NOW))  # the next poll: nothing new
    assert trust.update_roots([k.root_v1, k.root_v2], NOW) == []
    assert versions(state) == [1, 2]
    again = state.trust_state(NOW)
    assert again.root.version == 2
    assert again.chain == [k.root_v1, k.root_v2]


def test_a_tampered_stored_root_fails_the_trust_state_as_corrupt(state: BoxState,
                                                                  k: Keys) -> None:
    state.pin_root(k.root_v1)
    state.accept_roots([k.root_v2], NOW)
    flip_byte(state.roots_dir / "root.v2")
    with pytest.raises(CorruptStateError):
        state.trust_state(NOW)
