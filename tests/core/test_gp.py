"""GlobalPlatform side of ISD-R and ECASD: GP Card Specification v2.3.1 §11.9.3 (SELECT response,
FCI), §11.3 GET DATA, §11.4 GET STATUS, §H.2 card recognition data; SGP.02 §5.1/SGP.22 (AIDs, EID);
GSMA SGP.29 §2 (EID check digits, ISO 7064 MOD 97-10).
"""
from __future__ import annotations

import pytest

from euicc.gp.registry import Registry, RegistryEntry
from tests.extensions import requires
from tests.core.helpers import (ECASD_AID, ISD_P_ELF_AID, ISD_P_MODULE_AID, ISD_R_AID, as_dict,
                                cla, decode_oid, h, parse_tlv, single)

GP_OID = "1.2.840.114283"
PRIV_SECURITY_DOMAIN = 0x80  # GP §11.1.2 Table 11-7: byte 1 b8


def _isd_r(term, channel: int = 0) -> None:
    term.ok(bytes((cla(channel), 0xA4, 0x04, 0x00, 16)) + ISD_R_AID + b"\x00")


def get_status(term, p1: int, p2: int, criteria: bytes = b"\x4F\x00"):
    return term.send(bytes((0x80, 0xF2, p1, p2, len(criteria))) + criteria + b"\x00")


def entries(data: bytes) -> list[dict[int, bytes | list[bytes]]]:
    """GET STATUS TLV format (GP §11.4.3.2 Table 11-36): one 'E3' per entry."""
    out = []
    for tag, value in parse_tlv(data):
        assert tag == 0xE3
        objs = parse_tlv(value)
        d: dict = {t: v for t, v in objs if t != 0x84}
        d["modules"] = [v for t, v in objs if t == 0x84]
        out.append(d)
    return out


def legacy_entries(data: bytes, with_modules: bool) -> list[tuple[bytes, int, int, list[bytes]]]:
    """GET STATUS deprecated format (GP §11.4.3.1 Tables 11-37/11-38):
    length, AID, life cycle, privileges byte [, number of modules, (length, module AID)*]."""
    out, i = [], 0
    while i < len(data):
        n = data[i]
        aid = data[i + 1:i + 1 + n]
        i += 1 + n
        lcs, priv = data[i], data[i + 1]
        i += 2
        mods = []
        if with_modules:
            count = data[i]
            i += 1
            for _ in range(count):
                m = data[i]
                mods.append(data[i + 1:i + 1 + m])
                i += 1 + m
        out.append((aid, lcs, priv, mods))
    assert i == len(data)
    return out


# -- SELECT on every channel ----------------------------------------------------------------------
@pytest.mark.parametrize("aid", [ISD_R_AID, ECASD_AID])
def test_selectable_on_every_channel(term, aid):
    for n in range(1, 20):
        term.ok(f"00 70 00 {n:02X}")
    for n in range(20):
        fci = as_dict(single(term.ok(bytes((cla(n), 0xA4, 0x04, 0x00, 16)) + aid + b"\x00"),
                             0x6F))
        assert fci[0x84] == aid, f"channel {n}"
        eid = term.send(bytes((cla(n, True), 0xCA, 0x00, 0x5A, 0x00)))
        assert eid.sw == 0x9000 and eid.data[:2] == h("5A 10"), f"channel {n}"


def test_isd_r_fci_contents(term):
    fci = as_dict(single(term.ok(b"\x00\xA4\x04\x00\x10" + ISD_R_AID + b"\x00"), 0x6F))
    assert fci[0x84] == ISD_R_AID
    prop = as_dict(fci[0xA5])
    assert len(prop[0x9F65]) >= 1  # maximum length of command data field: mandatory (GP §11.9.3)


def test_select_isd_r_t0_announces_61xx(term):
    # SPEC_NOTES §1.2.4: lpac's SELECT without Le gets '61xx', then the FCI by GET RESPONSE
    term.ok("00 70 00 01")
    r = term.raw(b"\x01\xA4\x04\x00\x10" + ISD_R_AID)
    assert r.data == b"" and r.sw >> 8 == 0x61
    g = term.raw(bytes((0x81, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    assert g.sw == 0x9000 and as_dict(single(g.data, 0x6F))[0x84] == ISD_R_AID


# -- GET DATA -------------------------------------------------------------------------------------
@pytest.mark.parametrize("aid", [ISD_R_AID, ECASD_AID])
def test_get_data_eid(term, card, aid):
    term.ok(b"\x00\xA4\x04\x00\x10" + aid + b"\x00")
    r = term.raw("80 CA 00 5A 00")
    assert r.sw_hex == "6C12"                     # T=0: '5A 10' + 16 bytes
    eid = single(term.ok("80 CA 00 5A 12"), 0x5A)
    assert len(eid) == 16
    digits = eid.hex()
    assert digits.isdigit() and len(digits) == 32  # BCD, one digit per nibble
    assert int(digits) % 97 == 1                  # ISO 7064 MOD 97-10 (SGP.29 §2)
    body = int(digits[:30] + "00")
    assert int(digits[30:]) == 98 - body % 97
    assert digits.startswith("89")                # telecommunications MII
    assert digits.upper() == card.describe()["eid"]


def test_get_data_card_data(term):
    _isd_r(term)
    data = single(term.ok("80 CA 00 66 00"), 0x66)
    crd = parse_tlv(single(data, 0x73))
    assert crd[0][0] == 0x06 and decode_oid(crd[0][1]) == f"{GP_OID}.1"   # card recognition data
    objs = dict(crd[1:])
    version = decode_oid(single(objs[0x60], 0x06))
    assert version.startswith(f"{GP_OID}.2.") and len(version.split(".")) >= 7
    assert decode_oid(single(objs[0x63], 0x06)) == f"{GP_OID}.3"         # identification scheme
    scp = decode_oid(single(objs[0x64], 0x06)).split(".")
    assert ".".join(scp[:5]) == f"{GP_OID}.4" and len(scp) == 7           # {gp 4 scp i}


@pytest.mark.parametrize("aid", [ISD_R_AID, ECASD_AID])
@pytest.mark.parametrize("tag", ["00FE", "9F7F", "0000"])
def test_get_data_unknown_tag(term, aid, tag):
    term.ok(b"\x00\xA4\x04\x00\x10" + aid + b"\x00")
    r = term.raw(f"80 CA {tag} 00")
    assert (r.data, r.sw_hex) == (b"", "6A88")


# -- GET STATUS -------------------------------------------------------------------------------------
def _described(card) -> dict[bytes, dict]:
    return {bytes.fromhex(a["aid"]): a for a in card.describe()["applets"]}


def test_get_status_isd(term, card):
    _isd_r(term)
    r = get_status(term, 0x80, 0x02)
    assert r.sw == 0x9000
    (e,) = entries(r.data)
    assert e[0x4F] == ISD_R_AID
    info = _described(card)[ISD_R_AID]
    assert e[0x9F70] == bytes.fromhex(info["lifecycle"])
    assert len(e[0xC5]) == 3 and e[0xC5] == bytes.fromhex(info["privileges"])
    assert e[0xC5][0] & PRIV_SECURITY_DOMAIN


def test_get_status_apps_and_sds(term, card):
    _isd_r(term)
    r = get_status(term, 0x40, 0x02)
    assert r.sw == 0x9000
    found = {e[0x4F]: e for e in entries(r.data)}
    assert ECASD_AID in found and ISD_R_AID not in found and ISD_P_ELF_AID not in found
    assert found[ECASD_AID][0xC5][0] & PRIV_SECURITY_DOMAIN
    assert all(0x9F70 in e and len(e[0x9F70]) == 1 for e in found.values())
    expected = {a for a, i in _described(card).items() if i["kind"] in ("SD", "APP")}
    assert set(found) == expected


def test_get_status_load_files(term):
    _isd_r(term)
    files = {e[0x4F]: e for e in entries(get_status(term, 0x20, 0x02).data)}
    assert ISD_P_ELF_AID in files and files[ISD_P_ELF_AID]["modules"] == []
    with_mods = {e[0x4F]: e for e in entries(get_status(term, 0x10, 0x02).data)}
    assert ISD_P_MODULE_AID in with_mods[ISD_P_ELF_AID]["modules"]


def test_get_status_legacy_format(term, card):
    _isd_r(term)
    (isd,) = legacy_entries(get_status(term, 0x80, 0x00).data, False)
    info = _described(card)[ISD_R_AID]
    assert isd == (ISD_R_AID, int(info["lifecycle"], 16), int(info["privileges"][:2], 16), [])
    apps = legacy_entries(get_status(term, 0x40, 0x00).data, False)
    assert ECASD_AID in [a for a, *_ in apps]
    elfs = legacy_entries(get_status(term, 0x10, 0x00).data, True)
    elf = [e for e in elfs if e[0] == ISD_P_ELF_AID]
    assert elf and elf[0][2] == 0 and ISD_P_MODULE_AID in elf[0][3]


def test_get_status_search_criteria(term):
    _isd_r(term)
    prefix = ECASD_AID[:16]
    (e,) = entries(get_status(term, 0x40, 0x02, b"\x4F\x10" + prefix).data)
    assert e[0x4F] == ECASD_AID
    some = entries(get_status(term, 0x40, 0x02, h("4F 05 A000000559")).data)
    assert some and all(x[0x4F].startswith(h("A000000559")) for x in some)


@pytest.mark.parametrize("p1", [0x80, 0x40, 0x20, 0x10])
def test_get_status_no_match(term, p1):
    _isd_r(term)
    r = get_status(term, p1, 0x02, h("4F 05 A000000999"))
    assert (r.data, r.sw_hex) == (b"", "6A88")


@pytest.mark.parametrize("p1,p2", [(0x08, 0x02), (0x04, 0x02), (0x80, 0x04), (0x80, 0x80)])
def test_get_status_bad_parameters(term, p1, p2):
    _isd_r(term)
    assert get_status(term, p1, p2).sw in (0x6A86, 0x6B00)


def test_get_status_without_criteria(term):
    _isd_r(term)
    assert term.send("80 F2 80 02 02 5C00 00").sw in (0x6A80, 0x6A88)


@pytest.fixture
def many_apps(card) -> set[bytes]:
    """Twenty application entries in the registry: more than one GET STATUS response holds."""
    aids = {h("A0000009990000") + bytes((i, 0x01)) for i in range(20)}
    with card.store.transaction():
        reg = Registry(card.store)
        for aid in sorted(aids):
            reg.put(RegistryEntry(aid, "APP", 0x07))
    return aids


def test_get_status_next_occurrence(term, many_apps):
    _isd_r(term)
    r = get_status(term, 0x40, 0x02)
    found = [e[0x4F] for e in entries(r.data)]
    rounds = 0
    while r.sw == 0x6310:                       # more data available (GP §11.4.3)
        r = get_status(term, 0x40, 0x03)
        found += [e[0x4F] for e in entries(r.data)]
        rounds += 1
        assert rounds < 10
    assert r.sw == 0x9000 and rounds >= 1
    assert len(found) == len(set(found)) and many_apps <= set(found)


# -- STORE DATA without data (GP §11.11.2: the data field is mandatory) ---------------------------
GET_EUICC_CHALLENGE = h("BF2E00")   # SGP.22 §5.7.7 GetEuiccChallengeRequest


@requires("rsp")   # ES10 over STORE DATA
@pytest.mark.parametrize("apdu", ["80E29100", "80E2910000"], ids=["case1", "case2"])
def test_store_data_without_data_is_wrong_length(term, apdu):
    _isd_r(term)
    assert term.raw(apdu).sw == 0x6700


@requires("rsp")
def test_store_data_empty_block_ends_the_sequence(term):
    """An empty block in the middle is refused with '6700'; the next block no longer continues
    the sequence ('6A86', wrong block number), a new sequence from P2 '00' works."""
    _isd_r(term)
    assert term.raw(bytes((0x80, 0xE2, 0x11, 0x00, 2)) + GET_EUICC_CHALLENGE[:2]).sw == 0x9000
    assert term.raw("80E2910100").sw == 0x6700
    assert term.raw(bytes((0x80, 0xE2, 0x91, 0x01, 1)) + GET_EUICC_CHALLENGE[2:]).sw == 0x6A86
    r = term.send(bytes((0x80, 0xE2, 0x91, 0x00, 3)) + GET_EUICC_CHALLENGE + b"\x00")
    assert r.sw == 0x9000 and r.data[:3] == h("BF2E12") and r.data[3:5] == h("8010")
