"""Host builders of the SM-SR / SM-DP against the byte examples of SPEC_NOTES §2 (public SM-SR
implementations NJIWA-B / WHTY) and against independent library implementations."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from Crypto.Cipher import AES
from Crypto.Hash import CMAC

from tools.smsr import es5
from tools.smsr.gp_certificate import CertificateError, build_certificate, parse_certificate, verify_raw
from tools.smsr.key_establishment import KeyEstablishment, KeyEstablishmentError, crt, x963_kdf
from tools.smsr.settings import DEFAULT, M2mSettings, aid_for_tar, tar_of

ISDP = bytes.fromhex("A0000005591010FFFFFFFF8900001300")


def test_create_isdp_matches_public_vector():
    # SPEC_NOTES §2.3 CreateISDP vector (WHTY; NJIWA-B appends Le '00')
    vector = ("80E60C003F10A0000005591010FFFFFFFF8900000D0010A0000005591010FFFFFFFF8900000E00"
              "10A0000005591010FFFFFFFF89000013000380C00006C9048102037000")
    assert es5.create_isdp(ISDP, s=M2mSettings(append_le=False)).hex().upper() == vector
    assert es5.create_isdp(ISDP).hex().upper() == vector + "00"


def test_create_isdp_with_quota():
    # install parameters 'C9 04 81 02 03 70' followed by the 'EF 04 83 02 <quota>' system parameters
    apdu = es5.create_isdp(ISDP, nvm_quota=0x1234, s=M2mSettings(append_le=False))
    assert apdu[4] == 0x3F + 6 and apdu.endswith(bytes.fromhex("0CC904810203 70 EF04 83021234 00".replace(" ", "")))


@pytest.mark.parametrize("build, dgi", [(es5.enable_profile, "3A03"), (es5.disable_profile, "3A04"),
                                        (es5.set_fallback_attribute, "3A05"),
                                        (es5.set_emergency_profile_attribute, "3A09")])
def test_profile_store_data(build, dgi):
    # SPEC_NOTES §2.3: '80 E2 88 00 Lc' DGI {'4F' AID} [Le]
    assert build(ISDP).hex().upper() == f"80E2880015{dgi}124F10{ISDP.hex().upper()}00"


def test_emergency_dgi_agrees_with_the_card_default():
    # SPEC_NOTES §8 item 2: no public coding; one documented default on both sides ('3A06' stays free)
    from euicc.m2m.settings import M2mSettings as CardSettings
    assert M2mSettings().emergency_dgi == CardSettings().dgi_emergency == 0x3A09


def test_delete_profile():
    assert es5.delete_profile(ISDP).hex().upper() == "80E40040124F10" + ISDP.hex().upper() + "00"


def test_confirmation_literal():
    # WHTY literal '80 E2 89 00 07 3A 08 04 4E 02 <seq> 00'
    assert es5.confirm_notification(0x0102).hex().upper() == "80E28900073A08044E02010200"


def test_finalise_handover_literal():
    # WHTY FinaliseIsdrHandoverApdu data 'F2 03 01 01 03 F2 03 41 01 02'
    apdu = es5.finalise_isdr_handover([(0x01, 0x01, 0x03), (0x41, 0x01, 0x02)], M2mSettings(append_le=False))
    assert apdu.hex().upper() == "80E400000AF203010103F203410102"


def test_audit_apdus():
    assert es5.get_data_ecasd_certificate().hex().upper() == "80CABF30045C027F2100"
    assert es5.get_status(ISDP).hex().upper() == "80F2400212" + "4F10" + ISDP.hex().upper() + "00"
    assert es5.get_status(next_occurrence=True).hex().upper() == "80F24003024F0000"   # GP §11.4.2.1 P2 b1


def test_smsr_addressing_literal():
    # WHTY layout '3A07' {'A3' {'81' {digit count, 85, swapped digits}}}
    apdu = es5.update_smsr_addressing("12345", M2mSettings(append_le=False))
    assert apdu.hex().upper() == "80E288000C" "3A0709" "A307" "8105" "05852143F5"


def test_master_delete_token_is_gp_cmac():
    key = bytes(range(16))
    ident = es5.MasterDeleteData(b"\x01", b"\x02", b"\x03", b"\x04")
    apdu = es5.master_delete(ISDP, ident, key, M2mSettings(append_le=False))
    body = bytes.fromhex("4F10") + ISDP + bytes.fromhex("B60D 420101 450102 5F200103 930104".replace(" ", ""))
    token = CMAC.new(key, msg=bytes([0x00, 0x40, len(body)]) + body, ciphermod=AES).digest()
    assert apdu == bytes([0x80, 0xE4, 0x00, 0x40, len(body) + 18]) + body + b"\x9E\x10" + token


def test_annex_h_aid_and_tar():
    assert DEFAULT.isdr_aid().hex().upper() == "A0000005591010FFFFFFFF8900000100"
    assert tar_of(ISDP) == bytes.fromhex("000013") and aid_for_tar(bytes.fromhex("000013")) == ISDP
    with pytest.raises(ValueError):
        tar_of(bytes(16))


def test_crt_vectors():
    # SPEC_NOTES §2.4 public CRT vectors (WHTY): ISD-P SCP03 KVN 30 and ISD-R SCP80 KVN 02
    assert crt(DEFAULT, 0x30).hex().upper() == "A615900203099501108001888101108201018301309100"
    assert crt(DEFAULT, 0x02).hex().upper() == "A615900203099501108001888101108201018301029100"


def test_x963_kdf_matches_library():
    shared, info = bytes(range(32)), bytes.fromhex("108810")
    expected = X963KDF(hashes.SHA256(), 64, info).derive(shared)
    assert x963_kdf(shared, info, 64) == expected


def test_parse_get_status():
    data = bytes.fromhex("E3194F10") + ISDP + bytes.fromhex("9F70011F530101") + \
        bytes.fromhex("E3164F10") + aid_for_tar(b"\x00\x00\x10") + bytes.fromhex("9F70013F")
    first, second = es5.parse_get_status(data)
    assert (first.state, first.fallback, second.state, second.fallback) == ("DISABLED", True, "ENABLED", False)
    with pytest.raises(es5.Es5FormatError):
        es5.parse_get_status(bytes.fromhex("E1024F00"))
    with pytest.raises(es5.Es5FormatError):
        es5.parse_get_status(bytes.fromhex("E305"))


def test_confirmation_response_and_certificate_lookup():
    assert es5.parse_confirmation_response(bytes.fromhex("8012 4F10") + ISDP) == [ISDP]
    assert es5.parse_confirmation_response(bytes.fromhex("8000")) == []
    with pytest.raises(es5.Es5FormatError):
        es5.parse_confirmation_response(bytes.fromhex("8105"))
    cert = bytes.fromhex("7F2103930101")
    assert es5.find_certificate(bytes.fromhex("BF3006") + cert) == cert
    assert es5.find_certificate(cert) == cert
    with pytest.raises(es5.Es5FormatError):
        es5.find_certificate(bytes.fromhex("5A00"))


# -- GP certificates and key establishment --------------------------------------------------------
def _ci():
    return ec.generate_private_key(ec.SECP256R1())


def test_certificate_round_trip_and_tamper():
    ci, subject = _ci(), _ci()
    der = build_certificate(ci, subject.public_key(), serial=b"\x01", ca_id=b"CI", subject_id=b"SR", role=0x02)
    cert = parse_certificate(der)
    cert.verify(ci.public_key())
    assert cert.role == 0x02 and cert.public_key().public_numbers() == subject.public_key().public_numbers()
    assert der[:3] == b"\x7F\x21\x81" and cert.signed == der[4:4 + len(cert.signed)] and cert.fields[0x95] == b"\x88"
    tampered = bytearray(der)
    tampered[8] ^= 1
    with pytest.raises(CertificateError):
        parse_certificate(bytes(tampered)).verify(ci.public_key())
    with pytest.raises(CertificateError):
        parse_certificate(b"\x7F\x21\x05\x93")


class IndependentEcasd:
    """The card's computation of SPEC_NOTES §2.4 step 4 from the library primitives (test oracle)."""

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.rc = bytes(range(16))

    def receipt(self, store_keys_apdu: bytes) -> tuple[bytes, bytes]:
        data = store_keys_apdu[5:-1]
        assert data[:2] == b"\x3A\x02"
        crt_tlv = data[3:3 + data[2]]
        rest = data[3 + data[2]:]
        assert rest[:2] == b"\x7F\x49"
        epk = rest[3:3 + rest[2]]
        point = epk[2:2 + epk[1]] if epk[0] == 0xB0 else epk
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        signed = data[:3 + data[2]] + rest[:3 + rest[2]] + b"\x00\x85\x10" + self.rc
        sig = rest[3 + rest[2]:]
        assert sig[:3] == b"\x5F\x37\x40"
        shared = self.key.exchange(ec.ECDH(), peer)
        key_data = X963KDF(hashes.SHA256(), 64, bytes.fromhex("108810")).derive(shared)
        receipt = CMAC.new(key_data[:16], msg=crt_tlv, ciphermod=AES).digest()
        return signed, sig[3:], key_data, b"\x86\x10" + receipt


def test_key_establishment_against_independent_card():
    ci, smdp = _ci(), _ci()
    card = IndependentEcasd()
    cert = build_certificate(ci, smdp.public_key(), serial=b"\x01", ca_id=b"CI", subject_id=b"DP", role=0x01)
    ke = KeyEstablishment(smdp, cert, card.key.public_key(), 0x30)
    first = ke.store_certificate()
    assert first[:4] == bytes.fromhex("80E20900") and first[5:7] == b"\x3A\x01" and first[8:] == cert + b"\x00"
    with pytest.raises(KeyEstablishmentError):
        ke.store_keys()
    ke.process_challenge(b"\x85\x10" + card.rc)
    second = ke.store_keys()
    assert second[:4] == bytes.fromhex("80E28901")
    signed, signature, key_data, receipt = card.receipt(second)
    assert verify_raw(smdp.public_key(), signed, signature)
    keys = ke.process_receipt(receipt)
    assert keys.keys == (key_data[16:32], key_data[32:48], key_data[48:64]) and keys.kvn == 0x30
    with pytest.raises(KeyEstablishmentError):
        ke.process_receipt(b"\x86\x10" + bytes(16))
    with pytest.raises(KeyEstablishmentError):
        ke.process_receipt(b"\x86\x05")
    with pytest.raises(KeyEstablishmentError):
        ke.process_challenge(b"\x84\x00")


def test_install_for_personalization():
    assert KeyEstablishment.install_for_personalization(ISDP).hex().upper() == \
        "80E6200016000010" + ISDP.hex().upper() + "000000"
