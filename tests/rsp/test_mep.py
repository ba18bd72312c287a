"""SGP.22 v3.1 Multiple Enabled Profiles on the card (in process): EnableProfile with
``targetEsimPort``, ``enabledOnEsimPort`` in GetProfilesInfo, the MEP-A1 / A2 / B port rules and
their refusals, one USIM per eSIM port selected with MANAGE LSI (ETSI TS 102 221 V17 §7.5), the
ports kept in the state file and across a power cut.

Requests are encoded and answers decoded with the published v3.1 module (tests/vectors/data/asn1,
compiled here, not the card's copy).  Known answers: enableResult values commandError 7 and
noEsimPortAvailable 10 and the ProfileInfo tag '9F24' of enabledOnEsimPort from the v3.1 module
text; the IMSIs from the profiles' own sources (the card's default test profile, README; TS.48 v7
GTP profile, its EF.IMSI in the UPP).  MANAGE LSI (TS 102 221 V17, coding [U] as in euicc.ports:
two public decoders) is written out here byte by byte: CLA '80' INS '7C', P1 '00' select LSI,
'01' reset LSE, '04' configure LSIs with '80' highest LSI, '81' options, SGP.22 '90' MEP modes
(A1 '01', A2 '02', B '03'), '91' LSIs for enabled profiles.
"""
from __future__ import annotations

import shutil
from dataclasses import replace

import asn1tools
import pytest

from euicc.card import CardConfig
from euicc.composition import open_card
from euicc.nvm import PowerCut
from euicc.rsp import mep
from euicc.rsp.identity import import_identity
from tests.rsp import flow
from tests.rsp.helpers import SGP26, TS48_ICCID, Lpa, metadata, swap
from tests.vectors import ASN1

PRELOADED_ICCID = swap("89001000000000000010")
TS48 = swap(TS48_ICCID)
PRELOADED_IMSI = "001010000000001"       # the default test profile (README)
TS48_IMSI = "001010123456789"            # EF.IMSI 080910101032547698 in the TS.48 v7 UPP the tests load
OK, NOT_FOUND, WRONG_STATE, DISALLOWED_BY_POLICY, COMMAND_ERROR, NO_ESIM_PORT = 0, 1, 2, 3, 7, 10


@pytest.fixture(scope="module")
def v3():
    files = [ASN1 / "sgp22v3" / "RSPDefinitions-v3.1.edited.asn", ASN1 / "sgp22" / "PKIX1Explicit88.asn",
             ASN1 / "sgp22" / "PKIX1Implicit88.asn", ASN1 / "saip" / "PE_Definitions-3.3.1.asn"]
    return asn1tools.compile_files([str(f) for f in files], "der")


@pytest.fixture(scope="module")
def v2():
    """SGP.22 v2 RSPDefinitions as published: what a v2 LPA decodes with."""
    files = [ASN1 / "sgp22" / n for n in ("RSPDefinitions.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn")]
    return asn1tools.compile_files([str(f) for f in files], "der")


def mep_card(mode: str, path=None, **meta):
    card = open_card(path, CardConfig(ports=mep.layout(mode)), "test")
    import_identity(card.store, SGP26)
    lpa = Lpa(card)
    lpa.select_isd_r()
    assert flow.full_download(lpa, meta=metadata(**meta))["finalResult"][0] == "successResult"
    return card, lpa


def select_lsi(card, lsi: int) -> int:
    r = card.transmit(bytes((0x80, 0x7C, 0x00, lsi)))
    return int.from_bytes(r[-2:], "big")


def enable(v3, lpa, iccid: bytes, port: int | None = None) -> int:
    request = {"profileIdentifier": ("iccid", iccid), "refreshFlag": False}
    if port is not None:
        request["targetEsimPort"] = port
    raw = lpa.es10(v3.encode("EnableProfileRequest", request))
    return v3.decode("EnableProfileResponse", raw)["enableResult"]


def ports(v3, lpa) -> dict[bytes, int | None]:
    """ICCID -> enabledOnEsimPort (None: absent) of every profile; enabled ones carry a port."""
    raw = lpa.es10(bytes.fromhex("BF2D00"))
    infos = v3.decode("ProfileInfoListResponse", raw)[1]
    for info in infos:
        assert (info["profileState"] == 1) == ("enabledOnEsimPort" in info)
    return {info["iccid"]: info.get("enabledOnEsimPort") for info in infos}


def imsi_on(card, lsi: int) -> str:
    """EF.IMSI of the USIM the terminal sees on LSI `lsi` (TS 31.102 §4.2.2)."""
    assert select_lsi(card, lsi) == 0x9000
    assert card.transmit(bytes.fromhex("00A4040C07A0000000871002"))[-2:] == b"\x90\x00"
    assert card.transmit(bytes.fromhex("00A4000C026F07"))[-2:] == b"\x90\x00"
    r = card.transmit(bytes.fromhex("00B0000009"))
    assert r[-2:] == b"\x90\x00"
    data = r[:-2]
    return "".join(f"{b & 0xF:X}{b >> 4:X}" for b in data[1:1 + data[0]])[1:].rstrip("F")


def test_a1_two_profiles_on_two_ports_two_usims(v3):
    card, lpa = mep_card(mep.A1)
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: None}    # a new card's profile: port 1
    assert enable(v3, lpa, TS48, 2) == OK
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: 2}
    raw = lpa.es10(v3.encode("ProfileInfoListRequest", {"searchCriteria": ("iccid", TS48)}))
    assert bytes.fromhex("9F240102") in raw                     # enabledOnEsimPort [36] = 2
    assert imsi_on(card, 1) == PRELOADED_IMSI
    assert imsi_on(card, 2) == TS48_IMSI
    assert select_lsi(card, 0) == 0x9000                         # the ISD-R's port, unchanged
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: 2}


def test_a1_enable_on_a_busy_port_disables_its_profile(v3):
    card, lpa = mep_card(mep.A1)
    assert enable(v3, lpa, TS48, 1) == OK
    assert ports(v3, lpa) == {PRELOADED_ICCID: None, TS48: 1}
    assert imsi_on(card, 1) == TS48_IMSI


def test_a1_refusals(v3):
    card, lpa = mep_card(mep.A1)
    assert enable(v3, lpa, TS48) == COMMAND_ERROR                # the LPA must name the port
    assert enable(v3, lpa, TS48, 0) == NO_ESIM_PORT             # port 0: the ISD-R's only
    assert enable(v3, lpa, TS48, 3) == NO_ESIM_PORT             # no such port
    assert enable(v3, lpa, PRELOADED_ICCID, 2) == WRONG_STATE
    assert enable(v3, lpa, swap("89000000000000000001"), 2) == NOT_FOUND
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: None}   # nothing changed
    assert select_lsi(card, 1) == 0x9000
    isd_r = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
    assert card.transmit(bytes((0, 0xA4, 4, 0, len(isd_r))) + isd_r)[-2:] == b"\x6a\x82"
    assert select_lsi(card, 3) == 0x6A86                         # LSIs 0-2 only


def test_a2_the_euicc_chooses_the_port(v3):
    card, lpa = mep_card(mep.A2)
    assert enable(v3, lpa, TS48, 2) == COMMAND_ERROR             # A2: no targetEsimPort
    assert enable(v3, lpa, TS48) == OK
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: 2}
    assert imsi_on(card, 2) == TS48_IMSI


def test_a2_no_free_port(v3):
    card = open_card(None, CardConfig(ports=mep.layout(mep.A2, profile_ports=1)), "test")
    import_identity(card.store, SGP26)
    lpa = Lpa(card)
    lpa.select_isd_r()
    assert flow.full_download(lpa, meta=metadata())["finalResult"][0] == "successResult"
    assert enable(v3, lpa, TS48) == NO_ESIM_PORT


def test_b_command_port_is_the_target_port(v3):
    card, lpa = mep_card(mep.B)
    assert ports(v3, lpa) == {PRELOADED_ICCID: 0, TS48: None}
    assert select_lsi(card, 1) == 0x9000
    lpa.select_isd_r()                                           # MEP-B: the ISD-R on any port
    assert enable(v3, lpa, TS48, 0) == COMMAND_ERROR
    assert enable(v3, lpa, TS48) == OK
    assert ports(v3, lpa) == {PRELOADED_ICCID: 0, TS48: 1}
    assert imsi_on(card, 0) == PRELOADED_IMSI
    assert imsi_on(card, 1) == TS48_IMSI


def disable(v3, lpa, iccid: bytes) -> int:
    raw = lpa.es10(v3.encode("DisableProfileRequest", {"profileIdentifier": ("iccid", iccid),
                                                       "refreshFlag": False}))
    return v3.decode("DisableProfileResponse", raw)["disableResult"]


def test_ppr1_binds_the_port_of_its_profile(v3):
    """PPR1 (SGP.22 §2.9.1, disabling not allowed) of an operational profile: enabling another
    profile on its port would disable it (disallowedByPolicy 3); on another port it is untouched."""
    card, lpa = mep_card(mep.A1, profileClass=2, profilePolicyRules=(b"\x60", 3),
                         profileOwner={"mccMnc": bytes.fromhex("00F110")})
    assert enable(v3, lpa, TS48, 2) == OK
    assert disable(v3, lpa, PRELOADED_ICCID) == OK
    assert enable(v3, lpa, PRELOADED_ICCID, 2) == DISALLOWED_BY_POLICY
    assert enable(v3, lpa, PRELOADED_ICCID, 1) == OK
    assert disable(v3, lpa, TS48) == DISALLOWED_BY_POLICY
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: 2}


def test_disable_frees_the_port_and_the_state_file_keeps_the_ports(v3, tmp_path):
    path = tmp_path / "mep.state"
    card, lpa = mep_card(mep.A1, path)
    assert enable(v3, lpa, TS48, 2) == OK
    card.close()
    card = open_card(path, CardConfig(ports=mep.layout(mep.A1)))
    lpa = Lpa(card)
    lpa.select_isd_r()
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: 2}
    assert disable(v3, lpa, PRELOADED_ICCID) == OK
    assert ports(v3, lpa) == {PRELOADED_ICCID: None, TS48: 2}
    assert imsi_on(card, 2) == TS48_IMSI
    assert select_lsi(card, 1) == 0x9000                         # port 1: the eUICC's own MF
    assert card.transmit(bytes.fromhex("00A4040C07A0000000871002"))[-2:] == b"\x6a\x82"
    card.close()


def test_power_cut_during_a_mep_enable(v3, tmp_path):
    base = tmp_path / "base.state"
    card, _ = mep_card(mep.A1, base)
    card.close()
    request = v3.encode("EnableProfileRequest", {"profileIdentifier": ("iccid", TS48),
                                                 "refreshFlag": False, "targetEsimPort": 2})
    for n in range(1, 40):
        path = tmp_path / f"cut{n}.state"
        shutil.copy(base, path)
        card = open_card(path, CardConfig(ports=mep.layout(mep.A1)))
        lpa = Lpa(card)
        lpa.select_isd_r()
        start = card.store.writes

        def hook(w: int, target=start + n) -> None:
            if w == target:
                raise PowerCut(f"power cut at write {w}")

        card.store.fault_hook = hook
        try:
            lpa.es10(request)
            completed = True
        except PowerCut:
            completed = False
        card.close()
        card = open_card(path, CardConfig(ports=mep.layout(mep.A1)))   # the state check passes
        lpa = Lpa(card)
        lpa.select_isd_r()
        seen = ports(v3, lpa)
        card.close()
        assert seen in ({PRELOADED_ICCID: 1, TS48: None}, {PRELOADED_ICCID: 1, TS48: 2})
        if completed:
            assert seen == {PRELOADED_ICCID: 1, TS48: 2}
            assert n > 1
            return
    pytest.fail("the enable never completed")


def test_single_enabled_default_has_no_port(v3):
    card, lpa = mep_card(mep.OFF)
    raw = lpa.es10(bytes.fromhex("BF2D00"))
    assert b"\x9f\x24" not in raw
    assert enable(v3, lpa, TS48) == OK                           # v2 rule: replaces the enabled one
    infos = v3.decode("ProfileInfoListResponse", lpa.es10(bytes.fromhex("BF2D00")))[1]
    assert {i["iccid"]: i["profileState"] for i in infos} == {PRELOADED_ICCID: 0, TS48: 1}
    assert not any("enabledOnEsimPort" in i for i in infos)
    assert select_lsi(card, 1) == 0x6D00                         # no LSI support: an unknown INS


def test_configure_lsis_with_the_mep_setup(v3):
    """SGP.22 v3 §3.4.1: the Device offers MEP-B then MEP-A1 and 4 LSIs, 3 for profiles."""
    card, lpa = mep_card(mep.A1)
    data, sw = lpa.transmit(bytes.fromhex("807C04000D" "800103" "810100" "90020301" "910103"))
    # highest LSI 2 (the card has 3), no NAD; joint mode A1, the eUICC supports A1; 2 profile LSIs
    assert (data.hex().upper(), sw) == ("800102" "810100" "90020101" "910102", 0x9000)
    data, sw = lpa.transmit(bytes.fromhex("807C040009" "800101" "810100" "900103"))
    # the Device wants B only: no jointly supported mode ('00'), the eUICC supports A1
    assert (data.hex().upper(), sw) == ("800101" "810100" "90020001", 0x9000)
    assert select_lsi(card, 2) == 0x6A86                          # configured down to LSIs 0-1
    assert select_lsi(card, 1) == 0x9000
    assert card.transmit(bytes.fromhex("807C04000201FF"))[-2:] == b"\x6a\x80"   # malformed TLV
    assert card.transmit(bytes.fromhex("807C0200"))[-2:] == b"\x6a\x81"         # assign SWP


def test_reset_lse_keeps_the_other_ports(v3):
    card, lpa = mep_card(mep.A1)
    assert enable(v3, lpa, TS48, 2) == OK
    assert imsi_on(card, 2) == TS48_IMSI                           # LSI 2: EF.IMSI selected
    assert select_lsi(card, 0) == 0x9000
    data, sw = lpa.transmit(bytes.fromhex("807C0102") + bytes((2 + len(card.atr),)))   # reset LSI 2
    assert (data, sw) == (bytes((0x80, len(card.atr))) + card.atr, 0x9000)
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: 2}        # LSI 0: the ISD-R still selected
    assert select_lsi(card, 2) == 0x9000
    assert card.transmit(bytes.fromhex("00B0000009"))[-2:] == b"\x69\x86"   # back at the MF


def test_a_v2_lpa_reads_the_mep_profile_list(v3, v2):
    """ProfileInfo keeps its v2 members on their v2 tags; a v2 decoder skips '9F24'."""
    card, lpa = mep_card(mep.A1)
    assert enable(v3, lpa, TS48, 2) == OK
    infos = v2.decode("ProfileInfoListResponse", lpa.es10(bytes.fromhex("BF2D00")))[1]
    assert {i["iccid"]: i["profileState"] for i in infos} == {PRELOADED_ICCID: 1, TS48: 1}


def test_memory_reset_frees_the_ports_of_deleted_profiles(v3, tmp_path):
    """eUICCMemoryReset (§5.7.19) deleteOperationalProfiles: the operational profile on port 2 is
    disabled and deleted, port 2 shows the eUICC's own MF; the state file stays a usable card."""
    path = tmp_path / "reset.state"
    card, lpa = mep_card(mep.A1, path, profileClass=2)
    assert enable(v3, lpa, TS48, 2) == OK
    raw = lpa.es10(v3.encode("EuiccMemoryResetRequest", {"resetOptions": (b"\x80", 1)}))
    assert v3.decode("EuiccMemoryResetResponse", raw) == {"resetResult": OK}
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1}
    assert select_lsi(card, 2) == 0x9000
    assert card.transmit(bytes.fromhex("00A4040C07A0000000871002"))[-2:] == b"\x6a\x82"
    card.close()
    card = open_card(path, CardConfig(ports=mep.layout(mep.A1)))
    assert imsi_on(card, 1) == PRELOADED_IMSI
    card.close()


HOSTILE_LSI = ["807C00", "807C0005", "807C001F", "807C00FF", "807C00010100", "807C0501", "807C04",
               "807C040100", "807C0400028001", "807C0400058001029001",
               "807C0402038001FF", "807C0200", "807C0300", "807C01FF", "007C0001", "807CFF00"]


def test_hostile_manage_lsi_gets_a_status_word_and_changes_nothing(v3):
    """Malformed MANAGE LSI (TS 102 221 V17 §7.5): an error status word, never '6F00', and the
    persistent state as it was."""
    card, lpa = mep_card(mep.A1)
    before = {k: card.store.get(k) for k in card.store.keys("")}
    for apdu in HOSTILE_LSI:
        sw = int.from_bytes(card.transmit(bytes.fromhex(apdu))[-2:], "big")
        assert sw >> 8 in (0x67, 0x6A, 0x6D, 0x6E), f"{apdu}: {sw:04X}"
    assert {k: card.store.get(k) for k in card.store.keys("")} == before


@pytest.mark.parametrize("port", [-1, 3, 255, 2 ** 70])
def test_target_esim_port_out_of_range(v3, port):
    card, lpa = mep_card(mep.A1)
    assert enable(v3, lpa, TS48, port) == NO_ESIM_PORT
    assert ports(v3, lpa) == {PRELOADED_ICCID: 1, TS48: None}


def test_the_atr_indicates_lsis():
    """TS 102 221 V17 §7.5: LSI support is indicated in the ATR.  TD2 '3F' (T=15, TB3 follows),
    TA3 'C7', TB3 '83' (b8; b2 eUICC, b1 LSIs, as Android's AnswerToReset reads them); TCK the
    XOR of T0..the last historical byte (ISO 7816-3 §8.2.5).  Without MEP: the ATR of before."""
    body = bytes.fromhex("3B9796803FC783" "8031E073FE215F")
    tck = 0
    for b in body[1:]:
        tck ^= b
    assert open_card(None, CardConfig(ports=mep.layout(mep.A1))).atr == body + bytes((tck,))
    assert open_card(None).atr == bytes.fromhex("3B9796801FC78031E073FE215FFB")


def test_a_mep_state_opened_without_mep_stays_a_usable_card(v3, tmp_path):
    """Without --mep the card has one port, the first: enabling there replaces its profile only;
    a profile enabled on another port stays enabled (and can be disabled), and the file opens
    again with its MEP option."""
    path = tmp_path / "mep.state"
    card, lpa = mep_card(mep.A1, path)
    assert enable(v3, lpa, TS48, 2) == OK
    card.close()
    card = open_card(path)
    lpa = Lpa(card)
    lpa.select_isd_r()
    assert disable(v3, lpa, TS48) == OK
    assert enable(v3, lpa, TS48) == OK                            # on the first port
    assert imsi_on_single(card) == TS48_IMSI
    card.close()
    card = open_card(path, CardConfig(ports=mep.layout(mep.A1)))
    lpa = Lpa(card)
    lpa.select_isd_r()
    assert ports(v3, lpa) == {PRELOADED_ICCID: None, TS48: 1}
    card.close()


def imsi_on_single(card) -> str:
    assert card.transmit(bytes.fromhex("00A4040C07A0000000871002"))[-2:] == b"\x90\x00"
    assert card.transmit(bytes.fromhex("00A4000C026F07"))[-2:] == b"\x90\x00"
    data = card.transmit(bytes.fromhex("00B0000009"))[:-2]
    return "".join(f"{b & 0xF:X}{b >> 4:X}" for b in data[1:1 + data[0]])[1:].rstrip("F")


def test_tag_list_selects_enabled_on_esim_port(v3):
    """GetProfilesInfo tagList (§5.7.15) '5A 9F24': each ProfileInfo with its ICCID and, when
    enabled, its port only."""
    card, lpa = mep_card(mep.A1)
    raw = lpa.es10(v3.encode("ProfileInfoListRequest", {"tagList": bytes.fromhex("5A9F24")}))
    infos = v3.decode("ProfileInfoListResponse", raw)[1]
    assert infos == [{"iccid": PRELOADED_ICCID, "enabledOnEsimPort": 1}, {"iccid": TS48}]


def test_refresh_goes_to_the_port_of_the_profile(v3):
    """refreshFlag with eSIM ports: the REFRESH 'eUICC Profile State Change' (TS 102 223 §6.4.7,
    qualifier '09') is announced ('91xx') and fetched on the port the profile was enabled on, not
    on the ISD-R's port; catBusy (5) is that port's."""
    card, lpa = mep_card(mep.A1)
    assert select_lsi(card, 2) == 0x9000
    assert card.transmit(bytes.fromhex("8010000003FFFFFF"))[-2:] == b"\x90\x00"   # TERMINAL PROFILE, port 2
    assert select_lsi(card, 0) == 0x9000
    request = {"profileIdentifier": ("iccid", TS48), "refreshFlag": True, "targetEsimPort": 2}
    raw = lpa.es10(v3.encode("EnableProfileRequest", request))
    assert v3.decode("EnableProfileResponse", raw)["enableResult"] == OK
    assert lpa.sws[-1] >> 8 != 0x91                                             # not on port 0
    assert card.transmit(bytes.fromhex("80F2000C00")) == b"\x90\x00"
    assert select_lsi(card, 2) == 0x9000
    assert card.transmit(bytes.fromhex("80F2000C00")) == bytes.fromhex("910B")
    assert card.transmit(bytes.fromhex("801200000B")) == bytes.fromhex("D009810301010982028182" "9000")
    assert select_lsi(card, 0) == 0x9000
    request = {"profileIdentifier": ("iccid", TS48), "refreshFlag": True}
    raw = lpa.es10(v3.encode("DisableProfileRequest", request))
    assert v3.decode("DisableProfileResponse", raw)["disableResult"] == 5        # port 2's CAT busy


def terminal_profile(card, lsi: int) -> None:
    """TERMINAL PROFILE (TS 102 221 §11.2.1) on LSI `lsi`: CAT is initialised there."""
    assert select_lsi(card, lsi) == 0x9000
    assert card.transmit(bytes.fromhex("8010000003FFFFFF"))[-2:] == b"\x90\x00"


def test_b_disable_on_a_port_with_cat_comes_in_on_that_port(v3):
    """MEP-B (§2.12): with CAT initialised on the Target Port, ES10c.DisableProfile is sent on the
    Target Port; sent on another port the card answers commandError (7, [U] euicc.rsp.mep) and
    nothing changes.  Without CAT there, any port will do."""
    card, lpa = mep_card(mep.B)
    assert select_lsi(card, 1) == 0x9000
    lpa.select_isd_r()
    assert enable(v3, lpa, TS48) == OK                             # TS48 on port 1
    terminal_profile(card, 1)
    assert select_lsi(card, 0) == 0x9000
    assert disable(v3, lpa, TS48) == COMMAND_ERROR                 # sent on port 0
    assert ports(v3, lpa) == {PRELOADED_ICCID: 0, TS48: 1}
    assert disable(v3, lpa, swap("89000000000000000001")) == NOT_FOUND   # the usual checks first
    assert select_lsi(card, 1) == 0x9000
    assert disable(v3, lpa, TS48) == OK                            # on its own port
    assert ports(v3, lpa) == {PRELOADED_ICCID: 0, TS48: None}
    assert disable(v3, lpa, PRELOADED_ICCID) == OK                 # port 0: no CAT, any port
    assert ports(v3, lpa) == {PRELOADED_ICCID: None, TS48: None}


def test_a1_disable_of_a_port_with_cat_is_sent_on_port_0(v3):
    """MEP-A1: the ISD-R is on port 0 only, so the MEP-B rule does not apply."""
    card, lpa = mep_card(mep.A1)
    assert enable(v3, lpa, TS48, 2) == OK
    terminal_profile(card, 2)
    assert select_lsi(card, 0) == 0x9000
    assert disable(v3, lpa, TS48) == OK
