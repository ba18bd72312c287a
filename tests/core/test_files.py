"""File commands: ETSI TS 102 221 §11.1.3 READ BINARY, §11.1.4 UPDATE BINARY, §11.1.5 READ RECORD,
§11.1.6 UPDATE RECORD, §11.1.7 SEARCH RECORD, §11.1.8 INCREASE, §11.1.14 DEACTIVATE FILE,
§11.1.15 ACTIVATE FILE; file structures of §8.2 (linear fixed, cyclic) and the default EFs.
"""
from __future__ import annotations

import pytest

from tests.core.helpers import ADM1, ECASD_AID, ISD_R_AID, USIM_AID, as_dict, h, parse_tlv, single


def rec(byte: int, n: int = 30) -> bytes:
    return bytes((byte,)) * n


def rec_update(p1: int, p2: int, data: bytes) -> bytes:
    return bytes((0x00, 0xDC, p1, p2, len(data))) + data


def read_rec(term, p1: int, p2: int, le: int = 30):
    return term.raw(bytes((0x00, 0xB2, p1, p2, le)))


# -- READ / UPDATE BINARY ------------------------------------------------------------------------
def test_read_binary_offsets(term):
    term.ok("00 A4 00 0C 02 2FE2")
    whole = term.ok("00 B0 00 00 0A")
    assert term.ok("00 B0 00 03 04") == whole[3:7]
    assert term.ok("00 B0 00 09 01") == whole[9:]


def test_read_binary_offset_out_of_range(term):
    term.ok("00 A4 00 0C 02 2FE2")
    assert term.raw("00 B0 00 0A 01").sw_hex == "6B00"
    assert term.raw("00 B0 7F FF 01").sw_hex == "6B00"


def test_read_binary_by_sfi_makes_ef_current(term):
    term.ok("00 A4 00 0C 02 2F05")                   # EF.PL current
    iccid = term.ok("00 B0 82 00 0A")                # SFI 2 = EF.ICCID
    assert term.ok("00 B0 00 00 0A") == iccid        # now the current EF
    assert term.ok("00 B0 82 05 05") == iccid[5:]    # P2 is the offset with SFI addressing
    assert term.raw("00 B0 9D 00 01").sw_hex == "6A82"  # no EF with SFI 29 in the MF


def test_update_binary_and_read_back(term):
    term.ok("00 A4 00 0C 02 2F05")                   # EF.PL: update needs PIN1 (disabled = ok)
    term.ok("00 D6 00 02 02 6672")
    assert term.ok("00 B0 00 00 0A")[:4] == b"enfr"
    term.ok("00 D6 85 00 02 6465")                   # by SFI 5
    assert term.ok("00 B0 00 00 04") == b"defr"


def test_update_binary_past_end_leaves_file(term):
    term.ok("00 A4 00 0C 02 2F05")
    before = term.ok("00 B0 00 00 0A")
    assert term.raw("00 D6 00 08 04 01020304").sw in (0x6700, 0x6B00, 0x6A84)
    assert term.raw("00 D6 00 0A 01 01").sw_hex == "6B00"
    assert term.ok("00 B0 00 00 0A") == before


def test_binary_on_record_ef_is_6981(term):
    term.ok("00 A4 00 0C 02 2F00")
    assert term.raw("00 B0 00 00 01").sw_hex == "6981"
    assert term.raw("00 D6 00 00 01 00").sw_hex == "6981"


def test_binary_without_current_ef_is_6986(term):
    assert term.raw("00 B0 00 00 01").sw_hex == "6986"
    assert term.raw("00 D6 00 00 01 00").sw_hex == "6986"
    term.ok("00 A4 00 0C 02 7F10")
    assert term.raw("00 B0 00 00 01").sw_hex == "6986"  # selecting a DF leaves no current EF


def test_update_binary_needs_adm(term):
    term.ok("00 A4 00 0C 02 2FE2")                   # EF.ICCID: read ALW, update ADM1
    before = term.ok("00 B0 00 00 0A")
    assert term.raw("00 D6 00 00 01 98").sw_hex == "6982"
    assert term.verify(ADM1, "55555555") == 0x9000
    term.ok("00 D6 00 00 01 98")
    assert term.ok("00 B0 00 00 0A") == b"\x98" + before[1:]


# -- READ RECORD --------------------------------------------------------------------------------
def test_read_record_linear_modes(term):
    term.ok("00 A4 00 0C 02 7F10")
    term.ok("00 A4 00 0C 02 6F3A")
    for n in range(1, 11):
        term.ok(rec_update(n, 0x04, rec(n)))
    assert read_rec(term, 0, 0x02).data == rec(1)        # NEXT from no record: first
    assert read_rec(term, 0, 0x02).data == rec(2)
    assert read_rec(term, 7, 0x04).data == rec(7)        # absolute: pointer unchanged
    assert read_rec(term, 0, 0x04).data == rec(2)        # current record
    assert read_rec(term, 0, 0x02).data == rec(3)
    assert read_rec(term, 0, 0x03).data == rec(2)        # PREVIOUS
    assert read_rec(term, 0, 0x03).data == rec(1)
    r = read_rec(term, 0, 0x03)                          # no wrap in a linear fixed EF
    assert r.sw_hex == "6A83" and r.data == b""
    assert read_rec(term, 0, 0x04).data == rec(1)        # pointer unchanged after the error


def test_read_record_linear_end(term):
    term.ok("00 A4 08 0C 04 7F10 6F3A")
    assert read_rec(term, 0, 0x03).data == rec(0xFF)     # PREVIOUS from no record: the last
    assert read_rec(term, 10, 0x04).sw == 0x9000
    for _ in range(9):
        read_rec(term, 0, 0x03)
    assert read_rec(term, 0, 0x02).sw == 0x9000
    term.ok("00 A4 00 0C 02 6F3A")
    for _ in range(10):
        assert read_rec(term, 0, 0x02).sw == 0x9000
    assert read_rec(term, 0, 0x02).sw_hex == "6A83"      # NEXT after the last record


def test_read_record_cyclic_wraps(term):
    term.ok("00 A4 08 0C 04 7F10 6F44")
    for n in range(1, 6):
        term.ok(rec_update(0, 0x03, rec(n)))             # cyclic: PREVIOUS writes a new record 1
    # record 1 is the newest
    assert [read_rec(term, n, 0x04).data[0] for n in range(1, 6)] == [5, 4, 3, 2, 1]
    term.ok("00 A4 00 0C 02 6F44")
    assert read_rec(term, 0, 0x02).data == rec(5)        # NEXT from none: record 1
    for _ in range(4):
        read_rec(term, 0, 0x02)
    assert read_rec(term, 0, 0x02).data == rec(5)        # after the last: wraps to record 1
    assert read_rec(term, 0, 0x03).data == rec(1)        # before record 1: wraps to the last


def test_read_record_errors(term):
    term.ok("00 A4 00 0C 02 2F00")
    assert read_rec(term, 5, 0x04, 40).sw_hex == "6A83"   # EF.DIR has 4 records
    assert read_rec(term, 1, 0x02, 40).sw in (0x6A86, 0x6B00)    # P1 must be 0 with NEXT
    assert read_rec(term, 1, 0x01, 40).sw in (0x6A86, 0x6B00)    # mode '01' not in TS 102 221
    term.ok("00 A4 00 0C 02 2FE2")
    assert read_rec(term, 1, 0x04, 10).sw_hex == "6981"          # transparent EF
    term.ok("00 A4 00 0C 02 7F10")
    assert read_rec(term, 1, 0x04).sw_hex == "6986"


def test_read_record_by_sfi(term):
    first = term.ok("00 B2 01 F4 28")                    # SFI 30 = EF.DIR, record 1
    assert parse_tlv(first.rstrip(b"\xff"))[0][0] == 0x61
    assert term.ok("00 B2 01 04 28") == first            # EF.DIR became the current EF
    assert term.raw("00 B2 00 04 28").sw_hex == "6A83"   # absolute mode sets no record pointer


# -- UPDATE RECORD ------------------------------------------------------------------------------
def test_update_record_linear_modes(term):
    term.ok("00 A4 08 0C 04 7F10 6F3A")
    term.ok(rec_update(3, 0x04, rec(0x33)))              # absolute
    term.ok(rec_update(0, 0x02, rec(0x11)))              # NEXT from none: record 1
    term.ok(rec_update(0, 0x02, rec(0x22)))              # record 2
    term.ok(rec_update(0, 0x03, rec(0x12)))              # PREVIOUS: record 1
    term.ok(rec_update(0, 0x04, rec(0x1F)))              # current: record 1
    got = [read_rec(term, n, 0x04).data[0] for n in range(1, 5)]
    assert got == [0x1F, 0x22, 0x33, 0xFF]


def test_update_record_wrong_length(term):
    term.ok("00 A4 08 0C 04 7F10 6F3A")
    assert term.raw(rec_update(1, 0x04, rec(1, 29))).sw_hex == "6700"
    assert term.raw(rec_update(1, 0x04, rec(1, 31))).sw_hex == "6700"
    assert read_rec(term, 1, 0x04).data == rec(0xFF)


def test_update_record_cyclic_only_previous(term):
    term.ok("00 A4 08 0C 04 7F10 6F44")
    for p1, p2 in ((1, 0x04), (0, 0x02), (0, 0x04)):
        assert term.raw(rec_update(p1, p2, rec(0x42))).sw != 0x9000
    assert all(read_rec(term, n, 0x04).data == rec(0xFF) for n in range(1, 6))
    term.ok(rec_update(0, 0x03, rec(0x42)))
    assert read_rec(term, 1, 0x04).data == rec(0x42)


def test_update_record_record_not_found(term):
    term.ok("00 A4 08 0C 04 7F10 6F3A")
    assert term.raw(rec_update(11, 0x04, rec(1))).sw_hex == "6A83"


# -- SEARCH RECORD ------------------------------------------------------------------------------
@pytest.fixture
def search_ef(term):
    """DF.TELECOM/6F3A with patterns at known places (records 1-10)."""
    term.ok("00 A4 08 0C 04 7F10 6F3A")
    rows = {1: b"\xAB\xCD" + rec(0, 28), 2: b"\x00" * 4 + b"\xAB\xCD" + rec(0, 24),
            3: rec(0x11), 4: b"\xAB\xCD" + rec(1, 28), 5: b"\x55\xAB\xCD" + rec(2, 27)}
    for n in range(1, 11):
        term.ok(rec_update(n, 0x04, rows.get(n, rec(0x11))))
    term.ok("00 A4 00 0C 02 6F3A")
    return rows


def search(term, p1: int, p2: int, data: bytes):
    return term.send(bytes((0x00, 0xA2, p1, p2, len(data))) + data + b"\x00")


def test_search_simple_forward(term, search_ef):
    r = search(term, 1, 0x04, h("ABCD"))
    assert r.sw == 0x9000 and 1 in r.data and 4 in r.data and 3 not in r.data
    assert list(r.data) == sorted(r.data)
    assert read_rec(term, 0, 0x04).data == search_ef[r.data[0]]  # pointer on the first match
    r = search(term, 2, 0x04, h("ABCD"))
    assert 1 not in r.data and 4 in r.data


def test_search_simple_backward(term, search_ef):
    r = search(term, 4, 0x05, h("ABCD"))
    assert r.sw == 0x9000 and r.data[0] == 4 and 1 in r.data
    assert 5 not in r.data and list(r.data) == sorted(r.data, reverse=True)


def test_search_enhanced_offset(term, search_ef):
    # search indication '04' (forward from P1, offset mode), offset 4
    r = search(term, 1, 0x06, h("04 04 ABCD"))
    assert r.sw == 0x9000 and list(r.data) == [2]


def test_search_enhanced_value(term, search_ef):
    # search indication '0C' (forward from P1, value mode): start after the first '55'
    r = search(term, 1, 0x06, h("0C 55 ABCD"))
    assert r.sw == 0x9000 and list(r.data) == [5]


def test_search_enhanced_from_next_record(term, search_ef):
    read_rec(term, 1, 0x04)
    read_rec(term, 0, 0x02)                              # pointer on record 1
    r = search(term, 0, 0x06, h("06 00 ABCD"))           # forward from the next record
    assert r.sw == 0x9000 and 4 in r.data and 1 not in r.data and min(r.data) >= 2


def test_search_no_match(term, search_ef):
    r = search(term, 1, 0x04, h("DEADBEEF"))
    assert r.data == b"" and r.sw in (0x9000, 0x6282, 0x6A83)


def test_search_errors(term, search_ef):
    assert search(term, 1, 0x04, rec(0, 31)).sw_hex == "6700"   # longer than a record
    term.ok("00 A4 00 0C 02 7F10")
    assert search(term, 1, 0x04, h("AB")).sw_hex == "6986"
    term.ok("00 A4 00 0C 02 3F00")
    term.ok("00 A4 00 0C 02 2FE2")
    assert search(term, 1, 0x04, h("AB")).sw_hex == "6981"


# -- INCREASE -----------------------------------------------------------------------------------
def test_increase(term):
    term.select_aid(USIM_AID, p2=0x0C)
    term.ok("00 A4 00 0C 02 6F39")                       # EF.ACM, cyclic, 3-byte records
    term.ok(rec_update(0, 0x03, h("000010")))
    assert term.send("80 32 00 00 03 000005 00").data == h("000015 000005")
    assert read_rec(term, 1, 0x04, 3).data == h("000015")
    assert read_rec(term, 2, 0x04, 3).data == h("000010")  # the old value is kept as record 2


def test_increase_max_value(term):
    term.select_aid(USIM_AID, p2=0x0C)
    term.ok("00 A4 00 0C 02 6F39")
    term.ok(rec_update(0, 0x03, h("FFFFFE")))
    r = term.send("80 32 00 00 03 000002 00")
    assert r.sw_hex == "9850" and r.data == b""          # TS 102 221 §10.2.1.3
    assert read_rec(term, 1, 0x04, 3).data == h("FFFFFE")


def test_increase_errors(term):
    assert term.raw("80 32 00 00 01 01 00").sw_hex == "6986"
    term.ok("00 A4 08 0C 04 7F10 6F3A")
    assert term.raw("80 32 00 00 01 01 00").sw_hex == "6981"  # linear fixed
    assert term.raw("00 32 00 00 01 01 00").sw_hex == "6E00"  # INCREASE is '8X' (Table 10.5)


# -- DEACTIVATE / ACTIVATE FILE -------------------------------------------------------------------
def test_deactivate_and_activate(term):
    term.ok("00 A4 08 0C 04 7F10 6F3A")
    assert term.raw("00 04 00 00").sw_hex == "6982"      # needs ADM1 (EF.ARR record 2)
    assert term.verify(ADM1, "55555555") == 0x9000
    term.ok("00 04 00 00")
    assert read_rec(term, 1, 0x04).sw != 0x9000          # deactivated: no access
    assert term.raw("00 A4 00 0C 02 6F3A").sw_hex == "6283"  # selectable, with a warning
    term.ok("00 44 00 00")
    assert read_rec(term, 1, 0x04).sw == 0x9000
    fcp = as_dict(single(term.ok("00 A4 00 04 02 6F3A 00"), 0x62))
    assert fcp[0x8A] == h("05")


def test_deactivate_by_fid_in_data(term):
    assert term.verify(ADM1, "55555555") == 0x9000
    term.ok("00 A4 00 0C 02 7F10")
    term.ok("00 04 00 00 02 6F44")
    assert term.raw("00 A4 00 0C 02 6F44").sw_hex == "6283"
    term.ok("00 44 00 00 02 6F44")
    assert term.raw("00 A4 00 0C 02 6F44").sw == 0x9000


def test_deactivate_survives_reset(term, card):
    assert term.verify(ADM1, "55555555") == 0x9000
    term.ok("00 A4 00 0C 02 2F05")
    term.ok("00 04 00 00")
    card.reset()
    assert term.raw("00 A4 00 0C 02 2F05").sw_hex == "6283"
    assert term.raw("00 B0 00 00 02").sw != 0x9000


def test_deactivate_without_current_ef(term):
    assert term.raw("00 04 00 00").sw_hex == "6986"


# -- default content: EF.DIR and EF.ICCID ------------------------------------------------------
def test_ef_dir_lists_applications(term):
    term.ok("00 A4 00 0C 02 2F00")
    aids = []
    for n in range(1, 5):
        body = term.ok(bytes((0x00, 0xB2, n, 0x04, 40))).rstrip(b"\xff")
        if body:
            app = as_dict(single(body, 0x61))
            aids.append(app[0x4F])
            assert 0x50 in app                          # application label
    assert USIM_AID in aids and ISD_R_AID in aids and ECASD_AID in aids


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def test_ef_iccid_matches_describe(term, card):
    raw = term.ok("00 B0 82 00 0A")
    # TS 102 221 §13.2: BCD, swapped nibbles, 'F' padding
    digits = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in raw).rstrip("F")
    assert digits.isdigit() and 19 <= len(digits) <= 20 and digits.startswith("89")
    assert luhn_ok(digits)                              # ITU-T E.118 check digit
    assert card.describe()["iccids"][0] == digits
