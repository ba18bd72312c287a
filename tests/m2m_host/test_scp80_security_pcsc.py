"""SCP80 minimum security level, replay and algorithm downgrade through real pcscd + ifd-vpcd +
`euicc-emu run` (pyscard ENVELOPEs, TS 102 223 §7.1.1): what an OTA platform in front of a reader sees.

Packets come from the host-side SCP80 (tools/ota/packet.py) with the default card's documented
ISD-R key set 01 (AES); expected PoR statuses are TS 102 225 §5.2's: '0A' below the ISD-R's minimum
security level (TS 102 226 §8.2.1.3.2.2, SGP.02 §2.4: CC + ciphering + counter higher), '05' for a
3DES header on the AES key set, '02' for a replayed packet.
"""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import reader_name
from tests.m2m import host
from tests.m2m.test_es5 import create_isdp
from tools.ota import packet as ota
from tools.ota import transport
from tools.smsr.pki_files import DEFAULT_CARD_KEYSET
from tools.terminal.link import PcscLink

pytestmark = pytest.mark.pcsc

NEW_ISDP = host.isdp_aid(0x77)
TDES = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


def get_status(aid: bytes) -> bytes:
    """GP GET STATUS of one ISD-P (P1 '40', SGP.02 §4.1.1.x audit)."""
    return bytes.fromhex("80F2400212") + host.ber(0x4F, aid) + b"\x00"


def test_scp80_refusals_over_pcsc(start_card, pcscd, tmp_path):
    start_card(tmp_path / "card.state")
    link = PcscLink(reader_name(pcscd))
    try:
        terminal = host.Terminal(link)
        terminal.terminal_profile()
        smsr = host.OtaServer(terminal, DEFAULT_CARD_KEYSET, counter=0x1000)
        accepted = smsr.packet(transport.expanded_script([get_status(NEW_ISDP)]))
        data, sw = smsr.deliver(accepted)
        assert sw == 0x9000 and smsr.por(data).status == 0x00
        (response,) = transport.decode_expanded_response(smsr.por(data).data).responses
        assert response[-2:] == b"\x6a\x88"                      # no such ISD-P yet

        # a captured packet without counter (SPI '0601'), sent twice: '0A' both times
        no_counter = bytes.fromhex("0601")
        captured = smsr.packet(transport.expanded_script([create_isdp(NEW_ISDP)]), spi=no_counter, counter=0)
        for _ in range(2):
            data, sw = smsr.deliver(captured)
            assert sw == 0x9000 and smsr.por(data, spi=no_counter).status == 0x0A

        # the accepted packet again: counter low
        data, _ = smsr.deliver(accepted)
        assert smsr.por(data).status == 0x02

        # 3DES header on the AES key set 01: refused, not run
        downgrade = host.OtaServer(terminal, ota.OtaKeyset(1, ota.TDES2, TDES, ota.TDES2, TDES), counter=0x2000)
        data, _ = downgrade.deliver(downgrade.packet(transport.expanded_script([create_isdp(NEW_ISDP)])))
        assert downgrade.por(data).status == 0x05

        # nothing ran: the ISD-P still does not exist, and the counter kept 0x1000 (0x1001 passes)
        (data, sw), = smsr.run([get_status(NEW_ISDP)], counter=0x1001)
        assert sw == 0x6A88
    finally:
        link.close()
