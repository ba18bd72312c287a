"""BER-TLV structured EFs: FCP, RETRIEVE DATA and SET DATA (ETSI TS 102 221 §11.1.1.4, §11.3).

The card is the minimal profile, whose ADF.USIM holds EF.IMSConfigData '6FF8' (SFI '10', maximum
size 600, EF.ARR record 4: read PIN1, update ADM1) with the objects '80 01 00' and '81 04 "test"'.
Commands and responses are written by hand from §11.3 (P2 '80'+SFI first block, '00' next block,
'40' previous block again; '62F1' more data available, '63F1' more data expected; tag '5C' the tag
list; DER lengths) and the FCP codings of §11.1.1.4 (descriptor '39', 'A5' with '84' file details
and '86' maximum file size, '80' the bytes used).
"""
from __future__ import annotations

import pytest

from euicc.composition import open_card
from tests.core.helpers import ADM1, USIM_AID, Terminal, h, pin, store_snapshot

VALUE_300 = bytes(range(256)) + bytes(range(44))          # a 300-byte value: two blocks


@pytest.fixture
def ef(term: Terminal) -> Terminal:
    """The terminal with EF.IMSConfigData current (ADF.USIM, then SELECT '6FF8')."""
    term.select_aid(USIM_AID)
    term.ok("00A4000C026FF8")
    return term


def adm(term: Terminal) -> None:
    assert term.verify(ADM1, "55555555") == 0x9000


def retrieve(term: Terminal, tag: str, p2: int = 0x80):
    t = h(tag)
    return term.send(bytes((0x80, 0xCB, 0x00, p2, len(t))) + t + b"\x00")


def set_data(term: Terminal, data: bytes, p2: int = 0x80) -> int:
    return term.sw(bytes((0x80, 0xDB, 0x00, p2, len(data))) + data)


def test_fcp_describes_a_ber_tlv_structure(term):
    term.select_aid(USIM_AID)
    fcp = term.ok("00A40004026FF8 00")
    assert fcp == h("62 20 82 02 79 21 83 02 6FF8 A5 07 84 01 01 86 02 0258"
                    "      8A 01 05 8B 03 6F06 04 80 02 0009 88 01 80")       # 80 01 00 + 81 04 test


def test_retrieve_objects_and_tag_list(ef):
    assert retrieve(ef, "81").data == h("81 04 74657374")
    r = retrieve(ef, "80")
    assert (r.data, r.sw) == (h("80 01 00"), 0x9000)
    assert retrieve(ef, "5C").data == h("5C 02 80 81")
    assert retrieve(ef, "82").sw == 0x6A88                     # referenced data not found


def test_retrieve_by_sfi_makes_the_ef_current(term):
    term.select_aid(USIM_AID)                                   # no current EF
    assert term.sw(h("80CB0000 00")) == 0x6985                  # nothing to continue
    assert retrieve(term, "81", p2=0x80).sw == 0x6986           # first block, current EF: none
    assert retrieve(term, "81", p2=0x90).data == h("81 04 74657374")
    assert retrieve(term, "5C", p2=0x80).data == h("5C 02 80 81")


def test_set_data_creates_replaces_and_deletes(ef):
    adm(ef)
    assert set_data(ef, h("82 03 010203")) == 0x9000            # create
    assert retrieve(ef, "82").data == h("82 03 010203")
    assert set_data(ef, h("81 02 6F6B")) == 0x9000              # replace
    assert retrieve(ef, "81").data == h("81 02 6F6B")
    assert retrieve(ef, "5C").data == h("5C 03 80 81 82")
    assert set_data(ef, h("80")) == 0x9000                      # the tag alone deletes
    assert set_data(ef, h("82 00")) == 0x9000                   # so does length 0
    assert retrieve(ef, "5C").data == h("5C 01 81")
    assert set_data(ef, h("80")) == 0x6A88                      # nothing to delete
    assert set_data(ef, h("BF1F 02 8000")) == 0x9000            # a two-byte constructed tag
    assert retrieve(ef, "BF1F").data == h("BF1F 02 8000")
    fcp = ef.ok("00A40004026FF8 00")
    assert h("80 02 0009") in fcp                               # 81 02 6F6B + BF1F 02 8000


def test_large_object_in_blocks_with_t0(ef):
    adm(ef)
    header = h("A1 82 012C")
    assert set_data(ef, header + VALUE_300[:200]) == 0x63F1     # more data expected
    assert set_data(ef, VALUE_300[200:], p2=0x00) == 0x9000
    first = retrieve(ef, "A1")                                  # 61xx + GET RESPONSE, then 62F1
    assert (first.data, first.sw) == ((header + VALUE_300)[:256], 0x62F1)
    again = ef.send(h("80CB0040 00"))                            # the previous block again
    assert (again.data, again.sw) == ((header + VALUE_300)[:256], 0x62F1)
    last = ef.send(h("80CB0000 00"))                             # '6C30', re-issued with Le '30'
    assert (last.data, last.sw) == ((header + VALUE_300)[256:], 0x9000)
    assert ef.sw(h("80CB0000 00")) == 0x6985                     # nothing more


def test_large_object_in_blocks_with_direct_delivery(dterm):
    dterm.select_aid(USIM_AID)
    dterm.ok("00A4000C026FF8")
    adm(dterm)
    assert set_data(dterm, h("A1 82 012C") + VALUE_300[:150]) == 0x63F1
    assert set_data(dterm, VALUE_300[150:], p2=0x00) == 0x9000
    first = dterm.raw(h("80CB0080 01 A1 00"))
    assert (first.data, first.sw) == ((h("A1 82 012C") + VALUE_300)[:256], 0x62F1)
    last = dterm.raw(h("80CB0000 00"))
    assert (last.data, last.sw) == ((h("A1 82 012C") + VALUE_300)[256:], 0x9000)


def test_set_data_previous_block_replaced(ef):
    adm(ef)
    assert set_data(ef, h("83 06 0102")) == 0x63F1
    assert set_data(ef, h("EEEE"), p2=0x00) == 0x63F1
    assert set_data(ef, h("0304"), p2=0x40) == 0x63F1           # replaces 'EEEE'
    assert set_data(ef, h("0506"), p2=0x00) == 0x9000
    assert retrieve(ef, "83").data == h("83 06 010203040506")


def test_interleaved_select_ends_the_transfer(ef):
    adm(ef)
    before = store_snapshot(ef.card.store)
    assert set_data(ef, h("83 04 0102")) == 0x63F1
    ef.ok("00A4000C026F07")                                     # another EF
    ef.ok("00A4000C026FF8")
    assert set_data(ef, h("0304"), p2=0x00) == 0x6985
    assert store_snapshot(ef.card.store) == before


def test_read_access_condition(term):
    term.ok(b"\x00\x28\x00\x01\x08" + pin("0000"))              # ENABLE PIN1
    term.card.reset()
    term.select_aid(USIM_AID)
    term.ok("00A4000C026FF8")
    assert retrieve(term, "81").sw == 0x6982
    assert term.verify(0x01, "0000") == 0x9000
    assert retrieve(term, "81").data == h("81 04 74657374")


@pytest.mark.parametrize("apdu, sw", [
    (h("80DB0080 05 82 03 010203"), 0x6982),                   # UPDATE needs ADM1
    (h("80CB0180 01 81 00"), 0x6A86),                          # P1 not '00'
    (h("80CB0020 01 81 00"), 0x6A86),                          # P2 RFU
    (h("80DB0020 01 81"), 0x6A86),
    (h("00CB0080 01 81 00"), 0x6E00),                          # interindustry class
    (h("80CB0080 00"), 0x6700),                                # first block without a tag
    (h("80CB0080 02 81 00 00"), 0x6A80),                       # more than a tag
    (h("80CB0080 01 9F 00"), 0x6A80),                          # truncated tag
    (h("80CB0000 01 81 00"), 0x6700),                          # next block with data
    (h("80CB0040 00"), 0x6985),                                # no previous block
    (h("80DB0000 02 0102"), 0x6985),                           # next block of nothing
    (h("80DB0080 00"), 0x6700),
], ids=lambda v: v.hex() if isinstance(v, bytes) else f"{v:04X}")
def test_refusals_without_adm(ef, apdu, sw):
    before = store_snapshot(ef.card.store)
    assert ef.sw(apdu) == sw
    assert store_snapshot(ef.card.store) == before


@pytest.mark.parametrize("data, sw", [
    (h("5C 01 80"), 0x6A80),                                   # the tag list is not a data object
    (h("01 01 00"), 0x6A80),                                   # universal class
    (h("9F05 01 00"), 0x6A80),                                 # '9F05' is not a tag of §11.3.0
    (h("C1 01 00"), 0x6A80),                                   # private class
    (h("82 81 05 0102030405"), 0x6A80),                        # length not in DER
    (h("82 02 010203"), 0x6700),                               # more than announced
    (h("82 82 0300") + b"\x00" * 10, 0x6A84),                  # 768 bytes: beyond 600
    (h("81 82 0260") + b"\x00" * 10, 0x6A84),                  # replacing 81 with 608 bytes
], ids=lambda v: v.hex() if isinstance(v, bytes) else f"{v:04X}")
def test_set_data_refusals(ef, data, sw):
    adm(ef)
    before = store_snapshot(ef.card.store)
    assert set_data(ef, data) == sw
    assert store_snapshot(ef.card.store) == before
    assert retrieve(ef, "5C").data == h("5C 02 80 81")


def test_size_limit_counts_the_whole_file(ef):
    adm(ef)
    # 80 01 00 (3) + 81 04 test (6) + 82 82 0245 + 581 bytes (585) = 594 <= 600
    assert set_data(ef, h("82 82 0245") + b"\x11" * 200) == 0x63F1
    assert set_data(ef, b"\x11" * 200, p2=0x00) == 0x63F1
    assert set_data(ef, b"\x11" * 181, p2=0x00) == 0x9000
    assert set_data(ef, h("83 05 0000000000")) == 0x6A84        # 594 + 7 > 600
    assert set_data(ef, h("83 04 00000000")) == 0x9000          # 594 + 6 = 600


def test_not_a_ber_tlv_ef(term):
    term.select_aid(USIM_AID)
    term.ok("00A4000C026F07")                                   # EF.IMSI, transparent
    assert retrieve(term, "81").sw == 0x6981
    assert set_data(term, h("81 01 00")) == 0x6981


def test_objects_persist_across_reopen(tmp_path):
    path = tmp_path / "card.state"
    card = open_card(path)
    term = Terminal(card)
    term.select_aid(USIM_AID)
    term.ok("00A4000C026FF8")
    adm(term)
    assert set_data(term, h("84 02 CAFE")) == 0x9000
    card.close()
    card = open_card(path)
    try:
        term = Terminal(card)
        term.select_aid(USIM_AID)
        term.ok("00A4000C026FF8")
        assert retrieve(term, "84").data == h("84 02 CAFE")
        assert retrieve(term, "5C").data == h("5C 03 80 81 84")
    finally:
        card.close()
