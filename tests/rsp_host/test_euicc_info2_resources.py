"""EUICCInfo2 (SGP.22 v2.5 §5.7.8, §4.1) reports the card as it is: ``extCardResource`` (ETSI
TS 102 226 §8.2.1.7.2: '81' installed applications, '82' free NVM, '83' free volatile memory)
changes with a download, and ``uiccCapability`` names what the card does.

Decoded with asn1tools from the SGP.22 v2.5 ASN.1 module as published (tests/vectors, not the card's
copy or encoder).  The known answer for '81' is the number of applications and security domains
GlobalPlatform GET STATUS lists (GP Card Specification §11.4, P1 '80' and '40')."""
from __future__ import annotations

import asn1tools
import pytest

from euicc.card import Card
from euicc.composition import open_card
from tests.e2e.pcsc_host import reader_name
from tests.rsp_host.conftest import TS48_ICCID, make_lpa
from tests.vectors import ASN1 as ASN1_MODULES
from tools.lpa.activation_code import parse
from tools.lpa.lpa import iccid_bytes
from tools.lpa.transport import PcscTransmit, cla_for
from tools.smdpp.orders import order_from_upp

ASN1 = ASN1_MODULES / "sgp22"
# UICCCapability named bits (SGP.22 v2.5): usimSupport, isimSupport, akaMilenage, akaTuak128,
# akaTuak256, multipleUsimSupport, multipleIsimSupport -- applets/usim.py, applets/isim.py, euicc/auth;
# getIdentity (22, PEDefinitions v3.3.1 / SGP.22 v3): the card answers GetEUICCInfo2 in the v3 form
# by default (highest SVN 3.1.0), and this v2 decoder reads that bit too
EXPECTED_CAPABILITIES = {1, 2, 4, 6, 7, 16, 17, 22}


@pytest.fixture(scope="module")
def sgp22():
    files = [ASN1 / "RSPDefinitions.asn", ASN1 / "PKIX1Explicit88.asn", ASN1 / "PKIX1Implicit88.asn"]
    if not all(f.exists() for f in files):
        pytest.fail(f"the SGP.22 ASN.1 modules are not in {ASN1}")
    return asn1tools.compile_files([str(f) for f in files], "der")


def resources(value: bytes) -> dict[int, int]:
    """'81'/'82'/'83' one-byte tags, short lengths, unsigned big-endian values."""
    out, i = {}, 0
    while i < len(value):
        tag, size = value[i], value[i + 1]
        out[tag] = int.from_bytes(value[i + 2:i + 2 + size], "big")
        i += 2 + size
    return out


def set_bits(bits: tuple[bytes, int]) -> set[int]:
    data, size = bits
    return {n for n in range(size) if data[n // 8] & (0x80 >> (n % 8))}


def gp_entries(lpa, p1: int) -> int:
    """Count the 'E3' entries of GET STATUS (TLV format) to the ISD-R on the LPA's logical
    channel, following '6310' with P2 b1 = 1 (next occurrence)."""
    transport, count, p2 = lpa.es10.transport, 0, 0x02
    while True:
        cla = cla_for(transport.channel, True)
        data, sw = transport.exchange(bytes((cla, 0xF2, p1, p2, 2, 0x4F, 0x00, 0x00)))
        i = 0
        while i < len(data):
            assert data[i] == 0xE3
            count, i = count + 1, i + 2 + data[i + 1]
        if sw != 0x6310:
            assert sw == 0x9000
            return count
        p2 = 0x03


def info2(lpa, sgp22) -> dict:
    return sgp22.decode("EUICCInfo2", lpa.es10.transport.store_data(bytes.fromhex("BF2200")))


def test_ext_card_resource_follows_downloads(card_smdp, upp, sgp22):
    lpa = make_lpa(open_card(None).transmit)
    lpa.es10.transport.open()
    check_download_and_delete(lpa, card_smdp, upp, sgp22)


@pytest.mark.pcsc
def test_ext_card_resource_through_pcsc(start_card, pcscd, card_smdp, upp, sgp22):
    start_card()
    transmit = PcscTransmit(reader_name(pcscd))
    try:
        lpa = make_lpa(transmit)
        lpa.es10.transport.open()
        check_download_and_delete(lpa, card_smdp, upp, sgp22)
        lpa.es10.transport.close()
    finally:
        transmit.close()


def check_download_and_delete(lpa, card_smdp, upp, sgp22) -> None:
    before = info2(lpa, sgp22)
    assert set_bits(before["uiccCapability"]) == EXPECTED_CAPABILITIES
    first = resources(before["extCardResource"])
    assert first[0x81] == gp_entries(lpa, 0x80) + gp_entries(lpa, 0x40)
    card_smdp.add_order(order_from_upp("RESOURCES", upp))
    lpa.download(parse(f"LPA:1${card_smdp.address}$RESOURCES"))
    second = resources(info2(lpa, sgp22)["extCardResource"])
    assert second[0x81] == first[0x81] + 1 == gp_entries(lpa, 0x80) + gp_entries(lpa, 0x40)   # the new ISD-P
    assert first[0x82] - second[0x82] >= len(upp) // 2      # the profile's files, PINs and keys
    assert second[0x83] == first[0x83] > 0
    assert lpa.es10.delete_profile(("iccid", iccid_bytes(TS48_ICCID))) == 0
    third = resources(info2(lpa, sgp22)["extCardResource"])
    assert third[0x81] == first[0x81] and third[0x82] > second[0x82]
