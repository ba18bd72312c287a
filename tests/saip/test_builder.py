"""Profile builder: built -> decoded -> same values; element order per TCA SAIP v3.3.1."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from euicc.profiles.saip_codec import decode_upp
from tools.profile_builder import (DEFAULT_TEST_PARAMETERS, IsimParameters, KeySet,
                                   ProfileParameters, build_upp, default_test_profile)
from tools.profile_builder.cli import main
from tests.vectors import vectors

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
KEY16 = bytes(range(16))
TEMPLATE_OF = {"mf": "2.23.143.1.2.1", "telecom": "2.23.143.1.2.3", "usim": "2.23.143.1.2.4",
               "opt-usim": "2.23.143.1.2.5", "isim": "2.23.143.1.2.8", "opt-isim": "2.23.143.1.2.9"}


def params(**changes) -> ProfileParameters:
    base = ProfileParameters(iccid="8949449999999990015", imsi="310410123456789", mnc_length=3,
                             k=K, opc=OPC, pin1="1234", pin2="5678", puk1="87654321",
                             puk2="12121212", adm1="3838383838383838", adm2="77777777",
                             spn="Test Net", key_sets=(KeySet(0x30, KEY16, KEY16[::-1], bytes(16)),
                                                       KeySet(0x01, b"\x11" * 16, b"\x22" * 16,
                                                              b"\x33" * 16, "des")))
    return replace(base, **changes)


def content(file_value) -> bytes:
    """Apply fill commands the way SAIP §8.3.3 describes (independent of the builder)."""
    image, pos = bytearray(), 0
    for kind, item in file_value:
        if kind == "fillFileOffset":
            pos += item
        elif kind == "fillFileContent":
            image.extend(b"\xff" * (pos + len(item) - len(image)))
            image[pos:pos + len(item)] = item
            pos += len(item)
    return bytes(image)


def pes(upp: bytes) -> list[tuple[str, dict]]:
    return [(n, v) for n, v in decode_upp(upp)]


def first(elements, name):
    return next(v for n, v in elements if n == name)


def all_of(elements, name):
    return [v for n, v in elements if n == name]


def test_round_trip_values():
    elements = pes(build_upp(params()))
    header = first(elements, "header")
    assert header["iccid"] == bytes.fromhex("8949449999999990015F")
    mf = first(elements, "mf")
    assert content(mf["ef-iccid"]) == bytes.fromhex("989444999999990910F5")
    usim = first(elements, "usim")
    assert content(usim["ef-imsi"]) == bytes.fromhex("083901141032547698")  # TS 31.102 §4.2.2
    assert content(usim["ef-spn"]) == b"\x01Test Net" + b"\xff" * 8         # TS 31.102 §4.2.12
    assert content(usim["ef-ad"]) == bytes.fromhex("00000003")                # MNC length 3
    assert content(usim["ef-acc"]) == bytes.fromhex("0200")                   # class 9
    assert content(first(elements, "opt-usim")["ef-ehplmn"])[:3] == bytes.fromhex("130014")
    aka = first(elements, "akaParameter")["algoConfiguration"]
    assert aka[0] == "algoParameter"
    assert (aka[1]["algorithmID"], aka[1]["key"], aka[1]["opc"]) == (1, K, OPC)
    assert aka[1]["rotationConstants"] == bytes.fromhex("4000204060")
    pins = {p["keyReference"]: p["pinValue"] for pe in all_of(elements, "pinCodes")
            for p in pe["pinCodes"][1]}
    assert pins == {0x01: b"1234\xff\xff\xff\xff", 0x81: b"5678\xff\xff\xff\xff",
                    0x0A: b"88888888", 0x0B: b"77777777"}
    puks = {p["keyReference"]: p["pukValue"] for p in first(elements, "pukCodes")["pukCodes"]}
    assert puks == {0x01: b"87654321", 0x81: b"12121212"}
    keys = {(k["keyVersionNumber"], k["keyIdentifier"]): (k["keyComponents"][0]["keyType"],
                                                         k["keyComponents"][0]["keyData"])
            for k in first(elements, "securityDomain")["keyList"]}
    assert keys == {(b"\x30", b"\x01"): (b"\x88", KEY16), (b"\x30", b"\x02"): (b"\x88", KEY16[::-1]),
                    (b"\x30", b"\x03"): (b"\x88", bytes(16)), (b"\x01", b"\x01"): (b"\x80", b"\x11" * 16),
                    (b"\x01", b"\x02"): (b"\x80", b"\x22" * 16), (b"\x01", b"\x03"): (b"\x80", b"\x33" * 16)}
    ef_dir = content(mf["ef-dir"])
    assert ef_dir == bytes.fromhex("61144F0CA0000000871002FF49FF058950045553494D")


def check_order_rules(elements) -> None:
    """TCA SAIP v3.3.1 sequence rules, checked independently of the builder."""
    names = [n for n, _ in elements]
    assert names[0] == "header" and names[1] == "mf" and names[-1] == "end"
    for single in ("header", "mf", "end", "telecom", "usim", "opt-usim", "isim", "opt-isim"):
        assert names.count(single) <= 1
    for later, earlier in (("opt-usim", "usim"), ("opt-isim", "isim")):
        if later in names:
            assert names.index(earlier) < names.index(later)
    assert names.index("pukCodes") < names.index("pinCodes")   # PUKs before the PINs using them
    for index, name in enumerate(names):                       # PINs follow their DF's PE
        if name == "pinCodes":
            assert names[index - 1] in ("pukCodes", "mf", "telecom", "opt-usim", "opt-isim")
        if name == "akaParameter":                              # after the NAA it belongs to
            assert "usim" in names[:index]
    ids = [next(v for k, v in value.items() if k.lower().endswith("header"))["identification"]
           for name, value in elements if name != "header"]
    assert len(ids) == len(set(ids))
    header = elements[0][1]
    used = [v["templateID"] for _, v in elements if "templateID" in v]
    assert header["eUICC-Mandatory-GFSTEList"] == used
    assert all(TEMPLATE_OF[n] == v["templateID"] for n, v in elements if "templateID" in v)
    services = header["eUICC-Mandatory-services"]
    assert ("isim" in services) == ("isim" in names) and "usim" in services


@pytest.mark.parametrize("changes", [{}, {"algorithm": "xor", "opc": None},
                                     {"isim": IsimParameters("a@b", ("sip:a@b", "tel:+1"), "b")}])
def test_order_rules(changes):
    check_order_rules(pes(build_upp(params(**changes))))


def test_op_is_turned_into_opc_ts35208_set1():
    s1 = vectors()["milenage_ts35208"]["test_sets"][0]
    upp = build_upp(params(k=bytes.fromhex(s1["K"]), opc=None, op=bytes.fromhex(s1["OP"])))
    algo = first(pes(upp), "akaParameter")["algoConfiguration"][1]
    assert algo["opc"] == bytes.fromhex(s1["OPc"])


def test_tuak_and_xor_parameters():
    t1 = vectors()["tuak_ts35233"]["test_sets"][0]
    k, topc = bytes.fromhex(t1["K"]), bytes.fromhex(t1["TOPc"])
    elements = pes(build_upp(params(algorithm="tuak", k=k, opc=topc,
                                    keccak_iterations=t1["keccak_iterations"])))
    algo = first(elements, "akaParameter")["algoConfiguration"][1]
    assert (algo["algorithmID"], algo["key"], algo["opc"]) == (2, k, topc)
    assert algo["numberOfKeccak"] == t1["keccak_iterations"]
    assert ("tuak256" if len(k) == 32 else "tuak128") in first(elements, "header")["eUICC-Mandatory-services"]
    xor = pes(build_upp(params(algorithm="xor", opc=None, k=KEY16)))
    algo = first(xor, "akaParameter")["algoConfiguration"][1]
    assert (algo["algorithmID"], algo["key"]) == (3, KEY16)
    assert "usim-test-algorithm" in first(xor, "header")["eUICC-Mandatory-services"]


def test_custom_milenage_constants():
    r, c = bytes.fromhex("0102030405"), bytes(range(80))
    algo = first(pes(build_upp(params(milenage_r=r, milenage_c=c))), "akaParameter")["algoConfiguration"][1]
    assert (algo["rotationConstants"], algo["xoringConstants"]) == (r, c)


def test_isim_values():
    isim = IsimParameters("001010000000001@ims.example", ("sip:user@ims.example",), "ims.example")
    elements = pes(build_upp(params(isim=isim)))
    files = first(elements, "isim")
    assert content(files["ef-impi"]) == b"\x80\x1b001010000000001@ims.example"
    assert content(files["ef-impu"]) == b"\x80\x14sip:user@ims.example"
    assert content(files["ef-domain"]) == b"\x80\x0bims.example"
    assert files["adf-isim"][0][1]["dfName"] == bytes.fromhex("A0000000871004FF49FF0589")
    assert len(all_of(elements, "akaParameter")) == 2


@pytest.mark.parametrize("changes", [
    {"imsi": "12"}, {"iccid": "12345"}, {"opc": None}, {"op": OPC},
    {"algorithm": "tuak", "opc": None, "op": OPC}, {"k": bytes(15)}, {"algorithm": "rot13"},
    {"mnc_length": 4}, {"pin1": "12"}, {"spn": "x" * 20},
    {"key_sets": (KeySet(1, bytes(15), bytes(16), bytes(16)),)},
    {"key_sets": (KeySet(1, bytes(16), bytes(16), bytes(16), "rsa"),)},
    {"key_sets": (KeySet(0, bytes(16), bytes(16), bytes(16)),)},
    {"milenage_r": b"\x00"}, {"access_class": 16},
])
def test_bad_parameters_raise_value_error(changes):
    with pytest.raises(ValueError):
        build_upp(params(**changes))


def test_default_test_profile():
    upp = default_test_profile()
    assert upp == default_test_profile()
    elements = pes(upp)
    check_order_rules(elements)
    header = first(elements, "header")
    assert header["iccid"] == bytes.fromhex("89001000000000000010")
    assert content(first(elements, "mf")["ef-iccid"]) == bytes.fromhex("98000100000000000001")
    usim = first(elements, "usim")
    assert content(usim["ef-imsi"]) == bytes.fromhex("080910100000000010")
    assert content(usim["ef-spn"]) == b"\x01euicc-emu" + b"\xff" * 7
    algo = first(elements, "akaParameter")["algoConfiguration"][1]
    assert (algo["algorithmID"], algo["key"], algo["opc"]) == (1, K, OPC)
    assert DEFAULT_TEST_PARAMETERS.amf == b"\x80\x00"
    assert "milenage" in header["eUICC-Mandatory-services"]


def test_cli_build_dump_default(tmp_path, capsys):
    out = tmp_path / "p.der"
    assert main(["build", "--iccid", "894944999999999001", "--add-luhn", "--imsi", "001010123456789",
                 "--k", K.hex(), "--op", "cdc202d5123e20f62b6d676ac72cb318", "--kvn", "2",
                 "--kic", KEY16.hex(), "--kid", KEY16.hex(), "--kik", KEY16.hex(),
                 "--impi", "a@b", "--impu", "sip:a@b", "--domain", "b", "--out", str(out)]) == 0
    assert main(["dump", str(out)]) == 0
    dumped = json.loads(capsys.readouterr().out)
    assert dumped["summary"]["iccid"] == "8949449999999990015"
    assert dumped["summary"]["iccid_header"] == "8949449999999990015"
    assert dumped["summary"]["imsi"] == ["001010123456789"]
    aka = next(e for e in dumped["elements"] if e["element"] == "akaParameter")
    assert aka["value"]["algoConfiguration"]["algoParameter"]["opc"] == OPC.hex().upper()
    default = tmp_path / "d.der"
    assert main(["default", "--out", str(default)]) == 0
    assert default.read_bytes() == default_test_profile()
    out.write_bytes(out.read_bytes()[:-3])
    assert main(["dump", str(out)]) == 1
    assert main(["build", "--iccid", "1", "--imsi", "1", "--k", "00", "--out", str(out)]) == 2
    with pytest.raises(SystemExit):
        main(["build", "--iccid", "1", "--imsi", "1", "--k", "zz", "--out", str(out)])
