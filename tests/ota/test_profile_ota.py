"""OTA to the enabled profile with the profile's own credentials (ETSI TS 102 226 §7 RFM, §8 RAM,
TS 102 225 SCP80): the GSMA TS.48 v7 package, downloaded over SGP.22 by the host LPA, carries its
MNO-SD key sets (KVN 1 3DES, KVN 2 AES), RAM TARs ('B20100') and RFM instances ('B00120' UICC,
'B00140' USIM ADF, ...), all with access domain '00' (full access) and MSL '02' (CC).  Every key,
TAR and access domain used here is decoded from the package by the host (tests/ota/profile_ota_host.py).
"""
from __future__ import annotations

import pytest

from euicc.composition import open_card
from tests.m2m import host
from tests.ota.profile_ota_host import USIM_AID, download_and_enable, package_ota, read_ef
from tests.rsp_host.conftest import card_smdp  # noqa: F401 - fixture
from tests.extensions import requires
from tools.fuzz.invariants import snapshot
from tools.ota import packet as ota
from tools.ota import transport
from tools.smsr.pki_files import DEFAULT_CARD_KEYSET

pytestmark = requires("rsp", "m2m")   # profiles downloaded over ES10, then OTA

EF_SPN = 0x6F46                         # TS 31.102 §4.2.12, update ADM in TS.48
NEW_SPN = bytes.fromhex("02") + b"OTA RFM".ljust(10, b"\xff")


@pytest.fixture
def enabled(card_smdp):  # noqa: F811
    card = open_card(None)
    download_and_enable(card.transmit, card_smdp, "OTA-1")
    terminal = host.Terminal(card)
    terminal.terminal_profile()
    return card, terminal


@pytest.fixture(scope="module")
def package():
    return package_ota()


def mno(terminal, package, key_type: int = 0x88) -> host.OtaServer:
    return host.OtaServer(terminal, package.keyset(key_type))


@pytest.mark.parametrize("key_type", [0x88, 0x80])
def test_rfm_update_binary_with_the_profiles_keys(enabled, package, key_type):
    """USIM ADF RFM ('B00140', default selection the USIM ADF): UPDATE BINARY EF.SPN (ADM) under
    access domain '00' while the terminal verified nothing; the terminal reads the new value."""
    card, terminal = enabled
    (_, sw), = mno(terminal, package, key_type).run(
        [bytes.fromhex("00A4000C026F46"), bytes([0x00, 0xD6, 0x00, 0x00, len(NEW_SPN)]) + NEW_SPN],
        tar=package.rfm_tar(USIM_AID))[-1:]
    assert sw == 0x9000
    assert read_ef(terminal, EF_SPN, len(NEW_SPN)) == NEW_SPN


def test_rfm_tar_refuses_the_isd_r_keys(enabled, package):
    """The ISD-R's AES key set 01 at the RFM TAR: the profile's KVN 1 is 3DES, so the AES header is
    refused ('05', TS 102 225 §5.2) and nothing is written."""
    card, terminal = enabled
    before = read_ef(terminal, EF_SPN, len(NEW_SPN))
    state = snapshot(card.store)
    isdr = host.OtaServer(terminal, DEFAULT_CARD_KEYSET)
    script = transport.expanded_script([bytes.fromhex("00A4000C026F46"),
                                        bytes([0x00, 0xD6, 0x00, 0x00, len(NEW_SPN)]) + NEW_SPN])
    data, _ = isdr.deliver(isdr.packet(script, tar=package.rfm_tar(USIM_AID)))
    assert isdr.por(data).status == 0x05
    assert snapshot(card.store) == state
    assert read_ef(terminal, EF_SPN, len(NEW_SPN)) == before


def test_rfm_below_the_instances_msl_is_refused(enabled, package):
    """MSL '02' of the RFM instance (CC): a packet with a CRC only is refused with '0A'."""
    card, terminal = enabled
    keyset = package.keyset(0x88)
    crc = host.OtaServer(terminal, ota.OtaKeyset(keyset.kvn, ota.AES, keyset.kic, ota.CRC32, keyset.kid))
    spi = bytes.fromhex("1505")
    data, _ = crc.deliver(crc.packet(transport.expanded_script([bytes.fromhex("00A4000C026F46")]),
                                     tar=package.rfm_tar(USIM_AID), spi=spi))
    assert crc.por(data, spi=spi).status == 0x0A


def test_compact_script_ending_in_get_response(enabled, package):
    """TS 102 226 §5.1.1: a compact script SELECT EF.ICCID + GET RESPONSE ('00C0000000') as OTA
    platforms send it; the response (§5.1.2) is count, last SW and the FCP the terminal also gets."""
    card, terminal = enabled
    fcp, sw = terminal.send(bytes.fromhex("00A40004022FE2"))
    assert sw == 0x9000 and fcp[:1] == b"\x62"
    server = mno(terminal, package)
    data, _ = server.deliver(server.packet(bytes.fromhex("00A40004022FE2" "00C0000000"), tar=package.rfm_tar(None)))
    por = server.por(data)
    assert por.status == 0 and por.checksum_valid
    assert por.data == bytes([2, 0x90, 0x00]) + fcp


def test_ram_get_status_get_data_and_unsupported_install(enabled, package):
    """RAM to the MNO-SD ('B20100', GP §11.4 / §11.3): GET STATUS of the SD and of the profile's
    applications, GET DATA key information, INSTALL answered '6A81' without a change."""
    card, terminal = enabled
    server = mno(terminal, package)
    tar = package.ram_tars[0]
    state = snapshot(card.store)
    results = server.run([bytes.fromhex("80F28002024F0000"), bytes.fromhex("80F24002024F0000"),
                          bytes.fromhex("80CA00E000"), bytes.fromhex("80E60C0000")], tar=tar)
    (isd, sw1), (apps, sw2), (keys, sw3), (_, sw4) = results
    assert (sw1, sw2, sw3, sw4) == (0x9000, 0x9000, 0x9000, 0x6A81)
    entry = dict(host.parse_tlvs(dict(host.parse_tlvs(isd))[0xE3]))
    assert entry[0x4F] == package.sd_aid and entry[0x9F70] == b"\x0f"     # PERSONALIZED, from the package
    assert package.sd_aid in [dict(host.parse_tlvs(v))[0x4F] for t, v in host.parse_tlvs(apps) if t == 0xE3]
    infos = [v for t, v in host.parse_tlvs(dict(host.parse_tlvs(keys))[0xE0]) if t == 0xC0]
    assert {(i[0], i[1], i[2]) for i in infos} == {(kid, kvn, 0x88 if k.kic_algorithm == ota.AES else 0x80)
                                                  for kvn, k in package.keysets.items() for kid in (1, 2, 3)}
    without_counters = {k: v for k, v in snapshot(card.store).items() if "scp80-counter" not in k}
    assert without_counters == {k: v for k, v in state.items() if "scp80-counter" not in k}


def test_profile_counter_is_checked(enabled, package):
    """The profile's key set has its own counter (TS 102 225 §5.1.1): a replay is '02'."""
    card, terminal = enabled
    server = mno(terminal, package)
    packet = server.packet(transport.expanded_script([bytes.fromhex("80CA00E000")]), tar=package.ram_tars[0])
    assert server.por(server.deliver(packet)[0]).status == 0x00
    assert server.por(server.deliver(packet)[0]).status == 0x02


def set_access_domain(card, tar: bytes, domain: bytes) -> None:
    """Test set-up: give the RFM instance of ``tar`` another ADF access domain (the TS.48 package
    only has '00', full access)."""
    from types import MappingProxyType
    for key in card.store.keys("fs/"):
        if "/rfm/" in key and tar in card.store.get(key)["tarList"]:
            record = dict(card.store.get(key))
            record["adfRFMAccess"] = MappingProxyType({**record["adfRFMAccess"], "adfAccessDomain": domain})
            with card.store.transaction():
                card.store.put(key, record)
            return
    raise AssertionError("no RFM instance with that TAR")


@pytest.mark.parametrize("domain, read_sw, update_sw", [
    ("FF", 0x6982, 0x6982),               # no access to the file system (TS 102 226 §8.2.1.3.2.4)
    ("02000000", 0x9000, 0x6982),         # UICC access mechanism, no key granted: ALW only
    ("02000100", 0x9000, 0x9000),         # ... ADM1 ('0A') granted [U bit layout, ACCESS_KEY_BITS]
])
def test_rfm_obeys_the_access_domain(enabled, package, domain, read_sw, update_sw):
    """RFM READ/UPDATE BINARY obey the instance's access domain, not the terminal's PIN state:
    EF.SPN is read ALW / update ADM1 in TS.48."""
    card, terminal = enabled
    tar = package.rfm_tar(USIM_AID)
    set_access_domain(card, tar, bytes.fromhex(domain))
    server = mno(terminal, package)
    select = bytes.fromhex("00A4000C026F46")
    assert server.run([select, bytes([0x00, 0xB0, 0x00, 0x00, 0x0B])], tar=tar)[-1][1] == read_sw
    assert server.run([select, bytes([0x00, 0xD6, 0x00, 0x00, len(NEW_SPN)]) + NEW_SPN], tar=tar)[-1][1] == update_sw


@pytest.mark.parametrize("field, expected", [
    # the TS.48 v7 MNO-SD's field: MSL '01 02' (Minimum SPI1: CC), TARs 'B20100' and '000000'
    ("010000000002010206B2010000000000", ("0102", ["B20100", "000000"])),
    ("0100000100", None),                         # menu entry count beyond the data
    ("010000000002010205B201000000", None),       # TAR length not a multiple of 3
    ("", None),
])
def test_toolkit_parameters(field, expected):
    """UICC toolkit application specific parameters, TS 102 226 §8.2.1.3.2.1; bad codings give
    no route instead of an exception."""
    from euicc.ota.profile_ota import toolkit_parameters
    parsed = toolkit_parameters(bytes.fromhex(field))
    if expected is None:
        assert parsed is None
        return
    assert (parsed[0].coding.hex().upper(), [t.hex().upper() for t in parsed[1]]) == expected
