"""Shared fixtures for the OTA tests: a dict key store."""
from __future__ import annotations

import pytest

from euicc.crypto.scp80 import KeyUsage


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
