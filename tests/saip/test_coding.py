"""Known-answer tests of the builder's EF codings (values from TS.48 v7 and the specs)."""
from __future__ import annotations

import pytest

from tools.profile_builder import coding


def test_luhn_known_answers():
    assert coding.luhn_check_digit("7992739871") == "3"              # ISO/IEC 7812-1 example
    assert coding.luhn_check_digit("8900012345678901234") == "1"     # TS.48 ICCID ...2341
    assert coding.luhn_valid("89000123456789012341")
    assert not coding.luhn_valid("89000123456789012342")
    with pytest.raises(ValueError):
        coding.luhn_check_digit("89a")


def test_iccid_codings_ts48():
    assert coding.iccid_header_bcd("89000123456789012341") == bytes.fromhex("89000123456789012341")
    assert coding.iccid_ef("89000123456789012341") == bytes.fromhex("98001032547698103214")
    assert coding.iccid_ef("8949449999999990163") == bytes.fromhex("989444999999990961F3")
    assert coding.decode_iccid_ef(bytes.fromhex("98001032547698103214")) == "89000123456789012341"
    with pytest.raises(ValueError):
        coding.iccid_ef("1234")


def test_imsi_codings():
    assert coding.imsi_ef("001010123456789") == bytes.fromhex("080910101032547698")   # TS.48
    assert coding.imsi_ef("00101012345678") == bytes.fromhex("0801101010325476F8")  # even count
    assert coding.imsi_ef("001010000000001") == bytes.fromhex("080910100000000010")
    assert coding.decode_imsi_ef(bytes.fromhex("080910101032547698")) == "001010123456789"
    for bad in ("12345", "0010101234567890", "00101x"):
        with pytest.raises(ValueError):
            coding.imsi_ef(bad)
    for bad in (b"", b"\xff" * 9, b"\x09\x09"):
        with pytest.raises(ValueError):
            coding.decode_imsi_ef(bad)


def test_plmn_codings():
    assert coding.plmn("001", "01") == bytes.fromhex("00F110")
    assert coding.plmn("310", "410") == bytes.fromhex("130014")
    assert coding.plmn("246", "81") == bytes.fromhex("42F618")  # LAI of TS.48 EF.LOCI


def test_spn_codings():
    # TS.48 v7 EF.SPN fill pattern: display condition 01, "GSMA_TEST" in the GSM alphabet.
    assert coding.spn_ef("GSMA_TEST") == bytes.fromhex("0147534D411154455354") + b"\xff" * 7
    assert coding.spn_ef("euicc-emu", 0x00) == b"\x00euicc-emu" + b"\xff" * 7
    assert coding.alpha_field("@$") == b"\x00\x02"
    assert coding.alpha_field("\u20ac") == bytes.fromhex("8020AC")  # UCS2 form
    with pytest.raises(ValueError):
        coding.spn_ef("x" * 17)


def test_pin_and_service_table():
    assert coding.pin_value("0000") == b"0000\xff\xff\xff\xff"
    assert coding.pin_value("55555555") == b"55555555"
    assert coding.pin_value("3132333435363738") == b"12345678"
    with pytest.raises(ValueError):
        coding.pin_value("12")
    assert coding.service_table({1, 8, 9, 33}, 5) == bytes.fromhex("8101000001")
    with pytest.raises(ValueError):
        coding.service_table({41}, 5)
    assert coding.tlv80("ab") == b"\x80\x02ab"
