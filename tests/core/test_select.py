"""SELECT: ETSI TS 102 221 §8.4 (selection rules), §11.1.1 (command, P1/P2 coding) and
§11.1.1.3-§11.1.1.4 (FCP template contents), §9.5.2 (PIN status template DO 'C6').
"""
from __future__ import annotations

import pytest

from tests.core.helpers import (ADM1, ECASD_AID, ISD_R_AID, PIN1, PIN2, USIM_AID, as_dict, h,
                                parse_tlv, pin, single)

# Optional FCP objects a card may add (TS 102 221 Tables for EF / DF responses)
OPTIONAL_EF = {0xA5, 0x81}
OPTIONAL_DF = {0xA5, 0x81}


def check_fcp(fcp: bytes, expected: list[tuple[int, bytes | None]], optional: set[int]) -> dict:
    """FCP '62' holds exactly `expected` (value None: any) in that order, plus `optional` tags."""
    objs = [(t, v) for t, v in parse_tlv(single(fcp, 0x62)) if t not in optional
            or t in {e[0] for e in expected}]
    assert [t for t, _ in objs] == [t for t, _ in expected], \
        f"FCP tags {[f'{t:X}' for t, _ in objs]} != {[f'{t:X}' for t, _ in expected]}"
    for (tag, value), (_, want) in zip(objs, expected):
        if want is not None:
            assert value == want, f"tag {tag:X}: {value.hex()} != {want.hex()}"
    return dict(objs)


def pin_status(c6: bytes) -> list[tuple[int, bool]]:
    """Decode DO 'C6' (TS 102 221 §9.5.2): PS_DO '90' bitmap, then ['95' usage] '83' references."""
    objs = parse_tlv(c6)
    assert objs[0][0] == 0x90 and objs[0][1], "PS_DO first"
    ps = int.from_bytes(objs[0][1], "big")
    nbits = 8 * len(objs[0][1])
    refs = [v[0] for t, v in objs[1:] if t == 0x83]
    assert all(t in (0x83, 0x95) for t, _ in objs[1:])
    assert all(len(v) == 1 for t, v in objs[1:] if t == 0x83)
    return [(ref, bool(ps >> (nbits - 1 - i) & 1)) for i, ref in enumerate(refs)]


def fcp_of(term, *path: int) -> bytes:
    """SELECT by path from the MF with P2 '04' (return FCP)."""
    data = b"".join(f.to_bytes(2, "big") for f in path)
    return term.ok(bytes((0x00, 0xA4, 0x08, 0x04, len(data))) + data + b"\x00")


# -- FCP contents ------------------------------------------------------------------------------
def test_fcp_transparent_ef_iccid(term):
    check_fcp(fcp_of(term, 0x2FE2), [
        (0x82, h("41 21")),            # shareable working EF, transparent; data coding '21'
        (0x83, h("2FE2")),
        (0x8A, h("05")),               # LCSI: operational, activated
        (0x8B, h("2F06 01")),          # referenced format: EF.ARR '2F06', record 1
        (0x80, h("000A")),             # file size 10
        (0x88, h("10")),               # SFI 2 in b8-b4
    ], OPTIONAL_EF)


def test_fcp_linear_fixed_ef_dir(term):
    check_fcp(fcp_of(term, 0x2F00), [
        (0x82, h("42 21 0028 04")),    # linear fixed, record length 40, 4 records
        (0x83, h("2F00")),
        (0x8A, h("05")),
        (0x8B, h("2F06 01")),
        (0x80, h("00A0")),
        (0x88, h("F0")),               # SFI 30
    ], OPTIONAL_EF)


def test_fcp_ef_without_sfi(term):
    check_fcp(fcp_of(term, 0x7F10, 0x6F3A), [
        (0x82, h("42 21 001E 0A")),
        (0x83, h("6F3A")),
        (0x8A, h("05")),
        (0x8B, h("2F06 02")),
        (0x80, h("012C")),
        (0x88, b""),                   # present and empty: SFI not supported (§11.1.1.4.8)
    ], OPTIONAL_EF)
    # consistent with "not supported": the SFI derived from the FID does not address it
    assert term.raw("00 B2 01 D4 1E").sw_hex == "6A82"


def test_fcp_cyclic_ef(term):
    check_fcp(fcp_of(term, 0x7F10, 0x6F44), [
        (0x82, h("46 21 001E 05")),    # cyclic, 30-byte records, 5 records
        (0x83, h("6F44")),
        (0x8A, h("05")),
        (0x8B, h("2F06 02")),
        (0x80, h("0096")),
        (0x88, b""),
    ], OPTIONAL_EF)


def test_fcp_mf(term):
    fcp = check_fcp(fcp_of(term, 0x3F00), [
        (0x82, h("78 21")),            # shareable DF
        (0x83, h("3F00")),
        (0x8A, h("05")),
        (0x8B, h("2F06 01")),
        (0xC6, None),
    ], OPTIONAL_DF)
    assert pin_status(fcp[0xC6]) == [(PIN1, False), (ADM1, True)]


def test_fcp_df_telecom(term):
    fcp = check_fcp(fcp_of(term, 0x7F10), [
        (0x82, h("78 21")),
        (0x83, h("7F10")),
        (0x8A, h("05")),
        (0x8B, h("2F06 01")),
        (0xC6, None),
    ], OPTIONAL_DF)
    assert pin_status(fcp[0xC6]) == [(PIN1, False), (PIN2, True), (ADM1, True)]


def test_fcp_adf_usim(term):
    fcp = single(term.select_aid(USIM_AID), 0x62)
    tags = [t for t, _ in parse_tlv(fcp)]
    assert tags[0] == 0x82
    d = as_dict(fcp)
    assert d[0x82] == h("78 21") and d[0x84] == USIM_AID and d[0x8A] == h("05")
    assert d[0x8B] == h("6F06 01")
    assert pin_status(d[0xC6]) == [(PIN1, False), (PIN2, True), (ADM1, True)]


def test_fcp_pin_status_follows_enable(term):
    assert term.sw(h("00 28 00 01 08") + pin("0000")) == 0x9000  # ENABLE PIN1
    assert pin_status(as_dict(single(fcp_of(term, 0x3F00), 0x62))[0xC6]) == \
        [(PIN1, True), (ADM1, True)]


def test_select_p2_fci(term):
    fci = as_dict(single(term.ok("00 A4 00 00 02 2FE2 00"), 0x6F))
    assert fci[0x83] == h("2FE2") and fci[0x82] == h("41 21")


def test_select_p2_no_data(term):
    r = term.raw("00 A4 00 0C 02 2FE2")
    assert (r.data, r.sw) == (b"", 0x9000)


# -- selection rules (TS 102 221 §8.4.1) --------------------------------------------------------
def _current_df(term) -> bytes:
    return as_dict(single(term.ok("80 F2 00 00 00"), 0x62))[0x83]


def test_select_by_fid_rules(term):
    term.ok("00 A4 00 0C 02 2F00")                    # child EF of the MF
    assert term.sw("00 A4 00 0C 02 6F3A") == 0x6A82   # not a child of the current DF
    term.ok("00 A4 00 0C 02 7F10")                    # child DF
    term.ok("00 A4 00 0C 02 6F3A")                    # child EF of DF.TELECOM
    term.ok("00 A4 00 0C 02 7F10")                    # the current DF itself
    assert term.sw("00 A4 00 0C 02 2F00") == 0x6A82   # an EF of the parent is not reachable
    term.ok("00 A4 00 0C 02 3F00")                    # the MF from anywhere
    assert _current_df(term) == h("3F00")


def test_select_mf_with_empty_data(term):
    term.ok("00 A4 00 0C 02 7F10")
    assert term.raw("00 A4 00 0C").sw == 0x9000       # P1 '00' without data: the MF (ISO §11.2.2)
    assert _current_df(term) == h("3F00")


def test_select_child_df(term):
    term.ok("00 A4 01 0C 02 7F10")
    assert _current_df(term) == h("7F10")
    term.ok("00 A4 00 0C 02 3F00")
    assert term.sw("00 A4 01 0C 02 2F00") == 0x6A82   # an EF is not a DF


def test_select_parent(term):
    term.ok("00 A4 00 0C 02 7F10")
    term.ok("00 A4 03 0C")
    assert _current_df(term) == h("3F00")
    term.select_aid(USIM_AID, p2=0x0C)
    term.ok("00 A4 03 0C")                            # parent of an ADF is the MF
    assert _current_df(term) == h("3F00")


def test_select_parent_of_mf_fails(term):
    assert term.sw("00 A4 03 0C") != 0x9000


def test_select_path_from_mf(term):
    term.ok("00 A4 08 0C 04 7F10 6F3A")
    assert _current_df(term) == h("7F10")
    assert term.raw("00 B2 01 04 1E").sw == 0x9000    # 6F3A is the current EF
    assert term.sw("00 A4 08 0C 04 7F10 2F00") == 0x6A82


def test_select_path_from_current_df(term):
    term.ok("00 A4 00 0C 02 7F10")
    term.ok("00 A4 09 0C 02 6F44")
    assert term.raw("00 B2 01 04 1E").sw == 0x9000
    term.ok("00 A4 00 0C 02 3F00")
    assert term.sw("00 A4 09 0C 02 6F44") == 0x6A82


def test_select_path_through_current_adf(term):
    term.select_aid(USIM_AID, p2=0x0C)
    term.ok("00 A4 00 0C 02 3F00")
    term.ok("00 A4 08 0C 04 7FFF 6F07")               # '7FFF' = the current application
    assert len(term.ok("00 B0 00 00 09")) == 9


def test_select_7fff_without_application(term):
    assert term.sw("00 A4 00 0C 02 7FFF") == 0x6A82


# -- SELECT by DF name (AID) ------------------------------------------------------------------------
def _fci_aid(data: bytes) -> bytes:
    tag, value = parse_tlv(data)[0]
    assert tag in (0x62, 0x6F)
    return as_dict(value)[0x84]


def test_select_aid_full_and_truncated(term):
    assert _fci_aid(term.select_aid(USIM_AID)) == USIM_AID
    term.ok("00 A4 00 0C 02 3F00")
    assert _fci_aid(term.select_aid(USIM_AID[:7])) == USIM_AID   # right-truncated (RID+PIX part)
    assert _fci_aid(term.select_aid(ISD_R_AID)) == ISD_R_AID
    assert _fci_aid(term.select_aid(ECASD_AID)) == ECASD_AID


def test_select_aid_occurrences(term):
    prefix = ISD_R_AID[:12]
    sel = lambda p2: term.send(bytes((0x00, 0xA4, 0x04, p2, len(prefix))) + prefix + b"\x00")
    first = sel(0x04)
    assert first.sw == 0x9000
    seen = [_fci_aid(first.data)]
    while True:
        r = sel(0x06)                                   # next occurrence
        if r.sw != 0x9000:
            assert r.sw == 0x6A82
            break
        seen.append(_fci_aid(r.data))
        assert len(seen) < 20
    assert len(set(seen)) == len(seen) and {ISD_R_AID, ECASD_AID} <= set(seen)
    assert all(a.startswith(prefix) for a in seen)
    assert _fci_aid(sel(0x05).data) == seen[-1]        # last occurrence
    back = [seen[-1]]
    while True:
        r = sel(0x07)                                   # previous occurrence
        if r.sw != 0x9000:
            assert r.sw == 0x6A82
            break
        back.append(_fci_aid(r.data))
        assert len(back) < 20
    assert back == seen[::-1]


def test_select_aid_no_data(term):
    r = term.raw(b"\x00\xA4\x04\x0C\x10" + USIM_AID)
    assert (r.data, r.sw) == (b"", 0x9000)


def test_select_aid_unknown(term):
    assert term.sw("00 A4 04 04 05 A000000999 00") == 0x6A82


def test_termination_of_application_session(term):
    term.select_aid(USIM_AID, p2=0x0C)
    r = term.raw(b"\x00\xA4\x04\x4C\x10" + USIM_AID)  # P2 b7: termination, no data
    assert (r.data, r.sw) == (b"", 0x9000)
    assert _current_df(term) == h("3F00")
    assert term.sw("00 A4 00 0C 02 7FFF") == 0x6A82   # no current application any more


# -- SELECT errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("apdu,expected", [
    ("00 A4 00 0C 02 1234", ("6A82",)),
    ("00 A4 00 0C 03 3F0000", ("6700",)),            # a FID is two bytes
    ("00 A4 08 0C 03 7F106F", ("6700",)),            # a path is a sequence of FIDs
    ("00 A4 02 0C 02 2F00", ("6A86", "6B00")),       # P1 '02' is not used by TS 102 221
    ("00 A4 00 08 02 2F00", ("6A86", "6B00")),       # P2 '08' (FMD) is not supported
])
def test_select_errors(term, apdu, expected):
    assert term.raw(apdu).sw_hex in expected


def test_failed_select_keeps_previous_selection(term):
    term.ok("00 A4 00 0C 02 7F10")
    assert term.sw("00 A4 00 0C 02 1234") == 0x6A82
    assert _current_df(term) == h("7F10")
