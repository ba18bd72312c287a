"""SAIP installer (TCA SAIP v3.3.1 §8): TS.48 packages install and read back through
Card.transmit; refusals leave the store unchanged; enable/disable switch what SELECT reaches;
AUTHENTICATE against osmo-auc-gen; GET IDENTITY against TS 33.501 Annex C.4 keys."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from euicc.card import Card
from euicc.composition import open_card
from euicc.profiles.installer import InstallError, install_profile
from euicc.profiles.manager import fsid_of
from euicc.profiles.model import ProfileRecord
from euicc.profiles.saip_codec import decode_upp, encode_upp
from tests.profiles.conftest import decode_package
from tests.vectors import TS48_PACKAGES, TS48_V7, ts48_package
from tools.profile_builder.builder import ProfileParameters, build_upp

TS48_K = bytes(range(16))


def tx(card: Card, apdu: str) -> bytes:
    resp = card.transmit(bytes.fromhex(apdu.replace(" ", "")))
    if resp[-2] == 0x6C:
        resp = card.transmit(bytes.fromhex(apdu.replace(" ", ""))[:-1] + resp[-1:])
    if resp[-2] == 0x61:
        resp = card.transmit(bytes.fromhex("00C00000") + resp[-1:])
    return resp


def install(card: Card, upp: bytes) -> bytes:
    profiles = card.services.profiles
    with card.store.transaction():
        aid = profiles.create_isdp()
        done = install_profile(card.store, fsid_of(aid), upp)
        profiles.add_profile(ProfileRecord(isdp_aid=aid, iccid=done.iccid, fsid=fsid_of(aid)))
    return aid


def enable(card: Card, aid: bytes) -> None:
    with card.store.transaction():
        card.services.profiles.enable(aid)
    card.reset()


def read_ef(card: Card, path: str, length: int) -> bytes:
    assert tx(card, "00A4080C" + f"{len(path) // 2:02X}" + path)[-2:] == b"\x90\x00"
    resp = tx(card, f"00B00000{length:02X}")
    assert resp[-2:] == b"\x90\x00", resp.hex()
    return resp[:-2]


def file_content(value: dict, field: str) -> bytes:
    """The fillFileContent of a PE file with no offsets (EF.ICCID, EF.IMSI, ...)."""
    return b"".join(v for choice, v in value[field] if choice == "fillFileContent")


@pytest.mark.parametrize("rel", TS48_PACKAGES, ids=lambda rel: rel.rsplit("/", 1)[-1])
def test_ts48_package_installs_and_reads_back(rel, reference_saip):
    data = ts48_package(rel).read_bytes()
    pes = dict(reversed(decode_package(reference_saip, data)))   # first PE of each name
    card = open_card(None)
    enable(card, install(card, data))
    iccid = file_content(pes["mf"], "ef-iccid")
    assert read_ef(card, "2FE2", 10) == iccid
    assert iccid == bytes(((b & 0x0F) << 4) | (b >> 4) for b in pes["header"]["iccid"])
    assert tx(card, "00A4040C07A0000000871002")[-2:] == b"\x90\x00"
    imsi = file_content(pes["usim"], "ef-imsi")
    ust = file_content(pes["usim"], "ef-ust")
    for fid, expected in (("6F07", imsi), ("6F38", ust)):
        assert tx(card, "00A4000C02" + fid)[-2:] == b"\x90\x00"
        assert tx(card, f"00B00000{len(expected):02X}")[:-2] == expected
    ad = pes["usim"].get("ef-ad")
    expected_ad = file_content(pes["usim"], "ef-ad") if ad else bytes.fromhex("00000002")
    assert tx(card, "00A4000C026FAD")[-2:] == b"\x90\x00"
    assert tx(card, f"00B00000{len(expected_ad):02X}")[:-2] == expected_ad


def test_template_defaults_fill_unlisted_files():
    """A created-by-default file the USIM PE does not list (EF.KEYS, SAIP Annex A: 33 bytes,
    '07FF...FF', SFI '08') exists with the template's defaults; doNotCreate suppresses one."""
    pes = []
    for e in decode_upp(TS48_V7.read_bytes()):
        value = e.value
        if e.name == "usim":
            value = {k: v for k, v in value.items() if k != "ef-keys"}
            value["ef-keysPS"] = [("doNotCreate", None)]
        pes.append((e.name, value))
    card = open_card(None)
    enable(card, install(card, encode_upp(pes)))
    assert tx(card, "00A4040C07A0000000871002")[-2:] == b"\x90\x00"
    assert tx(card, "00A4000C026F08")[-2:] == b"\x90\x00"
    assert tx(card, "00B0000021")[:-2] == b"\x07" + b"\xff" * 32
    assert tx(card, "00B0880001")[:-2] == b"\x07"              # READ BINARY by SFI '08'
    assert tx(card, "00A4000C026F09")[-2:] == b"\x6a\x82"


def test_ts48_ber_tlv_ef_answers_retrieve_data():
    """EF.URSP ('4F0B' in DF.5GS '5FC0', TS 31.102 §4.4.11.x) of the TS.48 BER-TLV package: a
    BER-TLV structured EF (TS 102 221 §11.1.1.4.3 descriptor '39') with maximumFileSize 1024
    ('86' '0400') and no data objects: RETRIEVE DATA of the tag list '5C' is empty (§11.3.1)."""
    card = open_card(None)
    enable(card, install(card, TS48_V7.read_bytes()))
    assert tx(card, "00A4040C07A0000000871002")[-2:] == b"\x90\x00"
    assert tx(card, "00A4000C025FC0")[-2:] == b"\x90\x00"
    fcp = tx(card, "00A40004024F0B00")
    assert fcp[-2:] == b"\x90\x00" and fcp[2] == 0x82 and fcp[4] & 0x3F == 0x39
    assert bytes.fromhex("A507840101860204 00") in fcp and bytes.fromhex("80020000") in fcp
    assert tx(card, "80CB0080015C00") == bytes.fromhex("5C00 9000")
    assert tx(card, "80CB0080018000")[-2:] == b"\x6a\x88"


def _corrupt_packages() -> list[tuple[str, bytes, int]]:
    data = TS48_V7.read_bytes()
    pes = [(e.name, e.value) for e in decode_upp(data)]
    bad_template = [(n, dict(v, templateID="2.23.143.1.2.99") if n == "usim" else v)
                    for n, v in pes]
    no_mf = [(n, v) for n, v in pes if n != "mf"]
    bad_pin = [(n, v) for n, v in pes if n != "pukCodes"]
    header = dict(pes[0][1], iccid=bytes(10))
    bad_iccid = [("header", header)] + pes[1:]
    usim_index = next(i for i, (n, _) in enumerate(pes) if n == "usim")
    return [("unsupported template", encode_upp(bad_template), usim_index),
            ("no MF", encode_upp(no_mf), 3),         # telecom is the first PE needing it
            ("PIN without its PUK", encode_upp(bad_pin), 2),
            ("header ICCID differs", encode_upp(bad_iccid), None),
            ("truncated", data[:-5], len(pes) - 1)]


@pytest.mark.parametrize("label,upp,index", _corrupt_packages(),
                         ids=[c[0] for c in _corrupt_packages()])
def test_refused_package_leaves_card_unchanged(label, upp, index):
    card = open_card(None)
    before = {k: card.store.get(k) for k in card.store.keys("")}
    profiles = card.services.profiles
    with pytest.raises(InstallError) as err:
        with card.store.transaction():
            aid = profiles.create_isdp()
            install_profile(card.store, fsid_of(aid), upp)
    assert err.value.reason == 12
    if index is not None:
        assert err.value.index == index
    assert err.value.sima_response.startswith(b"\x30")
    assert {k: card.store.get(k) for k in card.store.keys("")} == before


def test_refusal_writes_nothing_even_if_caller_commits():
    """A caller that catches the error and commits its transaction commits no profile files."""
    card = open_card(None)
    with card.store.transaction():
        try:
            install_profile(card.store, "isdp-X", b"\x30\x03\x02\x01\x00")
        except InstallError as exc:
            assert exc.status == 5
    assert card.store.keys("fs/isdp-X/") == []


def _milenage_upp(**kw) -> bytes:
    return build_upp(ProfileParameters(iccid="8900100000000000123", imsi="001010000000123",
                                       **kw))


def test_enable_disable_switches_what_select_reaches():
    card = open_card(None)
    aid = install(card, _milenage_upp(k=TS48_K, opc=bytes(16), usim_aid=bytes.fromhex(
        "A0000000871002FF33FF0189")))
    assert tx(card, "00A4040C0CA0000000871002FF33FF0189")[-2:] == b"\x6a\x82"
    enable(card, aid)
    assert tx(card, "00A4040C0CA0000000871002FF33FF0189")[-2:] == b"\x90\x00"
    assert tx(card, "00A4040C10A0000005591010FFFFFFFF8900000100")[-2:] == b"\x90\x00"   # ISD-R
    with card.store.transaction():
        card.services.profiles.disable(aid)
    card.reset()
    assert tx(card, "00A4040C0CA0000000871002FF33FF0189")[-2:] == b"\x6a\x82"
    assert tx(card, "00A4040C10A0000005591010FFFFFFFF8900000200")[-2:] == b"\x90\x00"  # ECASD


def _auc_gen(*args: str) -> dict[str, str]:
    path = shutil.which("osmo-auc-gen") or "/usr/bin/osmo-auc-gen"
    if not shutil.os.path.exists(path):
        pytest.fail("osmo-auc-gen not found: install Debian package libosmocore-utils")
    out = subprocess.run([path, *args], capture_output=True, text=True, check=True).stdout
    return {n.strip(): v.strip() for n, _, v in (l.partition(":\t") for l in out.splitlines()) if v}


def _authenticate(card: Card, rand: bytes, autn: bytes) -> bytes:
    resp = tx(card, "00880081" + f"{34:02X}" + "10" + rand.hex() + "10" + autn.hex())
    assert resp[-2:] == b"\x90\x00", resp.hex()
    return resp[:-2]


def test_authenticate_ts48_xor_against_osmo_auc_gen():
    card = open_card(None)
    enable(card, install(card, TS48_V7.read_bytes()))
    rand = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
    # osmo-auc-gen's XOR path lowers -s by 32 (see tests/auth): -s 64 gives SQN 32 (SEQ 1)
    ref = _auc_gen("-3", "-a", "xor", "-k", TS48_K.hex(), "-o", "00" * 16, "-f", "8000",
                   "-s", "64", "-r", rand.hex())
    assert tx(card, "00A4040C07A0000000871002")[-2:] == b"\x90\x00"
    resp = _authenticate(card, rand, bytes.fromhex(ref["AUTN"]))
    res, ck, ik = bytes.fromhex(ref["RES"]), bytes.fromhex(ref["CK"]), bytes.fromhex(ref["IK"])
    assert resp.startswith(b"\xdb" + bytes([len(res)]) + res + b"\x10" + ck + b"\x10" + ik)


def test_authenticate_milenage_profile_against_osmo_auc_gen():
    k = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
    opc = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
    card = open_card(None)
    enable(card, install(card, _milenage_upp(k=k, opc=opc)))
    rand = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
    ref = _auc_gen("-3", "-a", "milenage", "-k", k.hex(), "-o", opc.hex(), "-s", "33",
                   "-r", rand.hex())
    assert tx(card, "00A4040C07A0000000871002")[-2:] == b"\x90\x00"
    resp = _authenticate(card, rand, bytes.fromhex(ref["AUTN"]))
    assert resp == (b"\xdb\x08" + bytes.fromhex(ref["RES"]) + b"\x10" + bytes.fromhex(ref["CK"])
                    + b"\x10" + bytes.fromhex(ref["IK"]) + b"\x08" + bytes.fromhex(ref["Kc"]))


# TS 33.501 Annex C.4.3 Profile A home network key pair
A_HN_PRIV = bytes.fromhex("c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d")
A_HN_PUB = bytes.fromhex("5a8d38864820197c3394b92613b20b91633cbd897119273bf8e4a6f4eec0a650")


def _suci_upp() -> bytes:
    """A builder profile whose USIM computes SUCI: UST 124+125, DF.5GS/DF.SAIP added by hand."""
    elements = [(e.name, e.value) for e in decode_upp(_milenage_upp(k=TS48_K, opc=bytes(16)))]
    out = []
    for name, value in elements:
        if name == "usim":
            ust = bytearray(17)
            for n in (124, 125):
                ust[(n - 1) // 8] |= 1 << ((n - 1) % 8)
            value = dict(value, **{"ef-ust": [c for c in value["ef-ust"] if c[0] != "fillFileContent"]
                                   + [("fillFileContent", bytes(ust))]})
        out.append((name, value))
        if name == "opt-usim":
            info = (b"\xa0\x02\x01\x01" + b"\xa1" + bytes([3 + 2 + 32]) + b"\x80\x01\x27"
                    + b"\x81\x20" + A_HN_PUB)
            out.append(("df-5gs", {"df-5gs-header": {"identification": 90},
                                   "templateID": "2.23.143.1.2.13",
                                   "df-df-5gs": [("fileDescriptor", {"pinStatusTemplateDO": b"\x01"})],
                                   "ef-routing-indicator": [("fillFileContent", b"\x21\xf3")]}))
            out.append(("df-saip", {"df-saip-header": {"identification": 91},
                                    "templateID": "2.23.143.1.2.14",
                                    "df-df-saip": [("fileDescriptor", {"pinStatusTemplateDO": b"\x01"})],
                                    "ef-suci-calc-info-usim": [
                                        ("fileDescriptor", {"efFileSize": bytes([len(info)])}),
                                        ("fillFileContent", info)]}))
    return encode_upp(out)


def _deconceal_profile_a(output: bytes) -> bytes:
    """Home network side of TS 33.501 Annex C.3.3 (Profile A), written from the spec."""
    eph, cipher, tag = output[:32], output[32:-8], output[-8:]
    shared = x25519.X25519PrivateKey.from_private_bytes(A_HN_PRIV).exchange(
        x25519.X25519PublicKey.from_public_bytes(eph))
    keys = X963KDF(hashes.SHA256(), 64, eph).derive(shared)
    mac = hmac.HMAC(keys[32:], hashes.SHA256())
    mac.update(cipher)
    assert mac.finalize()[:8] == tag
    return Cipher(algorithms.AES(keys[:16]), modes.CTR(keys[16:32])).decryptor().update(cipher)


def test_get_identity_suci_profile_a():
    card = open_card(None)
    enable(card, install(card, _suci_upp()))
    assert tx(card, "00A4040C07A0000000871002")[-2:] == b"\x90\x00"
    resp = tx(card, "8078000100")
    assert resp[-2:] == b"\x90\x00", resp.hex()
    assert resp[0] == 0xA1 and resp[1] == len(resp) - 4
    suci = resp[2:-2]
    # TS 24.501 §9.11.3.4 from octet 4: SUCI/IMSI, MCC 001 MNC 01, routing indicator 123,
    # Profile A, key id 0x27, then the scheme output
    assert suci[:8] == bytes.fromhex("01" "00F110" "21F3" "01" "27")
    assert _deconceal_profile_a(suci[8:]) == bytes.fromhex("0000001032")   # MSIN 0000000123


def test_get_identity_refused_without_services():
    card = open_card(None)
    enable(card, install(card, _milenage_upp(k=TS48_K, opc=bytes(16))))
    assert tx(card, "00A4040C07A0000000871002")[-2:] == b"\x90\x00"
    assert tx(card, "8078000100")[-2:] == b"\x69\x85"
    assert tx(card, "8078000200")[-2:] == b"\x6a\x86"
