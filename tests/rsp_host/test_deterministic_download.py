"""Known-answer test of a consumer download with fixed inputs: GetEUICCChallenge ->
AuthenticateServer -> PrepareDownload -> LoadBoundProfilePackage (GSMA SGP.22 v2.5 §3.1.2, §3.1.3,
§5.7.7, §5.7.13, §5.7.5, §5.7.6) on an in-memory card whose RSP runtime (euicc.rsp.runtime) has a
fixed clock, a counting byte source and fixed one-time keys, with the GSMA SGP.26 test eUICC identity.

The SM-DP+ side is built here with the SGP.26 DPauth / DPpb keys, a fixed transactionId,
serverChallenge and otSK.DP.ECKA (tools/smdpp's ES9+ server draws them from os.urandom, so its BPP
builder ``tools.smdpp.bpp`` is used with the fixed key instead).  Requests are encoded and answers
decoded with asn1tools from the published SGP.22 module (the repository copy of the reference data's
``asn1/sgp22``, tests/vectors/SOURCES.md; not the card's copy),
signatures are checked with ``cryptography`` against PK.EUICC.ECDSA of the SGP.26 CERT.EUICC file,
and the BSP session keys are derived here from the fixed scalars (ECDH + X9.63 KDF, SGP.22 §2.6.4 /
Annex G) and used to unwrap every protected segment the card accepted.

ECDSA signatures are randomized, so they are verified; everything else the card answers is the same
in two runs and is pinned below as hex constants (computed from the fixed inputs and reviewed:
the challenge is the first 16 bytes of the source, otPK is the point of the fixed scalar).
"""
from __future__ import annotations

from dataclasses import dataclass

import asn1tools
import pytest
from Crypto.PublicKey import ECC
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import cmac, hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from euicc.composition import open_card
from euicc.config import CardConfig
from euicc.rsp.euicc_info import SVN, EuiccInfoSettings
from euicc.rsp.identity import import_identity
from euicc.rsp.runtime import RspRuntime
from tests.rsp.helpers import CI_PKID, header_end, sign, split, swap, tlv
from tests.rsp_host.conftest import SGP26, SGP26_EID, TS48, TS48_ICCID
from tests.vectors import ASN1 as ASN1_MODULES
from tools.lpa.es10 import Es10Client
from tools.lpa.transport import Es10Transport
from tools.smdpp import bpp
from tools.smdpp.es9plus import DEFAULT_HOST_ID
from tools.smdpp.orders import iccid_ef_coding

ASN1 = ASN1_MODULES / "sgp22"

# -- the fixed inputs ------------------------------------------------------------------------------
FIXED_TIME = 1767225600.0                      # 2026-01-01T00:00:00Z, inside every SGP.26 validity
OTSK_EUICC = int("0123456789ABCDEF" * 4, 16)   # otSK.EUICC.ECKA (also the first-run SK.EUICC, replaced)
OTSK_DP = int("FEDCBA9876543210" * 4, 16)      # otSK.DP.ECKA; both below the P-256 and BP256r1 orders
TRANSACTION_ID = b"KAT-TRANSACTION1"
SERVER_CHALLENGE = b"KAT-SERVER-CHAL1"
SERVER_ADDRESS = "testsmdpplus1.example.com"
MATCHING_ID = "KAT-MATCHING-ID"
TAC = bytes.fromhex("35290611")
HOST_ID = DEFAULT_HOST_ID
EID = bytes.fromhex(SGP26_EID)

# -- the known answers (first run's bytes, reviewed against the inputs above) ------------------------
#: BF2E { 80 euiccChallenge }: the counting source's first 16 bytes (SGP.22 §5.7.7).
CHALLENGE_RESPONSE = "BF2E128010000102030405060708090A0B0C0D0E0F"
#: 04 || X || Y of OTSK_EUICC * G on P-256 (cross-checked in test_otpk_is_the_fixed_scalars_point).
EUICC_OTPK = (
    "04D8CD12EA5C67F2F8A00C1124893EDCFA6754C4D6CEDE6BE13BDF2295C810A9"
    "7FA5A89D2D2A360C0CA9A4D6C7C9ED4B28D3E199D6627F2E696D689C310A5B0F"
    "48")
#: EUICCSigned2 = 30 { 80 transactionId, 5F49 otPK.EUICC.ECKA } (SGP.22 §5.7.5, no hashCc).
EUICC_SIGNED2 = (
    "305680104B41542D5452414E53414354494F4E315F494104D8CD12EA5C67F2F8"
    "A00C1124893EDCFA6754C4D6CEDE6BE13BDF2295C810A97FA5A89D2D2A360C0C"
    "A9A4D6C7C9ED4B28D3E199D6627F2E696D689C310A5B0F48")
#: initial MCV || S-ENC || S-MAC of X9.63-KDF(ECDH(OTSK_DP, otPK.EUICC), sharedInfo) (Annex G).
SESSION_KEYS = (
    "EF46FC8C5721783C91834935B18EBD5B06C7BDAADA2CF5F4A239C3834374EB1B"
    "E053286C4BB295DB3F1CC19A92AAA678")
#: ProfileInstallationResultData BF27 of the first download on a fresh card (SGP.22 §5.7.6):
#: 80 transactionId; BF2F { 80 seqNumber 1, 81 notificationInstall (bit 0), 0C serverAddress,
#: 5A ICCID 89000123456789012341 (EF.ICCID coding) }; 06 smdpOid 2.999.10 (SGP.26 DPpb);
#: A2 { A0 successResult { 4F ISD-P A0000005591010FFFFFFFF8900001100, 04 simaResponse =
#: EUICCResponse { peStatus { status ok(0) } } (TCA SAIP v3.3.1 §8.4) } }.
PIR_DATA = (
    "BF276980104B41542D5452414E53414354494F4E31BF2F2E800101810207800C"
    "1974657374736D6470706C7573312E6578616D706C652E636F6D5A0A98001032"
    "547698103214060388370AA21FA01D4F10A0000005591010FFFFFFFF89000011"
    "0004093007A0053003800100")


class CountingSource:
    """The card's "random" bytes: 00 01 02 .. FF 00 01 .., each call continuing the stream."""

    def __init__(self) -> None:
        self.position = 0

    def __call__(self, n: int) -> bytes:
        out = bytes((self.position + i) % 256 for i in range(n))
        self.position += n
        return out


def fixed_key(curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(OTSK_EUICC, curve)


def point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def load_pem(path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def verifies(cert_der: bytes, data: bytes, rs: bytes) -> bool:
    """ECDSA-SHA256 r||s (SGP.22 §2.6.5) against the certificate's public key."""
    sig = encode_dss_signature(int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big"))
    try:
        x509.load_der_x509_certificate(cert_der).public_key().verify(sig, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


@dataclass
class Exchange:
    """What the card answered in one run (raw bytes) and what the SM-DP+ sent."""

    challenge_response: bytes
    euicc_info2: bytes
    authenticate_server: bytes
    prepare_download_request: bytes
    prepare_download: bytes
    bpp: bytes
    pir: bytes


def download(sgp22) -> Exchange:
    """One run on a fresh card: every input fixed, the SM-DP+ messages built with SGP.26 keys."""
    runtime = RspRuntime(clock=lambda: FIXED_TIME, random=CountingSource(), generate_key=fixed_key)
    # an SGP.22 v2.5 card (highest SVN 2.5.0): the transcript is the v2.5 one, EUICCInfo2 the same
    # in GetEUICCInfo2 and in euiccSigned1 (a v3 card answers GetEUICCInfo2 in the v3 form)
    config = CardConfig(euicc_info=EuiccInfoSettings(highest_svn=SVN))
    card = open_card(None, config, extensions=["rsp"], rsp=runtime)
    try:
        import_identity(card.store, SGP26)
        transport = Es10Transport(card.transmit)
        transport.open()
        challenge_response = transport.store_data(sgp22.encode("GetEuiccChallengeRequest", {}))
        challenge = sgp22.decode("GetEuiccChallengeResponse", challenge_response)["euiccChallenge"]
        info2 = transport.store_data(sgp22.encode("GetEuiccInfo2Request", {}))

        auth_cert = (SGP26 / "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der").read_bytes()
        signed1 = {"transactionId": TRANSACTION_ID, "euiccChallenge": challenge,
                   "serverAddress": SERVER_ADDRESS, "serverChallenge": SERVER_CHALLENGE}
        auth_key = load_pem(SGP26 / "DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem")
        authenticate = transport.store_data(sgp22.encode("AuthenticateServerRequest", {
            "serverSigned1": signed1,
            "serverSignature1": sign(auth_key, sgp22.encode("ServerSigned1", signed1)),
            "euiccCiPKIdToBeUsed": CI_PKID["NIST"],
            "serverCertificate": sgp22.decode("Certificate", auth_cert),
            "ctxParams1": ("ctxParamsForCommonAuthentication", {
                "matchingId": MATCHING_ID, "deviceInfo": {"tac": TAC, "deviceCapabilities": {}}})}))
        euicc_signature1 = sgp22.decode("AuthenticateServerResponse", authenticate)[1]["euiccSignature1"]

        pb_cert = (SGP26 / "DPpb/CERT_S_SM_DPpb_ECDSA_NIST.der").read_bytes()
        pb_key = load_pem(SGP26 / "DPpb/SK_S_SM_DPpb_ECDSA_NIST.pem")
        signed2 = {"transactionId": TRANSACTION_ID, "ccRequiredFlag": False}
        signature2 = sign(pb_key, sgp22.encode("SmdpSigned2", signed2) + tlv(b"\x5f\x37", euicc_signature1))
        prepare_request = sgp22.encode("PrepareDownloadRequest", {
            "smdpSigned2": signed2, "smdpSignature2": signature2,
            "smdpCertificate": sgp22.decode("Certificate", pb_cert)})
        prepare = transport.store_data(prepare_request)
        otpk = sgp22.decode("PrepareDownloadResponse", prepare)[1]["euiccSigned2"]["euiccOtpk"]

        otsk_dp = ec.derive_private_key(OTSK_DP, ec.SECP256R1())
        init_sc = bpp.initialise_secure_channel(TRANSACTION_ID, HOST_ID, point(otsk_dp), otpk, pb_key)
        metadata = bpp.ProfileMetadata(iccid_ef_coding(TS48_ICCID), "GSMA Test", "TS.48 test profile")
        package = bpp.bound_profile_package(init_sc, bpp.session_keys(otsk_dp, otpk, HOST_ID, EID),
                                            bpp.configure_isdp(None), metadata.encode(), TS48.read_bytes())
        pir = Es10Client(transport).load_bound_profile_package(package)
        return Exchange(challenge_response, info2, authenticate, prepare_request, prepare, package, pir)
    finally:
        card.close()


@pytest.fixture(scope="module")
def sgp22():
    files = [ASN1 / "RSPDefinitions.asn", ASN1 / "PKIX1Explicit88.asn", ASN1 / "PKIX1Implicit88.asn"]
    missing = [str(f) for f in (*files, TS48) if not f.is_file()]
    if missing:
        pytest.fail(f"the repository's copies of the SGP.22 ASN.1 modules / TS.48 package are missing: {missing}")
    return asn1tools.compile_files([str(f) for f in files], "der")


@pytest.fixture(scope="module")
def runs(sgp22) -> tuple[Exchange, Exchange]:
    return download(sgp22), download(sgp22)


@pytest.fixture(scope="module")
def euicc_cert() -> bytes:
    return (SGP26 / "eUICC/CERT_EUICC_ECDSA_NIST.der").read_bytes()


def test_challenge_is_the_first_bytes_of_the_source(runs, sgp22):
    """§5.7.7: the 16-byte euiccChallenge is drawn from the runtime's source, first thing."""
    first = runs[0]
    assert sgp22.decode("GetEuiccChallengeResponse", first.challenge_response)["euiccChallenge"] == \
        CountingSource()(16)
    assert first.challenge_response.hex().upper() == CHALLENGE_RESPONSE


def test_euicc_signed1_echoes_the_server_and_signs(runs, sgp22, euicc_cert):
    """§5.7.13: euiccSigned1 = the transactionId, serverAddress, serverChallenge sent, EUICCInfo2
    and ctxParams1; euiccSignature1 over its DER with SK.EUICC.ECDSA of the SGP.26 eUICC."""
    first = runs[0]
    kind, ok = sgp22.decode("AuthenticateServerResponse", first.authenticate_server)
    assert kind == "authenticateResponseOk", ok
    assert ok["euiccSigned1"] == {
        "transactionId": TRANSACTION_ID, "serverAddress": SERVER_ADDRESS, "serverChallenge": SERVER_CHALLENGE,
        "euiccInfo2": sgp22.decode("EUICCInfo2", first.euicc_info2),
        "ctxParams1": ("ctxParamsForCommonAuthentication", {
            "matchingId": MATCHING_ID, "deviceInfo": {"tac": TAC, "deviceCapabilities": {}}})}
    signed1_der = split(split(first.authenticate_server)[0])[0]     # BF38 { A0 { 30 euiccSigned1, .. } }
    assert first.euicc_info2 in signed1_der                         # EUICCInfo2 byte for byte ('BF22')
    assert sgp22.encode("Certificate", ok["euiccCertificate"]) == euicc_cert
    assert sgp22.encode("Certificate", ok["eumCertificate"]) == (SGP26 / "EUM/CERT_EUM_ECDSA_NIST.der").read_bytes()
    assert verifies(euicc_cert, signed1_der, ok["euiccSignature1"])
    assert not verifies(euicc_cert, signed1_der[:-1] + bytes([signed1_der[-1] ^ 1]), ok["euiccSignature1"])


def test_otpk_is_the_fixed_scalars_point(runs, sgp22, euicc_cert):
    """§5.7.5: euiccOtpk = OTSK_EUICC * G (computed here from the scalar); euiccSignature2 over
    DER(euiccSigned2) || the smdpSignature2 TLV it answers."""
    first = runs[0]
    kind, ok = sgp22.decode("PrepareDownloadResponse", first.prepare_download)
    assert kind == "downloadResponseOk", ok
    expected = point(ec.derive_private_key(OTSK_EUICC, ec.SECP256R1()))
    q = ECC.construct(curve="P-256", d=OTSK_EUICC).pointQ           # a second library's scalar product
    assert expected == b"\x04" + int(q.x).to_bytes(32, "big") + int(q.y).to_bytes(32, "big")
    assert ok["euiccSigned2"] == {"transactionId": TRANSACTION_ID, "euiccOtpk": expected}
    assert expected.hex().upper() == EUICC_OTPK
    signed2_der = split(split(first.prepare_download)[0])[0]        # BF21 { A0 { 30 euiccSigned2, 5F37 } }
    assert signed2_der.hex().upper() == EUICC_SIGNED2
    smdp_signature2 = split(first.prepare_download_request)[1]      # BF21 { 30 smdpSigned2, 5F37, .. }
    assert smdp_signature2[:3] == b"\x5f\x37\x40"
    assert verifies(euicc_cert, signed2_der + smdp_signature2, ok["euiccSignature2"])


def session_keys(otsk: int, peer_point: bytes) -> bytes:
    """Annex G: ShS = ECKA (x of otsk * peer), X9.63 KDF SHA-256 with sharedInfo =
    keyType '88' || keyLen '10' || L || hostId || L || EID -> initial MCV || S-ENC || S-MAC."""
    own = ec.derive_private_key(otsk, ec.SECP256R1())
    shared = own.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_point))
    info = b"\x88\x10" + bytes([len(HOST_ID)]) + HOST_ID + bytes([len(EID)]) + EID
    return X963KDF(hashes.SHA256(), 48, info).derive(shared)


def unwrap(keys: bytes, bpp_der: bytes) -> dict[int, bytes]:
    """SCP03t (SGP.22 §2.6.4.4): walk the BPP's 87/88/86 segments in order with one block counter
    and one MAC chain; check each MAC (ValueError), decrypt 87/86; plaintext per tag, concatenated."""
    mcv, s_enc, s_mac = keys[:16], keys[16:32], keys[32:]
    out: dict[int, bytes] = {0x87: b"", 0x88: b"", 0x86: b""}
    counter = 0
    for sequence in split(bpp_der)[1:]:                             # after BF23: A0, A1, A3
        for segment in split(sequence):
            counter += 1
            start, length = header_end(segment)
            body, mac = segment[start:start + length - 8], segment[start + length - 8:]
            c = cmac.CMAC(algorithms.AES(s_mac))
            c.update(mcv + segment[:start] + body)
            mcv = c.finalize()
            if mac != mcv[:8]:
                raise ValueError(f"the MAC of segment {counter} does not verify")
            if segment[0] == 0x88:
                out[0x88] += body
                continue
            icv = Cipher(algorithms.AES(s_enc), modes.ECB()).encryptor().update(counter.to_bytes(16, "big"))
            d = Cipher(algorithms.AES(s_enc), modes.CBC(icv)).decryptor()
            plain = d.update(body) + d.finalize()
            out[segment[0]] += plain[:plain.rindex(b"\x80")]         # ISO/IEC 9797-1 method 2 padding
    return out


def test_session_keys_unwrap_the_accepted_bpp(runs, sgp22):
    """§2.6.4 / Annex G: keys derived here from otSK.DP and the card's otPK (and, the same, from
    otSK.EUICC and otPK.DP) equal tools/smdpp's and unwrap every segment the card accepted."""
    first = runs[0]
    otpk = sgp22.decode("PrepareDownloadResponse", first.prepare_download)[1]["euiccSigned2"]["euiccOtpk"]
    keys = session_keys(OTSK_DP, otpk)
    assert keys == session_keys(OTSK_EUICC, point(ec.derive_private_key(OTSK_DP, ec.SECP256R1())))
    smdpp = bpp.session_keys(ec.derive_private_key(OTSK_DP, ec.SECP256R1()), otpk, HOST_ID, EID)
    assert keys == smdpp.initial_mcv + smdpp.s_enc + smdpp.s_mac
    assert keys.hex().upper() == SESSION_KEYS
    plain = unwrap(keys, first.bpp)
    with pytest.raises(ValueError, match="segment 1 "):
        unwrap(keys[:16] + keys[16:32] + bytes(16), first.bpp)         # a wrong S-MAC is noticed
    assert plain[0x87] == sgp22.encode("ConfigureISDPRequest", {})
    assert sgp22.decode("StoreMetadataRequest", plain[0x88])["iccid"] == swap(TS48_ICCID)
    assert plain[0x86] == TS48.read_bytes()


def test_profile_installation_result(runs, sgp22, euicc_cert):
    """§5.7.6: success with the package's ICCID, this transaction and SM-DP+; euiccSignPIR over
    DER(profileInstallationResultData)."""
    first = runs[0]
    result = sgp22.decode("ProfileInstallationResult", first.pir)
    data = result["profileInstallationResultData"]
    assert data["transactionId"] == TRANSACTION_ID
    assert data["finalResult"][0] == "successResult", data["finalResult"]
    meta = data["notificationMetadata"]
    assert (meta["iccid"], meta["notificationAddress"]) == (swap(TS48_ICCID), SERVER_ADDRESS)
    assert meta["profileManagementOperation"] == (b"\x80", 1)      # notificationInstall
    data_der = split(first.pir)[0]                                  # BF37 { BF27 .., 5F37 }
    assert b"\x06\x03\x88\x37\x0a" in data_der                      # smdpOid 2.999.10 of the SGP.26 DPpb
    assert data_der.hex().upper() == PIR_DATA
    assert verifies(euicc_cert, data_der, result["euiccSignPIR"])


def test_two_runs_answer_the_same(runs):
    """With the same fixed inputs the card's unsigned answers are byte-identical (only the ECDSA
    signatures, randomized, differ)."""
    first, second = runs
    assert first.challenge_response == second.challenge_response
    assert first.euicc_info2 == second.euicc_info2
    assert split(split(first.authenticate_server)[0])[0] == split(split(second.authenticate_server)[0])[0]
    assert split(split(first.prepare_download)[0])[0] == split(split(second.prepare_download)[0])[0]
    assert split(first.pir)[0] == split(second.pir)[0]
