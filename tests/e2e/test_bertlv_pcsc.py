"""End-to-end: a BER-TLV structured EF through pyscard -> pcscd -> ifd-vpcd -> `euicc-emu run`, T=0.

The minimal profile's EF.IMSConfigData '6FF8' in ADF.USIM (TS 102 221 §11.3: SET DATA and RETRIEVE
DATA; FCP file descriptor '39', §11.1.1.4.3).  The link handles '61xx' / '6Cxx' as a terminal does;
an object longer than one response comes in two blocks, '62F1' "more data available" after the first
(§10.2.1.1).  Expected bytes are written by hand from those clauses.
"""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import T0Link
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

USIM = bytes.fromhex("A0000000871002FFFFFFFF8907090000")    # the minimal profile's USIM
VALUE = bytes(range(256)) + bytes(range(44))                 # 300 bytes


def test_set_and_retrieve_data_over_t0(start_card):
    start_card()
    link = T0Link(SLOT)
    try:
        _, sw = link.send(b"\x00\xA4\x04\x0C" + bytes((len(USIM),)) + USIM)
        assert sw == 0x9000
        fcp, sw = link.send(bytes.fromhex("00A40004026FF800"))
        assert sw == 0x9000 and fcp[:2] == b"\x62\x20"
        assert fcp[2:6] == bytes.fromhex("82027921")            # '39' BER-TLV structure, shareable
        assert bytes.fromhex("A507840101860202 58") in fcp      # DER only; maximum size 600

        data, sw = link.send(bytes.fromhex("80CB0080015C00"))   # tag list
        assert (data, sw) == (bytes.fromhex("5C028081"), 0x9000)
        data, sw = link.send(bytes.fromhex("80CB00800181 00"))
        assert (data, sw) == (bytes.fromhex("810474657374"), 0x9000)

        _, sw = link.send(bytes.fromhex("0020000A083535353535353535"))   # ADM1
        assert sw == 0x9000
        first = bytes.fromhex("A182012C") + VALUE[:200]
        _, sw = link.send(bytes.fromhex("80DB0080") + bytes((len(first),)) + first)
        assert sw == 0x63F1                                      # more data expected
        _, sw = link.send(bytes.fromhex("80DB0000") + bytes((100,)) + VALUE[200:])
        assert sw == 0x9000

        data, sw = link.send(bytes.fromhex("80CB008001A100"))
        assert (data, sw) == ((bytes.fromhex("A182012C") + VALUE)[:256], 0x62F1)
        data, sw = link.send(bytes.fromhex("80CB000000"))       # next block: '6C30', Le '30'
        assert (data, sw) == ((bytes.fromhex("A182012C") + VALUE)[256:], 0x9000)

        _, sw = link.send(bytes.fromhex("80DB008001A1"))        # delete
        assert sw == 0x9000
        data, sw = link.send(bytes.fromhex("80CB008001A100"))
        assert sw == 0x6A88
    finally:
        link.close()
