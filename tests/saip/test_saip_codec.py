"""SAIP UPP codec against the published TS.48 packages and on malformed input."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from euicc.profiles.saip_codec import (ProfileElement, SaipDecodeError, SaipEncodeError, SaipLimits,
                                       decode_element, decode_upp, encode_element, encode_upp)
from tests.reference import require
from tests.vectors import TS48_PACKAGES, ts48_package
from tools.profile_builder.dump import dump_upp

# Reference data README §2: file, bytes, header version, PEs, ICCID, IMSI.
TABLE = {
    "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der": (12385, (2, 3), 30, "89000123456789012341", "001010123456789"),
    "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI_NoRAMRFM.der": (12037, (2, 3), 26, "89000123456789012341", "001010123456789"),
    "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_NoBERTLV.der": (12261, (2, 3), 30, "89000123456789012341", "001010123456789"),
    "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_NoBERTLV_NoRAMRFM.der": (11913, (2, 3), 26, "89000123456789012341", "001010123456789"),
    "pysim-unique/TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der": (12284, (2, 3), 30, "8949449999999990163", "001010123456063"),
    "pysim-unique/TS48V5-SAIP2-3-NOBERTLV-UNIQUE.der": (12163, (2, 3), 30, "8949449999999990171", "001010123456063"),
    "pysim-unique/TS48V5-SAIP2-1A-NOBERTLV-UNIQUE.der": (12060, (2, 1), 28, "8949449999999990148", "001010123456063"),
    "pysim-unique/TS48V5-SAIP2-1B-NOBERTLV-UNIQUE.der": (12140, (2, 1), 29, "8949449999999990155", "001010123456063"),
    "pysim-unique/TS48V4-SAIP2-3-BERTLV-UNIQUE.der": (12180, (2, 3), 30, "8949449999999990122", "001010123456063"),
    "pysim-unique/TS48V4-SAIP2-3-NOBERTLV-UNIQUE.der": (12119, (2, 3), 30, "8949449999999990130", "001010123456063"),
    "pysim-unique/TS48V4-SAIP2-1A-NOBERTLV-UNIQUE.der": (12079, (2, 1), 28, "8949449999999990106", "001010123456063"),
    "pysim-unique/TS48V4-SAIP2-1B-NOBERTLV-UNIQUE.der": (12096, (2, 1), 29, "8949449999999990114", "001010123456063"),
    "pysim-unique/TS48V2-SAIP2-1-NOBERTLV-UNIQUE.der": (12207, (2, 1), 28, "8949449999999990007", "001010123456063"),
    "pysim-unique/TS48V2-SAIP2-3-BERTLV-UNIQUE.der": (12309, (2, 3), 30, "8949449999999990056", "001010123456063"),
    "ts48-v5-original/TS48v5_SAIP2.3_BERTLV_SUCI.der": (12284, (2, 3), 30, "89000123456789012341", "001010123456063"),
}
V7 = "ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der"


def load(rel: str) -> bytes:
    return ts48_package(rel).read_bytes()


def first_content(file_value):
    return next(item for kind, item in file_value if kind == "fillFileContent")


def bcd_swapped_digits(data: bytes) -> str:
    """Independent reading of swapped BCD: low nibble first."""
    return "".join(f"{b & 0xF:X}{b >> 4:X}" for b in data).rstrip("F")


def test_every_reference_package_is_in_the_table():
    profiles = require("profiles")
    found = {str(p.relative_to(profiles)) for p in profiles.glob("*/*.der")}
    assert found == set(TABLE) == set(TS48_PACKAGES)


@pytest.mark.parametrize("rel", TS48_PACKAGES, ids=lambda rel: rel.rsplit("/", 1)[-1])
def test_reference_package_round_trips_byte_identically(rel):
    data = load(rel)
    elements = decode_upp(data)
    assert all(isinstance(e, ProfileElement) for e in elements)
    assert encode_upp(elements) == data


@pytest.mark.parametrize("rel", sorted(TABLE))
def test_reference_package_values_match_readme_table(rel):
    size, version, count, iccid, imsi = TABLE[rel]
    data = load(rel)
    elements = decode_upp(data)
    assert len(data) == size and len(elements) == count
    header = elements[0].value
    assert elements[0].name == "header" and elements[-1].name == "end"
    assert (header["major-version"], header["minor-version"]) == version
    assert header["profileType"] == "GSMA Generic eUICC Test Profile"
    assert header["iccid"].hex().upper().rstrip("F") == iccid           # plain BCD
    mf = next(v for n, v in elements if n == "mf")
    assert bcd_swapped_digits(first_content(mf["ef-iccid"])) == iccid  # nibble-swapped
    usim = next(v for n, v in elements if n == "usim")
    ef_imsi = first_content(usim["ef-imsi"])
    assert ef_imsi[0] == 8 and bcd_swapped_digits(ef_imsi[1:])[1:] == imsi


def test_ts48_v7_published_facts():
    elements = decode_upp(load(V7))
    by_name = {}
    for name, value in elements:
        by_name.setdefault(name, []).append(value)
    services = by_name["header"][0]["eUICC-Mandatory-services"]
    assert {"usim", "isim", "csim", "usim-test-algorithm", "profile-a-x25519", "profile-b-p256"} <= set(services)
    algo = by_name["akaParameter"][0]["algoConfiguration"]
    assert algo[0] == "algoParameter" and algo[1]["algorithmID"] == 3
    assert algo[1]["key"] == bytes(range(16))
    pins = {p["keyReference"]: p["pinValue"] for pe in by_name["pinCodes"] for p in pe["pinCodes"][1]}
    assert pins[0x01] == b"0000\xff\xff\xff\xff" and pins[0x81] == b"9999\xff\xff\xff\xff"
    assert pins[0x0A] == b"55555555" and pins[0x0B] == b"66666666"
    puks = {p["keyReference"]: p["pukValue"] for p in by_name["pukCodes"][0]["pukCodes"]}
    assert puks == {0x01: b"11111111", 0x81: b"22222222"}
    sd = by_name["securityDomain"][0]
    assert sd["instance"]["instanceAID"] == bytes.fromhex("A000000151000000")
    kvns = {(k["keyVersionNumber"], k["keyComponents"][0]["keyType"]) for k in sd["keyList"]}
    assert kvns == {(b"\x01", b"\x80"), (b"\x02", b"\x88")}
    assert sorted(t for r in by_name["rfm"] for t in r["tarList"]) == [
        bytes.fromhex(t) for t in ("B00120", "B00140", "B00141", "B00142")]


def test_dump_summary_of_ts48_v7():
    dumped = dump_upp(load(V7))
    assert dumped["summary"] == {"elements": 30, "imsi": ["001010123456789"], "version": "2.3",
                                 "profileType": "GSMA Generic eUICC Test Profile",
                                 "iccid_header": "89000123456789012341",
                                 "iccid": "89000123456789012341"}
    aka = next(e for e in dumped["elements"] if e["element"] == "akaParameter")["value"]
    assert aka["algoConfiguration"]["algoParameter"]["key"] == "000102030405060708090A0B0C0D0E0F"
    assert aka["aka-header"]["mandated"] is None


# ---- malformed input -------------------------------------------------------------------

def small_package() -> tuple[bytes, list[int]]:
    """A real package and the start offset of each element."""
    data = load(V7)
    offsets, offset = [], 0
    for index in range(len(decode_upp(data))):
        offsets.append(offset)
        _, offset = decode_element(data, offset, index)
    return data, offsets


def test_truncated_package_reports_the_cut_element():
    data, offsets = small_package()
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(data[:offsets[5] + 10])
    assert err.value.index == 5 and err.value.offset == offsets[5]
    assert "truncated" in err.value.reason


def test_trailing_bytes_after_end_element():
    data, offsets = small_package()
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(data + bytes.fromhex("AA03A00181"))
    assert err.value.index == len(offsets) and err.value.offset == len(data)
    assert "after the end element" in err.value.reason


def test_trailing_garbage_in_the_middle():
    data, offsets = small_package()
    body = data[:offsets[3]] + b"\xff\xff" + data[offsets[3]:]
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(body)
    assert err.value.index == 3


def test_wrong_tag_is_an_unknown_element():
    data, offsets = small_package()
    broken = bytearray(data)
    broken[offsets[2]] = 0x30  # universal SEQUENCE instead of a ProfileElement context tag
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(bytes(broken))
    assert err.value.index == 2 and "unknown element" in err.value.reason


def test_inner_tag_changed_is_bad_der():
    # end PE: AA 05 A0 03 81 01 1F -> identification tagged [2] instead of [1]
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(bytes.fromhex("AA05A00382011F"))
    assert err.value.index == 0 and "bad DER" in err.value.reason


def test_non_canonical_length_is_rejected_unless_relaxed():
    ber = bytes.fromhex("AA8105A00381011F")  # end PE with a long-form length for 5
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(ber)
    assert "not canonical" in err.value.reason
    relaxed = decode_upp(ber, SaipLimits(require_canonical_der=False))
    assert relaxed == [("end", {"end-header": {"identification": 31}})]


def test_constraint_violation_is_rejected():
    # header with a 9-byte iccid (SIZE (10) required)
    header = ("header", {"major-version": 2, "minor-version": 3, "iccid": bytes(10),
                         "eUICC-Mandatory-services": {}, "eUICC-Mandatory-GFSTEList": []})
    good = encode_element(*header)
    bad = bytes([good[0], good[1] - 1]) + good[2:8] + b"\x04\x09" + bytes(9) + good[20:]
    assert decode_upp(good)[0].value["iccid"] == bytes(10)
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(bad)
    assert err.value.index == 0


def test_limits():
    data, _ = small_package()
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(data, SaipLimits(max_package_size=len(data) - 1))
    assert err.value.index is None
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(data, SaipLimits(max_elements=4))
    assert err.value.index == 4
    with pytest.raises(SaipDecodeError):
        decode_upp("not bytes")  # type: ignore[arg-type]
    assert decode_upp(b"") == []


def test_encode_errors_carry_the_index():
    with pytest.raises(SaipEncodeError) as err:
        encode_upp([("end", {"end-header": {"identification": 1}}), ("end", {"bogus": 1})])
    assert err.value.index == 1
    with pytest.raises(SaipEncodeError):
        encode_upp([("no-such-element", {})])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_only_raise_the_documented_error(blob):
    try:
        decode_upp(blob)
    except SaipDecodeError as exc:
        assert exc.index is not None and exc.index >= 0 and exc.reason


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_package_only_raises_the_documented_error(data):
    package = bytearray(load("ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_NoBERTLV_NoRAMRFM.der")[:1500])
    position = data.draw(st.integers(0, len(package) - 1))
    package[position] = data.draw(st.integers(0, 255))
    try:
        decode_upp(bytes(package))
    except SaipDecodeError as exc:
        assert exc.index is not None


def test_sequence_of_choice_mismatch_terminates():
    # mf PE whose `mf` File (SEQUENCE OF CHOICE) holds a universal SEQUENCE: asn1tools alone
    # would loop forever here; the loader's SEQUENCE OF guard turns it into a decode error.
    pe = bytes.fromhex("B011" "A003810101" "8106" "67810F010201" "A202" "3000")
    with pytest.raises(SaipDecodeError) as err:
        decode_upp(pe)
    assert err.value.index == 0 and "bad DER" in err.value.reason
