"""APDU layer: ISO/IEC 7816-4 §5.1 (cases 1-4, short and extended), ISO/IEC 7816-3 §10.3
(invalid INS), ETSI TS 102 221 §10.1.1 (CLA coding) and §10.2 (status words).

Expected bytes are worked out from the spec text; the fuzz test checks that any byte string gets a
valid status word and leaves the state file untouched unless the command succeeded.
"""
from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from euicc.composition import open_card
from tests.core.helpers import h, split

SELECT_MF_NO_DATA = "00 A4 00 0C 02 3F00"


# -- cases 1-4, short ---------------------------------------------------------------------------
def test_case1_manage_channel_open_and_close(term):
    # MANAGE CHANNEL with P2 = channel number: case 1, no data either way (TS 102 221 §11.1.17)
    assert term.raw("00 70 00 01").data == b""
    assert term.raw("00 70 00 01").sw != 0x9000          # already open
    assert term.raw("00 70 80 01").sw == 0x9000
    assert term.raw("01 A4 00 0C 02 3F00").sw == 0x6881  # closed again


def test_case2_short_read_binary(term):
    term.ok("00 A4 00 0C 02 2FE2")
    r = term.raw("00 B0 00 00 0A")
    assert r.sw == 0x9000 and len(r.data) == 10
    assert term.raw("00 B0 00 00 04").data == r.data[:4]


def test_case3_short_select(term):
    r = term.raw(SELECT_MF_NO_DATA)
    assert (r.data, r.sw) == (b"", 0x9000)


def test_case4_short_select_t0_gives_61xx(term):
    r = term.raw("00 A4 00 04 02 3F00 00")
    assert r.data == b"" and r.sw >> 8 == 0x61
    fcp = term.raw(bytes((0x00, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    assert fcp.sw == 0x9000 and fcp.data[0] == 0x62 and len(fcp.data) == r.sw & 0xFF


def test_case4_short_select_direct(dterm):
    r = dterm.raw("00 A4 00 04 02 3F00 00")
    assert r.sw == 0x9000 and r.data[0] == 0x62


# -- extended length (ATR card capabilities announce extended Lc/Le) ----------------------------
def test_case2_extended(dterm):
    dterm.ok("00 A4 00 0C 02 2FE2")
    r = dterm.raw("00 B0 00 00 00 00 0A")
    assert r.sw == 0x9000 and len(r.data) == 10


def test_case2_extended_le_0000_means_65536(dterm):
    dterm.ok("00 A4 00 0C 02 2FE2")
    r = dterm.raw("00 B0 00 00 00 00 00")
    assert r.sw == 0x9000 and len(r.data) == 10


def test_case3_extended(dterm):
    assert dterm.raw("00 A4 00 0C 00 0002 3F00").sw == 0x9000


def test_case4_extended(dterm):
    r = dterm.raw("00 A4 00 04 00 0002 3F00 0000")
    assert r.sw == 0x9000 and r.data[0] == 0x62


# -- malformed lengths -> '6700' (ISO 7816-4 §5.1, TS 102 221 §10.2.1.5) -------------------------
@pytest.mark.parametrize("apdu", [
    "",                               # nothing
    "00",                             # CLA only
    "00 A4 00",                       # 3-byte header
    "00 A4 00 0C 02 3F",              # Lc = 2, one data byte
    "00 A4 00 0C 02 3F00 00 00",      # Lc = 2, two bytes too many
    "00 A4 00 0C 05 3F00",            # Lc larger than the data
    "00 B0 00 00 00 01",              # extended marker, then a truncated Le/Lc
    "00 A4 00 0C 00 0002 3F",         # extended Lc = 2, one data byte
    "00 A4 00 0C 00 0000 3F00",       # extended Lc = 0 is not allowed
    "00 A4 00 0C 00 0002 3F00 00",    # extended Lc, then a one-byte Le
    "00 A4 00 0C 00 0002 3F00 000000",  # extended Lc, then a three-byte Le
])
def test_malformed_lengths_give_6700(term, apdu):
    assert term.raw(apdu).sw_hex == "6700"


# -- CLA and INS ----------------------------------------------------------------------------------
@pytest.mark.parametrize("cla_byte", [0xFF, 0xA0, 0x20, 0x21, 0x2F, 0x3C])
def test_invalid_cla_gives_6e00(term, cla_byte):
    # TS 102 221 Table 10.3: '2X'/'3X' RFU, 'A0' is the GSM class (TS 51.011), 'FF' invalid
    assert term.raw(bytes((cla_byte,)) + h("A4 00 0C 02 3F00")).sw_hex == "6E00"


@pytest.mark.parametrize("ins", list(range(0x60, 0x70)) + list(range(0x90, 0xA0)))
def test_invalid_ins_gives_6d00(term, ins):
    # ISO 7816-3 §10.3.2: INS '6X' and '9X' are invalid
    assert term.raw(bytes((0x00, ins, 0x00, 0x00))).sw_hex == "6D00"


@pytest.mark.parametrize("ins", [0x02, 0x0E, 0x50, 0xFE])
def test_unknown_ins_gives_6d00(term, ins):
    assert term.raw(bytes((0x00, ins, 0x00, 0x00))).sw_hex == "6D00"


@pytest.mark.parametrize("cla_byte", [0x01, 0x02, 0x03, 0x81, 0x40, 0x4F, 0xC5, 0xCF])
def test_channel_not_open_gives_6881(term, cla_byte):
    # TS 102 221 §10.2.1.5 '6881': logical channel not supported (not open)
    assert term.raw(bytes((cla_byte,)) + h("A4 00 0C 02 3F00")).sw_hex == "6881"
    assert term.raw(bytes((cla_byte | 0x80,)) + h("F2 00 00 00")).sw_hex == "6881"


@pytest.mark.parametrize("apdu", [
    "0C A4 00 0C 02 3F00",    # SELECT, SM indication b4-b3 = '11'
    "04 A4 00 0C 02 3F00",    # SELECT, proprietary SM '01'
    "0C 70 00 00 01",         # MANAGE CHANNEL
    "8C F2 00 00 00",         # STATUS
    "04 B0 00 00 01",         # READ BINARY
])
def test_secure_messaging_not_supported_gives_6882(term, apdu):
    # ISO 7816-4 §5.4.1 CLA b4-b3 (TS 102 221 Table 10.3): the core OS has no secure messaging,
    # so an SM-marked command must not be run as a plain one ('6882', ISO 7816-4 Table 6)
    r = term.raw(apdu)
    assert (r.data, r.sw_hex) == (b"", "6882")


@pytest.mark.parametrize("apdu", [
    "10 A4 00 0C 02 3F00",    # SELECT, chaining bit b5
    "10 70 00 00 01",         # MANAGE CHANNEL
    "90 F2 00 00 00",         # STATUS
    "10 B0 00 00 01",         # READ BINARY
])
def test_command_chaining_not_supported_gives_6884(term, apdu):
    # ISO 7816-4 §5.1.1.1 / §5.4.1 CLA b5: a card without chaining for this command answers '6884'
    r = term.raw(apdu)
    assert (r.data, r.sw_hex) == (b"", "6884")
    assert term.raw("00 70 00 00 01").data == b"\x01"   # and opened no channel on the way


def test_select_with_proprietary_cla_is_refused(term):
    # TS 102 221 Table 10.5: SELECT is coded with CLA '0X'/'4X'/'6X' only
    assert term.raw("80 A4 00 0C 02 3F00").sw_hex == "6E00"


def test_status_with_interindustry_cla_is_refused(term):
    # TS 102 221 Table 10.5: STATUS is coded with CLA '8X'/'CX'/'EX' only
    assert term.raw("00 F2 00 00 00").sw_hex == "6E00"


# -- fuzz: any bytes give a valid SW, and only successful commands change the state -------------
_CLAS = [0x00, 0x01, 0x03, 0x0C, 0x10, 0x40, 0x4F, 0x60, 0x80, 0x81, 0xC0, 0xA0, 0xFF, 0xE0]
_INS = [0xA4, 0xB0, 0xB2, 0xD6, 0xDC, 0xA2, 0x32, 0x04, 0x44, 0x20, 0x24, 0x26, 0x28, 0x2C,
        0x70, 0xC0, 0xF2, 0xCA, 0xAA, 0x10, 0xE2, 0x88, 0x12, 0xC2, 0x14]


@st.composite
def apdus(draw) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=40))
    header = bytes((draw(st.sampled_from(_CLAS) | st.integers(0, 255)),
                    draw(st.sampled_from(_INS)), draw(st.integers(0, 255)),
                    draw(st.integers(0, 255))))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return header + draw(st.binary(max_size=12))
    if kind == 4:  # extended-length marker followed by short or odd tails
        return header + b"\x00" + draw(st.binary(max_size=4))
    body = draw(st.binary(min_size=1, max_size=20))
    if kind == 1:
        return header + bytes((len(body),)) + body
    if kind == 2:
        return header + bytes((len(body),)) + body + bytes((draw(st.integers(0, 255)),))
    return header + b"\x00" + len(body).to_bytes(2, "big") + body


def _valid_sw(sw1: int) -> bool:
    """ISO 7816-3 §10.3.1: SW1 is '6X' (not '60') or '9X'."""
    return 0x61 <= sw1 <= 0x6F or 0x90 <= sw1 <= 0x9F


def _may_change_state(sw: int) -> bool:
    """Success, or a verification failure that decremented a retry counter (TS 102 221 §11.1.9)."""
    return sw == 0x9000 or sw >> 8 in (0x61, 0x91) or sw & 0xFFF0 == 0x63C0


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commands=st.lists(apdus(), min_size=1, max_size=3))
def test_fuzz_any_bytes_valid_sw_and_state_untouched_on_error(tmp_path_factory, caplog, commands):
    path = tmp_path_factory.getbasetemp() / "fuzz.state"
    card = open_card(path)
    try:
        for apdu in commands:
            before = path.read_bytes()
            with caplog.at_level(logging.ERROR):
                caplog.clear()
                raw = card.transmit(apdu)
            assert len(raw) >= 2, apdu.hex()
            sw = int.from_bytes(raw[-2:], "big")
            assert _valid_sw(sw >> 8), f"{apdu.hex()} -> {raw.hex()}"
            assert sw != 0x6F00 and not caplog.records, \
                f"internal error on {apdu.hex().upper()}: {caplog.text}"
            if not _may_change_state(sw):
                assert path.read_bytes() == before, f"{apdu.hex()} -> {sw:04X} changed the state"
    finally:
        card.close()
    reopened = open_card(path)  # the state stays a readable card
    try:
        assert split(reopened.transmit(h(SELECT_MF_NO_DATA))).sw == 0x9000
    finally:
        reopened.close()
