"""Security refusals through the card's one door (Card.transmit), each with the spec's status word.

SCP80 refusals (replay / lower counters, wrong checksums, wrong keys with their PoR codes) and
certificate refusals (unknown CI, wrong role, tampered) are covered at module level by
tests/ota/test_scp80_refusals.py and tests/pki/test_certificates.py; neither is reachable by APDU
yet (no ENVELOPE / ES10b handler), so they are not repeated here.
"""
from __future__ import annotations

import pytest

from euicc.card import Card
from euicc.composition import open_card


USIM_AID = "A0000000871002FFFFFFFF8907090000"


def tx(card: Card, hexstr: str) -> str:
    return card.transmit(bytes.fromhex(hexstr.replace(" ", ""))).hex().upper()


def pin(digits: str) -> str:
    return (digits.encode().hex() + "FF" * 8)[:16]


@pytest.fixture
def card(tmp_path):
    c = open_card(tmp_path / "card.state")
    yield c
    c.close()


def test_pin_retry_exhaustion_blocks_the_pin(card, tmp_path):
    """TS 102 221 §11.1.9: 63C2, 63C1, 63C0, then 6983 even for the right PIN, across power cycles."""
    assert [tx(card, "0020008108" + pin("0000")) for _ in range(3)] == ["63C2", "63C1", "63C0"]
    assert tx(card, "0020008108" + pin("9999")) == "6983"
    assert tx(card, "00200081") == "6983"
    card.close()
    again = open_card(tmp_path / "card.state")
    assert tx(again, "0020008108" + pin("9999")) == "6983"
    assert tx(again, "00A4040C10" + USIM_AID) == "9000"
    assert tx(again, "00A4000C026F3B") == "9000"
    assert tx(again, "00DC01041E" + "00" * 30) == "6982"      # PIN2-protected update refused
    again.close()


def test_blocked_pin_cannot_be_changed_or_disabled(card):
    for _ in range(3):
        tx(card, "0020008108" + pin("0000"))
    assert tx(card, "0024008110" + pin("9999") + pin("1234")) == "6983"
    assert tx(card, "0020000108" + pin("1111")) == "63C2"   # PIN1 counts separately


def test_puk_blocking(card):
    """TS 102 221 §11.1.13: 63C9..63C0 for wrong PUKs, then 6983 even for the right PUK."""
    answers = [tx(card, "002C008110" + "30" * 8 + pin("1234")) for _ in range(10)]
    assert answers == [f"63C{n:X}" for n in range(9, -1, -1)]
    assert tx(card, "002C008110" + "32" * 8 + pin("1234")) == "6983"
    assert tx(card, "002C0081") == "6983"
    assert tx(card, "0020008108" + pin("9999")) == "9000"   # a wrong PUK has no effect on the PIN


def test_unblock_restores_counter_and_sets_new_pin(card):
    for _ in range(3):
        tx(card, "0020008108" + pin("0000"))
    assert tx(card, "002C008110" + "32" * 8 + pin("4321")) == "9000"
    assert tx(card, "00200081") == "9000"                    # verified on this card session
    card.reset()
    assert tx(card, "00200081") == "63C3"
    assert tx(card, "0020008108" + pin("9999")) == "63C2"
    assert tx(card, "0020008108" + pin("4321")) == "9000"


@pytest.mark.parametrize("apdu, sw", [
    ("00A4", "6700"), ("00A400", "6700"),                  # shorter than a header
    ("00A4000402 3F", "6700"),                              # Lc says 2, one byte follows
    ("00A4000401 3F00", "6700"),                            # Lc says 1, two bytes follow
    ("00A4000400 0002 3F", "6700"),                         # extended Lc 2, one byte
    ("00A4000400 0000 00", "6700"),                         # extended Lc 0
    ("00B00000 0000", "6700"),
    ("00D60000FF" + "00" * 300, "6700"),                    # oversized for its Lc
])
def test_truncated_and_oversized_apdus(card, apdu, sw):
    assert tx(card, apdu) == sw


def test_extended_apdu_with_65535_bytes_is_refused_cleanly(card):
    tx(card, "00A40004022F05")
    assert tx(card, "00D6000000FFFF" + "00" * 0xFFFF) == "6700"   # larger than EF.PL


@pytest.mark.parametrize("data", [
    "A9",                  # tag without a length
    "A905830102",          # length runs past the end
    "A984FFFFFFFF",        # four-byte length far beyond the data
    "A98500000001 00",     # five-byte length form
    "1F",                  # truncated multi-byte tag
])
def test_malformed_tlv_in_terminal_capability(card, data):
    """TS 102 221 §11.1.19: the data is BER-TLV; malformed TLV -> 6A80."""
    body = bytes.fromhex(data.replace(" ", ""))
    assert tx(card, f"80AA0000{len(body):02X}" + body.hex()) == "6A80"


def test_malformed_tlv_in_get_status(card):
    """GP Card Spec §11.4.2: search criteria '4F' TLV; malformed -> 6A80."""
    tx(card, "00A4040010A0000005591010FFFFFFFF8900000100")
    assert tx(card, "80F2400203 4F05A0") == "6A80"
    assert tx(card, "80F2400202 5C00") == "6A80"             # no '4F' at all


def test_commands_on_a_closed_channel(card):
    """TS 102 221 §11.1.17 / ISO 7816-4 §5.4.1: a channel that is not open answers 6881."""
    assert tx(card, "0070000001") == "019000"               # case 2: channel number 1
    assert tx(card, "01A40004023F00")[-4:-2] == "61"
    assert tx(card, "0070800100") == "9000"
    assert tx(card, "01A40004023F00") == "6881"
    assert tx(card, "4FA40004023F00") == "6881"               # channel 19, never opened
    assert tx(card, "0070800100") == "6881"                   # closing it twice
    assert tx(card, "00708000") == "6A86"                     # the basic channel cannot close


def test_reset_closes_every_channel(card):
    assert tx(card, "0070000001") == "019000"
    card.reset()
    assert tx(card, "01A40004023F00") == "6881"


def test_access_conditions_hold_without_verification(card):
    """TS 102 221 §9.2: EF.IMSI update needs ADM1; never satisfied without VERIFY ADM."""
    tx(card, "00A4040C10" + USIM_AID)
    assert tx(card, "00A4000C026F07") == "9000"
    assert tx(card, "00D6000001 00") == "6982"
    assert tx(card, "0020000A08" + pin("00000000")) == "63C9"
    assert tx(card, "00D6000001 00") == "6982"
