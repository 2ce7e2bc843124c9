"""Fixtures for the trust-root and key-file tests."""

from __future__ import annotations

import pytest
from trust_keys_helpers import Cast, cast

from keys import SigningKey


@pytest.fixture(scope="session")
def c() -> Cast:
    """The shared cast of keys (root keys r1..r3, new root keys n1, n2, release keys, outsider)."""
    return cast()


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()
