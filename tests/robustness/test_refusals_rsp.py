"""Refusals of the ES10 transport and of ES5 through the card's one door (Card.transmit).

* STORE DATA chaining (GP Card Spec v2.3.1 §11.11; SGP.22 v2.5 §5.7.2): data beyond the card's
  buffer (euicc.gp.store_data.DEFAULT_MAX_SIZE) is refused with '6A84' (ISO 7816-4 Table 6: not
  enough memory space) and the sequence is forgotten; the block sequence belongs to its channel.
* Channels (ISO/IEC 7816-4 §5.4.1, TS 102 221 §11.1.17): a channel that is not open answers
  '6881'; STORE DATA where the ISD-R is not selected is an instruction the selected application
  does not know, '6D00' (TS 102 221 §10.2.1.4).
* ES5 (SGP.02 v4.2 §2.4.1, §4.1.1.x): only through the ISD-R's secured OTA channel; from the
  terminal '6982', over SCP80 below the minimum security level PoR '0A'.
"""
from __future__ import annotations

import pytest

from euicc.card import Card
from euicc.composition import open_card
from euicc.gp.store_data import DEFAULT_MAX_SIZE
from euicc.m2m.personalization import TEST_KIC, TEST_KID
from tests.m2m import host
from tools.fuzz.invariants import snapshot
from tools.ota import packet as ota
from tools.ota import transport

ISD_R = "A0000005591010FFFFFFFF8900000100"
GET_EID = "BF3E035C015A"


def tx(card: Card, hexstr: str) -> str:
    return card.transmit(bytes.fromhex(hexstr.replace(" ", ""))).hex().upper()


def extended(cla: int, p1: int, p2: int, data: bytes) -> bytes:
    """STORE DATA as an extended-length case 3 APDU (ISO/IEC 7816-4 §5.1)."""
    return bytes([cla, 0xE2, p1, p2, 0]) + len(data).to_bytes(2, "big") + data


@pytest.fixture
def card():
    c = open_card(None)
    assert tx(c, "0070000001") == "019000"
    assert tx(c, "01A4040010" + ISD_R)[:2] == "61"
    yield c
    c.close()


def test_store_data_beyond_the_buffer_is_6a84_and_forgotten(card):
    first = DEFAULT_MAX_SIZE * 5 // 8
    before, writes = snapshot(card.store), card.store.writes
    assert card.transmit(extended(0x81, 0x11, 0, b"\xbf" * first)).hex() == "9000"
    rest = DEFAULT_MAX_SIZE - first + 1                      # one byte more than the buffer
    assert card.transmit(extended(0x81, 0x91, 1, b"\x00" * rest)).hex().upper() == "6A84"
    assert tx(card, "81E2910201 00") == "6A86"              # nothing kept: block 2 has no sequence
    assert (card.store.writes, snapshot(card.store)) == (writes, before)
    assert tx(card, "81E2910006" + GET_EID)[:2] == "61"       # a new request starts cleanly


def test_store_data_exactly_the_buffer_is_accepted_as_a_sequence(card):
    """The bound is inclusive: DEFAULT_MAX_SIZE bytes are collected (then refused as DER, 6A80
    or answered with an ES10 error, never 6A84)."""
    half = DEFAULT_MAX_SIZE // 2
    assert card.transmit(extended(0x81, 0x11, 0, b"\xbf" * half)).hex() == "9000"
    sw = card.transmit(extended(0x81, 0x91, 1, b"\x00" * (DEFAULT_MAX_SIZE - half)))[-2:].hex().upper()
    assert sw != "6A84"


def test_store_data_on_a_channel_that_is_not_open(card):
    assert tx(card, "83E2910006" + GET_EID) == "6881"
    assert tx(card, "C5E2910006" + GET_EID) == "6881"        # channel 9 (further interindustry CLA)


def test_store_data_where_the_isd_r_is_not_selected(card):
    assert tx(card, "80E2910006" + GET_EID) == "6D00"        # basic channel: the MF/USIM is selected
    assert tx(card, "0070000001") == "029000"
    assert tx(card, "82E2910006" + GET_EID) == "6D00"


def test_store_data_sequence_belongs_to_its_channel(card):
    assert tx(card, "0070000001") == "029000"
    assert tx(card, "02A4040C10" + ISD_R) == "9000"
    assert tx(card, "81E2110003 BF3E03") == "9000"            # block 0 on channel 1
    assert tx(card, "82E2910103 5C015A") == "6A86"            # block 1 on channel 2: no sequence there
    answer = tx(card, "81E2910103 5C015A")                     # channel 1 goes on
    assert answer == "6115"
    assert tx(card, "01C0000015")[-4:] == "9000"


def test_closing_the_channel_drops_its_sequence(card):
    assert tx(card, "81E2110003 BF3E03") == "9000"
    assert tx(card, "0070800100") == "9000"
    assert tx(card, "0070000001") == "019000"
    assert tx(card, "01A4040C10" + ISD_R) == "9000"
    assert tx(card, "81E2910103 5C015A") == "6A86"


# -- ES5 (SGP.02) -----------------------------------------------------------------------------------
def es5_delete(card: Card) -> bytes:
    """ES5 DeleteProfile STORE DATA (DGI '3A05' with the ISD-P AID, SGP.02 §4.1.1.4)."""
    aid = card.services.profiles.enabled().isdp_aid
    return host.store_data(host.dgi(0x3A05, host.ber(0x4F, aid)))


def test_es5_from_the_terminal_is_6982(card):
    before = snapshot(card.store)
    assert card.transmit(bytes([0x81]) + es5_delete(card)[1:]).hex().upper() == "6982"   # channel 1
    assert tx(card, "00A4040010" + ISD_R)[:2] == "61"
    assert card.transmit(es5_delete(card)).hex().upper() == "6982"                      # basic channel
    assert snapshot(card.store) == before


def _es5_over_ota(card: Card, spi: str, kid_algorithm: int) -> tuple[int, list[bytes]]:
    """Deliver an ES5 DeleteProfile script to the ISD-R TAR; (PoR status, script responses)."""
    terminal = host.Terminal(card)
    terminal.terminal_profile()
    smsr = host.OtaServer(terminal, ota.OtaKeyset(0x01, ota.AES, TEST_KIC, kid_algorithm, TEST_KID))
    spi_bytes = bytes.fromhex(spi)
    data, _ = smsr.deliver(smsr.packet(transport.expanded_script([es5_delete(card)]), spi=spi_bytes))
    por = smsr.por(data, spi=spi_bytes)
    return por.status, transport.decode_expanded_response(por.data).responses if por.data else []


def _unchanged(card: Card) -> dict:
    return {k: v for k, v in snapshot(card.store).items() if "counter" not in k}


def test_es5_over_scp80_without_any_check_is_refused(card):
    """SPI '0001': no RC/CC/DS, no ciphering (TS 102 225 §5.1.1): below the ISD-R's Minimum Security
    Level (TS 102 226 §8.2.1.3.2.2): PoR '0A', nothing runs (it was '6982' in the PoR before the
    MSL was enforced)."""
    before = _unchanged(card)
    assert _es5_over_ota(card, "0001", ota.AES) == (0x0A, [])
    assert _unchanged(card) == before


def test_es5_over_scp80_with_a_redundancy_check_only_is_refused(card):
    """SPI '0101': a CRC16 redundancy check (TS 102 225 §5.1.1 b2b1 = 01, §5.1.3.2) needs no key,
    so it proves nothing: below the minimum security level, PoR '0A'."""
    before = _unchanged(card)
    assert _es5_over_ota(card, "0101", 0x01) == (0x0A, [])
    assert _unchanged(card) == before


def test_es5_over_scp80_with_the_test_keys_is_accepted(card):
    """The positive control of the two tests above: same script, SPI '1619' (CC, ciphered)."""
    terminal = host.Terminal(card)
    terminal.terminal_profile()
    smsr = host.OtaServer(terminal, ota.OtaKeyset(0x01, ota.AES, TEST_KIC, ota.AES, TEST_KID))
    ((_, sw),) = smsr.run([bytes.fromhex("80CABF3000")])      # GET DATA: SM-SR addressing / audit
    assert sw >> 8 in (0x90, 0x61, 0x6A), f"{sw:04X}"
    assert sw != 0x6982
