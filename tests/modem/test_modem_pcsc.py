"""``euicc-emu modem --reader``: the modem fronting a card on PC/SC (pcscd + vpcd + pyscard), as it
would front a real card.  Known answers as in test_modem_pty (README default card, SGP.22 §5.7.20)."""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import reader_name
from tests.modem.at_client import AtPort, ModemProcess, hex_field
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc


def test_modem_fronts_the_card_in_a_pcsc_reader(start_card):
    start_card(first_profile="test")
    modem = ModemProcess(["--reader", reader_name(SLOT)])
    port = AtPort(modem.path)
    try:
        port.ok("ATE0")
        assert port.ok("AT+CIMI") == ["001010000000001"]
        (line,) = port.ok("AT+CRSM=176,12258,0,0,10")
        numbers, data = hex_field(line, "+CRSM")
        # ICCID 89001000000000000010 as EF.ICCID holds it (TS 102 221 §13.2: BCD, low nibble first)
        assert numbers == ["144", "0"] and data == bytes.fromhex("98000100000000000001")
        (session,) = port.ok('AT+CCHO="A0000005591010FFFFFFFF8900000100"')
        (line,) = port.ok(f'AT+CGLA={session},22,"80E2910006BF3E035C015A"')
        (_,), response = hex_field(line, "+CGLA")
        assert response[0] == 0x61  # T=0 through pcscd: the host fetches the data
        (line,) = port.ok(f'AT+CGLA={session},10,"00C00000{response[1]:02X}"')
        (_,), response = hex_field(line, "+CGLA")
        assert response[:5] == bytes.fromhex("BF3E125A10") and response[-2:] == b"\x90\x00"
        port.ok(f"AT+CCHC={session}")
    finally:
        port.close()
        assert modem.stop() == 0
