"""The ISD-R reproduces a real sysmoEUICC1 ISD-R's SCP03 sessions byte for byte, through
``Card.transmit``: INITIALIZE UPDATE response (key diversification data, i = 70, pseudo-random
card challenge from the sequence counter, card cryptogram), EXTERNAL AUTHENTICATE at levels
11 / 03 / 33, the wrapped ES10 GetEID and its R-MAC / R-ENC response (GP Amd D §6.2, §7).

Vectors: tests/gp/sysmo_euicc1_scp03.json (source named in the file).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from euicc.gp.key_store import Scp03Keys
from tests.extensions import requires
from tests.gp.helpers import SELECT_ISD_R, Terminal, new_card

pytestmark = requires("rsp")   # the traces carry ES10 commands

VECTORS = json.loads((Path(__file__).parent / "sysmo_euicc1_scp03.json").read_text())
NAMES = [s["name"] for s in VECTORS["sessions"]]


def _card_for(session: dict):
    counter = int(session["init_upd_rsp"][-6:], 16)
    sets = []
    for keyset in VECTORS["keysets"].values():
        kvn = int(keyset["kvn"], 16)
        own = kvn == int(session["init_upd_cmd"][4:6], 16)
        sets.append(Scp03Keys(kvn, bytes.fromhex(keyset["enc"]), bytes.fromhex(keyset["mac"]),
                              bytes.fromhex(keyset["dek"]), counter - 1 if own else 0))
    return new_card(VECTORS["eid"], tuple(sets))


@pytest.mark.parametrize("name", NAMES)
def test_card_reproduces_sysmo_euicc1_session(name):
    s = next(x for x in VECTORS["sessions"] if x["name"] == name)
    card = _card_for(s)
    term = Terminal(card.transmit)
    assert term.send(SELECT_ISD_R).sw == 0x9000
    r = term.send(s["init_upd_cmd"])
    assert (r.data.hex(), r.sw) == (s["init_upd_rsp"], 0x9000)
    r = term.send(s["ext_auth_cmd"])
    assert (r.data, r.sw) == (b"", 0x9000)
    r = term.send(s["get_eid_cmd"])
    assert (r.data.hex(), r.sw) == (s["get_eid_rsp"], 0x9000)
    for case in ("case_1_apdu", "case_2_apdu", "case_3_apdu", "case_4_apdu"):
        # the trace has no responses to these: the card must accept each C-MAC (chained over the
        # previous ones) and answer from the ISD-R, never with 6982 (which would end the session)
        assert term.send(s[case]).sw not in (0x6982, 0x6988)
    card.close()


def test_sequence_counter_persists_and_advances():
    s = next(x for x in VECTORS["sessions"] if x["name"] == "AES128_SL03")   # counter 000001
    card = _card_for(s)
    term = Terminal(card.transmit)
    term.send(SELECT_ISD_R)
    first = term.send(s["init_upd_cmd"])
    assert first.data.hex() == s["init_upd_rsp"]
    again = term.send(s["init_upd_cmd"])                 # same host challenge, next counter
    assert again.sw == 0x9000 and again.data[-3:] == b"\x00\x00\x02" and again.data[13:21] != first.data[13:21]
    card.close()
