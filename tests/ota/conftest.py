"""Shared fixtures for the OTA tests: the published SCP80 vectors and a dict key store."""
from __future__ import annotations

import pytest

from euicc.crypto.scp80 import KeyUsage
from tests.vectors import section


@pytest.fixture(scope="session")
def scp80_vectors() -> dict:
    """ETSI TS 102 225 vectors (tests/vectors, copied from the reference data with its source)."""
    return section("scp80_ts102225_sms")


class DictKeys:
    """KeyProvider over {(kvn, KeyUsage): key}."""

    def __init__(self, kvn: int, kic: bytes, kid: bytes, key_type: int | None = None) -> None:
        self._keys = {(kvn, KeyUsage.KIC): kic, (kvn, KeyUsage.KID): kid}
        self._types = {kvn: key_type}

    def key(self, kvn: int, usage: KeyUsage) -> bytes | None:
        return self._keys.get((kvn, usage))

    def key_type(self, kvn: int) -> int | None:
        """GP key type of the key set; None (any algorithm) unless the test names one."""
        return self._types.get(kvn)


@pytest.fixture
def dict_keys():
    return DictKeys
