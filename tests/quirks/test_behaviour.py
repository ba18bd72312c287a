"""What a terminal sees of each quirk setting, on an in-process card (TS 102 221 §7.3.1.1.4,
ISO 7816-3 §10.3.3, ISO 7816-4 §5.3.4; GP Card Spec v2.3.1 §11.11; SGP.22 v2.5 §2.2.1, §5.7.8;
SGP.02 Annex H).

APDUs are written out by hand; EUICCInfo is decoded with asn1tools compiled from the published
SGP.22 ASN.1 module (``rsp_asn1``, tests/quirks/conftest.py), not with the card's codec.
"""
from __future__ import annotations

from pathlib import Path

from euicc.card import Card, CardConfig
from euicc.composition import open_card
from tests.core.helpers import Response, Terminal, as_dict, h, single
from tools.quirks import load

ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")        # SGP.02 Annex H
VENDOR_ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900050500")  # a vendor ISD-R AID (SPEC_NOTES §1.1)
OTHER_CI = bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3")


def terminal(config: CardConfig) -> Terminal:
    return Terminal(open_card(None, config, first_profile="minimal"))


def user_config(tmp_path: Path, text: str) -> CardConfig:
    path = tmp_path / "q.toml"
    path.write_text('description = "test"\n' + text)
    return load(str(path)).config


def fci(term: Terminal, aid: bytes) -> dict[int, bytes]:
    """SELECT by AID: the FCI's fields ('6F' template, GP Card Spec §11.9.3.1)."""
    return as_dict(single(term.select_aid(aid), 0x6F))


def es10(term: Terminal, request: str) -> tuple[bytes, int]:
    """One ES10 request in one STORE DATA block to the ISD-R on the basic channel (SGP.22 §5.7.2)."""
    body = h(request)
    r = term.send(bytes((0x80, 0xE2, 0x91, 0x00, len(body))) + body + b"\x00")
    return r.data, r.sw


def test_sysmoeuicc1_atr_fci_and_euicc_info(rsp_asn1):
    config = load("sysmoeuicc1").config
    card = open_card(None, config, first_profile="minimal")
    term = Terminal(card)
    assert card.atr == h("3B9F96803F87828031E073FE211F574543753130136502")
    fields = fci(term, ISD_R)
    assert fields[0x84] == ISD_R and as_dict(fields[0xE0])[0x82] == h("020300")   # SVN 2.3.0
    data, sw = es10(term, "BF2000")
    info1 = rsp_asn1.decode("EUICCInfo1", data)
    assert sw == 0x9000 and info1["svn"] == h("020300")
    data, sw = es10(term, "BF2200")
    info2 = rsp_asn1.decode("EUICCInfo2", data)
    assert (info2["svn"], info2["profileVersion"]) == (h("020300"), h("020301"))
    assert info2["euiccFirmwareVer"] == bytes((35, 6, 35))
    assert info2["sasAcreditationNumber"] == "SYSMOCOM-TEST-1" and info2["ppVersion"] == h("010000")
    assert info2["javacardVersion"] == h("0F0100") and info2["globalplatformVersion"] == h("020300")
    assert "euiccCategory" not in info2 and 0x8B not in as_dict(data[4:])   # left out, as recorded


def test_legacy_card_reports_v2_2(rsp_asn1):
    term = terminal(load("legacy-v2.2").config)
    assert as_dict(fci(term, ISD_R)[0xE0])[0x82] == h("020200")
    info2 = rsp_asn1.decode("EUICCInfo2", es10(term, "BF2200")[0])
    assert (info2["svn"], info2["profileVersion"]) == (h("020200"), h("020100"))
    assert "euiccCategory" not in info2


def test_ci_key_ids_override(tmp_path, rsp_asn1):
    term = terminal(user_config(tmp_path, f'[euicc_info]\nci_pkids_for_signing = ["{OTHER_CI.hex()}"]\n'))
    term.select_aid(ISD_R)
    info1 = rsp_asn1.decode("EUICCInfo1", es10(term, "BF2000")[0])
    assert info1["euiccCiPKIdListForSigning"] == [OTHER_CI]
    assert OTHER_CI not in info1["euiccCiPKIdListForVerification"]   # the card's own, unchanged
    assert len(info1["euiccCiPKIdListForVerification"]) >= 1


def test_isd_r_answers_at_the_vendor_aid_only(tmp_path):
    term = terminal(user_config(tmp_path, f'isd_r_aid = "{VENDOR_ISD_R.hex()}"\n'))
    assert term.sw(bytes((0x00, 0xA4, 0x04, 0x00, 16)) + ISD_R + b"\x00") == 0x6A82
    assert fci(term, VENDOR_ISD_R)[0x84] == VENDOR_ISD_R
    data, sw = es10(term, "BF3E035C015A")                     # GetEID (SGP.22 §5.7.20)
    assert sw == 0x9000 and data[:5] == h("BF3E125A10")
    term.select_aid(VENDOR_ISD_R[:7])                          # partial selection (RID + PIX start)
    assert es10(term, "BF3E035C015A")[1] == 0x9000
    assert term.ok("80F2000100") == h("8410") + VENDOR_ISD_R   # STATUS: the selected application
    # GET STATUS of the ISD (GP Card Spec §11.4, P1 '80', P2 '02'): its AID is the presented one
    registry = term.ok("80F28002024F0000")
    assert single(single(registry, 0xE3)[:18], 0x4F) == VENDOR_ISD_R and ISD_R not in registry


# DisableProfile (SGP.22 §5.7.17) of the new card's enabled ISD-P, refreshFlag FALSE: then the
# terminal sees the eUICC's own MF and EF.DIR (TS 102 221 §13.1: records '61' {'4F' AID, '50' label})
ENABLED_ISDP = "A0000005591010FFFFFFFF8900001000"
DISABLE = "BF32 17 A0 12 4F 10" + ENABLED_ISDP + "81 01 00"


def own_ef_dir(term: Terminal, isd_r: bytes) -> list[bytes]:
    """The AIDs of the eUICC's own EF.DIR, read after disabling the enabled profile."""
    term.select_aid(isd_r)
    assert es10(term, DISABLE) == (h("BF32 03 80 01 00"), 0x9000)
    assert term.send("00 A4 00 0C 02 2F00").sw == 0x9000
    aids, number = [], 1
    while (record := term.send(bytes((0x00, 0xB2, number, 0x04, 40)))).sw == 0x9000:
        if record.data[0] == 0x61:                               # then 'FF' padding
            aids.append(as_dict(record.data[2:2 + record.data[1]])[0x4F])
        number += 1
    assert record.sw == 0x6A83                                  # no further record
    return aids


def test_ef_dir_of_a_new_card_lists_the_profile_aids(tmp_path):
    aids = ("A0000005591010FFFFFFFF8900050500", "A00000015141434C00")
    config = user_config(tmp_path, f'isd_r_aid = "{VENDOR_ISD_R.hex()}"\nef_dir_aids = {list(aids)!r}\n'.replace("'", '"'))
    assert own_ef_dir(terminal(config), VENDOR_ISD_R) == [h(a) for a in aids]


def test_ef_dir_lists_the_vendor_isd_r_aid_by_default(tmp_path):
    term = terminal(user_config(tmp_path, f'isd_r_aid = "{VENDOR_ISD_R.hex()}"\n'))
    assert own_ef_dir(term, VENDOR_ISD_R) == [VENDOR_ISD_R, h("A0000005591010FFFFFFFF8900000200")]
    assert own_ef_dir(terminal(CardConfig()), ISD_R) == [ISD_R, h("A0000005591010FFFFFFFF8900000200")]


def test_default_card_still_answers_at_the_standard_aid():
    term = terminal(CardConfig())
    assert fci(term, ISD_R)[0x84] == ISD_R


def test_le_policy_6cxx(tmp_path):
    """STATUS (TS 102 221 §11.1.2), a case 2 of fixed length: a wrong Le gets '6Cxx'."""
    term = terminal(user_config(tmp_path, 'le_policy = "6Cxx"\n'))
    fcp = term.send("80F2000000")                              # follows the 6Cxx
    n = len(fcp.data)
    assert fcp.sw == 0x9000 and 4 < n < 256
    assert term.raw("80F2000004") == Response(b"", 0x6C00 | n)
    assert term.raw("80F2000000") == Response(b"", 0x6C00 | n)   # Le '00' (256) too
    assert term.raw(bytes((0x80, 0xF2, 0x00, 0x00, n))).data == fcp.data
    assert term.raw("00A40004023F00").sw == 0x6100 | n         # a case 4: 61xx
    assert term.raw("00C00000FF").sw == 0x6C00 | n             # GET RESPONSE with a long Le: 6Cxx


def test_le_policy_direct(tmp_path):
    """'direct': Le bytes and '61xx' for the rest, or all the data when Le is longer."""
    term = terminal(user_config(tmp_path, 'le_policy = "direct"\n'))
    full = term.raw("80F2000000")                              # Le 256 > the FCP: all of it
    n = len(full.data)
    assert full.sw == 0x9000 and 4 < n < 256 and full.data[0] == 0x62
    short = term.raw("80F2000004")
    assert (short.data, short.sw) == (full.data[:4], 0x6100 | (n - 4))
    tail = term.raw(bytes((0x00, 0xC0, 0x00, 0x00, n - 4)))
    assert (tail.data, tail.sw) == (full.data[4:], 0x9000)
    assert term.raw("00A40004023F00").sw == 0x6100 | n         # a case 4 on T=0: still 61xx
    got = term.raw("00C00000FF")                               # GET RESPONSE with a long Le
    assert (got.data, got.sw) == (full.data, 0x9000)


def test_store_data_block_limit(tmp_path):
    term = terminal(user_config(tmp_path, "max_store_data_block = 120\n"))
    term.select_aid(ISD_R)
    request = h("BF3E035C015A")
    over = request + bytes(121 - len(request))
    assert term.raw(bytes((0x80, 0xE2, 0x11, 0x00, 121)) + over).sw == 0x6700
    at = request + bytes(120 - len(request))                   # at the limit: taken (not last)
    assert term.raw(bytes((0x80, 0xE2, 0x11, 0x00, 120)) + at).sw == 0x9000
    assert es10(term, "BF3E035C015A")[1] == 0x9000


def test_default_card_takes_long_blocks():
    term = terminal(CardConfig())
    term.select_aid(ISD_R)
    assert term.raw(bytes((0x80, 0xE2, 0x11, 0x00, 0xFF)) + bytes(255)).sw == 0x9000


def test_channel_count(tmp_path):
    term = terminal(user_config(tmp_path, "channels = 4\n"))
    assert [term.ok("0070000001") for _ in range(3)] == [b"\x01", b"\x02", b"\x03"]
    assert term.raw("0070000001").sw == 0x6A81                 # no free channel
    term.ok("0070800300")
    assert term.raw("0070000400").sw == 0x6881                 # beyond the card's channels
    assert term.raw("0070000300").sw == 0x9000
    assert term.raw("40A40004023F00").sw == 0x6881             # CLA '40': channel 4 (ISO 7816-4 §5.4.1)


def test_disabled_features(tmp_path):
    term = terminal(user_config(tmp_path, 'disabled_features = ["get_rat", "scp03", "euicc_memory_reset"]\n'))
    term.select_aid(ISD_R)
    assert es10(term, "BF4300") == (b"", 0x6A88)               # GetRAT: like an unknown ES10 tag
    assert es10(term, "BF3404820205E0")[1] == 0x6A88             # eUICCMemoryReset (§5.7.19)
    assert term.raw("8050000008" + "00" * 8 + "00").sw == 0x6D00   # INITIALIZE UPDATE: INS unknown
    assert es10(term, "BF3E035C015A")[1] == 0x9000             # the rest answers


def test_features_answer_by_default():
    term = terminal(CardConfig())
    term.select_aid(ISD_R)
    data, sw = es10(term, "BF4300")
    assert sw == 0x9000 and data[:2] == h("BF43")
    assert term.raw("8050000008" + "00" * 8 + "00").sw >> 8 in (0x61, 0x90)
