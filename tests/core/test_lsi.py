"""Logical SE interfaces in the kernel (ETSI TS 102 221 V17 §7.5; euicc.ports, euicc.lsi), with no
extension deciding profiles: each LSI keeps its own logical channels, selections and verified
PINs; MANAGE LSI (CLA '80' INS '7C', P1 '00' select / '01' reset LSE / '04' configure, as public
APDU decoders code it) moves between them; a card without LSIs does not know the instruction."""
from __future__ import annotations

from euicc.card import CardConfig
from euicc.composition import open_card
from euicc.ports import PortLayout

TWO = CardConfig(ports=PortLayout(count=2))


def sw(card, apdu: str) -> int:
    return int.from_bytes(card.transmit(bytes.fromhex(apdu))[-2:], "big")


def test_each_lsi_keeps_its_channels_and_selection():
    card = open_card(None, TWO)
    assert card.transmit(bytes.fromhex("0070000001")) == bytes.fromhex("019000")   # channel 1 on LSI 0
    assert sw(card, "00A4000C022FE2") == 0x9000                                      # EF.ICCID on LSI 0
    assert sw(card, "807C0001") == 0x9000                                            # to LSI 1
    assert sw(card, "01A4000C023F00") == 0x6881                                      # no channel 1 here
    assert sw(card, "00B000000A") == 0x6986                                          # nothing selected
    assert sw(card, "807C0000") == 0x9000                                            # back to LSI 0
    assert sw(card, "00B000000A") == 0x9000                                          # EF.ICCID still
    assert sw(card, "01A4000C023F00") == 0x9000


def test_configure_lsis_lowers_the_highest_one():
    card = open_card(None, TWO)
    r = card.transmit(bytes.fromhex("807C040006800100810100"))
    assert r == bytes.fromhex("6106")
    assert card.transmit(bytes.fromhex("00C0000006")) == bytes.fromhex("800100" "810100" "9000")
    assert sw(card, "807C0001") == 0x6A86


def test_a_card_without_lsis_does_not_know_manage_lsi():
    card = open_card(None)
    assert sw(card, "807C0001") == 0x6D00
    assert card.atr == bytes.fromhex("3B9796801FC78031E073FE215FFB")
