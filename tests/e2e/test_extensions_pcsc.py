"""End-to-end: ``euicc-emu run --extensions`` as a PC/SC client sees it (pyscard -> pcscd -> vpcd).

A consumer-only card (``rsp``) answers ES10 GetEID (SGP.22 §5.7.20) and refuses an SMS-PP data
download ENVELOPE (TS 102 221 §11.2.2: no 'D1' handler, '6A80'); an M2M-only card (``m2m``)
refuses ES10 over STORE DATA with '6A81' (function not supported) and presents the ISD-R without
the SGP.22 'E0' template.  Expected bytes are written from the specifications.
"""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import T0Link
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

SELECT_ISD_R = bytes.fromhex("00A4040010A0000005591010FFFFFFFF890000010000")
GET_EID = bytes.fromhex("80E2910006BF3E035C015A00")                # ES10c GetEID
SMS_PP_DOWNLOAD = bytes.fromhex("80C2000006D10482028381")            # 'D1' { device identities }


def _tags(data: bytes) -> list[int]:
    """Tags of the top-level data objects inside the '6F' FCI (one-byte tags, short lengths)."""
    assert data[0] == 0x6F and data[1] == len(data) - 2
    out, i = [], 2
    while i < len(data):
        out.append(data[i])
        i += 2 + data[i + 1]
    return out


def test_a_consumer_only_card(start_card, tmp_path):
    start_card(tmp_path / "rsp.state", extra=["--extensions", "rsp"])
    link = T0Link(SLOT)
    try:
        fci, sw = link.send(SELECT_ISD_R)
        assert sw == 0x9000 and 0xE0 in _tags(fci)
        data, sw = link.send(GET_EID)
        assert sw == 0x9000 and data[:5] == bytes.fromhex("BF3E125A10") and len(data) == 21
        _, sw = link.send(SMS_PP_DOWNLOAD)
        assert sw == 0x6A80
    finally:
        link.close()


def test_an_m2m_only_card(start_card, tmp_path):
    start_card(tmp_path / "m2m.state", extra=["--extensions", "m2m"])
    link = T0Link(SLOT)
    try:
        fci, sw = link.send(SELECT_ISD_R)
        assert sw == 0x9000 and _tags(fci) == [0x84, 0xA5]
        _, sw = link.send(GET_EID)
        assert sw == 0x6A81
    finally:
        link.close()
