"""The box's own state under <data>/state: identity key and the chain of trusted roots.

The pinned root (installed by `box init`) is the lowest version kept; every newer root is stored
only after it was verified from the one before, so reloading the chain at start re-verifies it
cheaply and a tampered file is caught. The identity key signs the box's check-ins; it is created
on first start and never leaves the box (support bundles exclude it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from keys import (
    MAX_ROOT_BYTES,
    ExpiredError,
    Root,
    SigningKey,
    TrustError,
    load_signing_key,
    parse_root_envelope,
    save_keypair,
    verify_pinned_root,
)

from .errors import ConfigError, CorruptStateError
from .fs import atomic_write
from .i18n import _
from .trust import TrustState

_ROOT_FILE = re.compile(r"root\.v(\d+)")


def root_file_version(name: str) -> int | None:
    """The version in a root file name ``root.v<N>``, or None for any other name."""
    m = _ROOT_FILE.fullmatch(name)
    return int(m.group(1)) if m else None


class BoxState:
    """Paths and small documents of one box's state directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.dir = data_dir / "state"
        self.roots_dir = self.dir / "roots"
        self.identity_path = self.dir / "identity.key"

    # Identity.

    def identity(self) -> SigningKey:
        """The box's identity key, created on first use (0600)."""
        if not self.identity_path.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            save_keypair(SigningKey.generate(), self.identity_path)
        return load_signing_key(self.identity_path)

    # Trust roots.

    def root_files(self) -> list[tuple[int, Path]]:
        out = []
        if self.roots_dir.is_dir():
            for p in self.roots_dir.iterdir():
                v = root_file_version(p.name)
                if v is not None:
                    out.append((v, p))
        return sorted(out)

    def pin_root(self, data: bytes) -> Root:
        """Install the pinned root (box init). It must carry its own root threshold.

        Raises:
            TrustError: the root does not verify.
            ConfigError: a different root is already pinned.
        """
        root = verify_pinned_root(data)
        files = self.root_files()
        if files and files[0][1].read_bytes() != data:
            raise ConfigError(
                _("{dir} already trusts a root (v{v}); use a new data directory to change the "
                  "pinned root").format(dir=self.data_dir, v=files[0][0]))
        self.roots_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.roots_dir / f"root.v{root.version}", data)
        return root

    def chain(self) -> list[bytes]:
        """The stored root envelopes, pinned first.

        Raises:
            ConfigError: no root is pinned (run `p2pdist box init`).
        """
        files = self.root_files()
        if not files:
            raise ConfigError(_("no trust root in {dir}: run `p2pdist box init --root ROOT`")
                              .format(dir=self.data_dir))
        return [p.read_bytes()[: MAX_ROOT_BYTES + 1] for _v, p in files]

    def trusted_root(self, now: int) -> Root:
        """Re-verify the stored chain and return the newest root.

        Raises:
            ConfigError: nothing pinned.
            ExpiredError: the newest root has expired (fix the clock or get a newer root).
            CorruptStateError: a stored root no longer verifies.
        """
        return self.trust_state(now).root

    def trust_state(self, now: int,
                    last: Mapping[str, tuple[int, bytes]] | None = None) -> TrustState:
        """The box's `TrustState`: the stored chain re-verified, and `last` (channel ->
        version and recorded envelope of its last trusted release, from the store).

        Raises:
            ConfigError: nothing pinned.
            ExpiredError: the newest root has expired (fix the clock or get a newer root).
            CorruptStateError: a stored root no longer verifies.
        """
        chain = self.chain()
        try:
            trust = TrustState.load(chain, now)
        except ExpiredError:
            raise
        except TrustError as e:
            raise CorruptStateError(
                _("the trust roots stored in {dir} do not verify any more ({err}); reinstall "
                  "the box's root with `p2pdist box init`").format(dir=self.roots_dir, err=e)
            ) from e
        trust.last.update(last or {})
        return trust

    def store_roots(self, fresh: Sequence[bytes]) -> None:
        """Persist rotations a `TrustState` just trusted (`update_roots`' return value)."""
        held = self.root_files()[-1][0] if self.root_files() else 0
        for data in fresh:
            version = parse_root_envelope(data)[1].version
            if version > held:
                atomic_write(self.roots_dir / f"root.v{version}", data)

    def accept_roots(self, newer: Sequence[bytes], now: int) -> Root:
        """Verify rotations that follow the newest stored root, store them, return the newest.

        Idempotent: versions already stored, and duplicates within `newer`, are skipped.

        Raises:
            TrustError: a rotation does not verify (nothing is stored).
        """
        chain = self.chain()
        # Walk from the pinned root through the stored chain and the offer in one pass (stored
        # intermediates may have expired, as in TUF); store only what is new.
        trust = TrustState([chain[0]], verify_pinned_root(chain[0]))
        self.store_roots(trust.update_roots([*chain[1:], *newer], now))
        return trust.root
