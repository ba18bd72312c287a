"""``euicc-emu run --pcap FILE`` driven through pcscd + vpcd + pyscard, the file decoded by tshark.

The host sends SELECT (MF, EF.ICCID, ISD-R by AID), READ BINARY, an ES10 GetEID STORE DATA
(SGP.22 §5.7.20: ``BF3E 03 5C 01 5A``) and an Event Download ENVELOPE (TS 102 223 §7.5: tag
``D6``); Wireshark's gsm_sim dissector must show each with its instruction, file id or AID,
data and status word as pyscard saw them.
"""
from __future__ import annotations

import pytest

from tests.bridge import tshark
from tests.e2e.pcsc_host import T0Link
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
GET_EID = bytes.fromhex("80E2910006BF3E035C015A")
# Event Download (D6): event list (99) = 04 user activity, device identities (82) terminal -> UICC
ENVELOPE = bytes.fromhex("80C2000009D607990104820282 81".replace(" ", ""))
FIELDS = ["gsm_sim.apdu.ins", "gsm_sim.file_id", "gsm_sim.aid", "gsm_sim.apdu.data", "gsm_sim.apdu.sw",
          "gsm_sim.cat.ber_tlv_tag", "udp.payload"]


def test_pcap_of_a_pcsc_session_decodes_in_tshark(start_card, tmp_path):
    tshark.require_tshark()
    pcap = tmp_path / "card.pcap"
    card = start_card(extra=["--pcap", str(pcap)])
    link = T0Link(SLOT)
    try:
        assert link.send(bytes.fromhex("00A4000C023F00"))[1] == 0x9000
        assert link.send(bytes.fromhex("00A4000C022FE2"))[1] == 0x9000
        iccid, sw = link.send(bytes.fromhex("00B000000A"))
        assert sw == 0x9000 and len(iccid) == 10
        _fcp, sw = link.send(bytes.fromhex("00A4040010") + ISD_R + b"\x00")
        assert sw == 0x9000
        eid, sw = link.send(GET_EID)
        assert sw == 0x9000 and eid[:4] == bytes.fromhex("BF3E125A")
        _, envelope_sw = link.raw(ENVELOPE)
    finally:
        link.close()
        assert card.stop() == 0
    rows = tshark.fields(pcap, FIELDS)
    by_ins: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_ins.setdefault(row["gsm_sim.apdu.ins"], []).append(row)

    selects = by_ins["0xa4"]
    assert [r["gsm_sim.file_id"] for r in selects[:2]] == ["0x3f00", "0x2fe2"]
    assert selects[2]["gsm_sim.aid"] == ISD_R.hex()
    (read,) = by_ins["0xb0"]
    assert (read["gsm_sim.apdu.data"], read["gsm_sim.apdu.sw"]) == (iccid.hex(), "0x9000")
    (store,) = by_ins["0xe2"]
    assert store["gsm_sim.apdu.data"] == "bf3e035c015a"
    assert int(store["gsm_sim.apdu.sw"], 16) >> 8 == 0x61  # T=0: the EID waits for GET RESPONSE
    assert any(r["gsm_sim.apdu.data"].endswith(eid.hex()) for r in by_ins["0xc0"])  # ... which fetched it
    (envelope,) = by_ins["0xc2"]
    assert (envelope["gsm_sim.cat.ber_tlv_tag"], int(envelope["gsm_sim.apdu.sw"], 16)) == ("0xd6", envelope_sw)
    # the first frame is the ATR of the power-on (GSMTAP_SIM_ATR = 01 at header offset 12)
    first = bytes.fromhex(rows[0]["udp.payload"])
    assert first[:3] == b"\x02\x04\x04" and first[12] == 0x01 and first[16] == 0x3B
