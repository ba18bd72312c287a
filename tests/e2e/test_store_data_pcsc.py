"""End-to-end: STORE DATA without data through pcscd + vpcd (GP Card Specification v2.3.1 §11.11.2:
the data field is mandatory; ISO 7816-4 '6700' wrong length)."""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import T0Link
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")


def test_empty_store_data_is_wrong_length(start_card):
    start_card()
    link = T0Link(SLOT)
    try:
        assert link.send(b"\x00\xA4\x04\x00\x10" + ISD_R + b"\x00")[1] == 0x9000
        assert link.raw(bytes.fromhex("80E29100"))[1] == 0x6700
        # the same card still answers a real ES10 request (SGP.22 §5.7.7 GetEuiccChallenge)
        data, sw = link.send(bytes.fromhex("80E2910003BF2E00"))
        assert sw == 0x9000 and data[:5] == bytes.fromhex("BF2E128010")
    finally:
        link.close()
