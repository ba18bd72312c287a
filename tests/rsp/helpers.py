"""Host side of the RSP tests: an LPA-like STORE DATA sender and an SM-DP+ built from the spec.

Independent of the card code: requests are built with asn1tools from the spec's ASN.1 (the shared
pure codec ``euicc.asn1.rsp``), signatures are made and checked with ``cryptography`` from the
SGP.26 DPauth / DPpb keys, the BSP protection is the host implementation ``tools.scp.bsp_host``.
"""
from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from euicc.asn1 import rsp
from tests.vectors import SGP26, TS48_V7 as TS48, TS48_V7_ICCID as TS48_ICCID
from tools.scp import bsp_host

# SGP26, TS48 and TS48_ICCID are re-exported for the RSP tests (tests/vectors holds the data).
EID1 = "89049032123451234512345678901235"
CI_PKID = {"NIST": bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3"),
           "BRP": bytes.fromhex("C0BC70BA36929D43B467FF57570530E57AB8FCD8")}
ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
MSS = 120        # lpac's default STORE DATA slice


# -- TLV on the host (X.690 §8.1) -----------------------------------------------------------------
def length_bytes(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def tlv(tag: bytes, value: bytes) -> bytes:
    return tag + length_bytes(len(value)) + value


def header_end(data: bytes, i: int = 0) -> tuple[int, int]:
    """(offset of the value, its length) of the TLV at i."""
    j = i + 1
    if data[i] & 0x1F == 0x1F:
        while data[j] & 0x80:
            j += 1
        j += 1
    n = data[j]
    j += 1
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[j:j + k], "big")
        j += k
    return j, n


def split(data: bytes) -> list[bytes]:
    """The TLVs inside the single TLV ``data``."""
    j, n = header_end(data)
    out, i, end = [], j, j + n
    while i < end:
        k, m = header_end(data, i)
        out.append(data[i:k + m])
        i = k + m
    return out


def swap(digits: str) -> bytes:
    s = digits + "F" * (len(digits) % 2)
    return bytes.fromhex("".join(s[i + 1] + s[i] for i in range(0, len(s), 2)))


# -- signatures (SGP.22 §2.6.7: r||s) -------------------------------------------------------------
def sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify(cert_der: bytes, data: bytes, rs: bytes) -> None:
    """Raises InvalidSignature when wrong."""
    key = x509.load_der_x509_certificate(cert_der).public_key()
    sig = encode_dss_signature(int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big"))
    key.verify(sig, data, ec.ECDSA(hashes.SHA256()))


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


# -- the LPA: ES10 over STORE DATA ----------------------------------------------------------------
class Lpa:
    """Sends ES10 requests like lpac: STORE DATA '80 E2 11/91 P2' in 120-byte slices, GET RESPONSE."""

    def __init__(self, card) -> None:
        self.card = card
        self.channel = 0
        self.sws: list[int] = []

    def select_isd_r(self) -> None:
        r = self.card.transmit(bytes([0x00, 0xA4, 0x04, 0x00, len(ISD_R)]) + ISD_R)
        assert r[-2] in (0x61, 0x90), r.hex()
        if r[-2] == 0x61:
            r = self.card.transmit(bytes([0x00, 0xC0, 0x00, 0x00, r[-1]]))
        assert r[-2:] == b"\x90\x00"

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        r = self.card.transmit(apdu)
        data, sw = r[:-2], int.from_bytes(r[-2:], "big")
        while sw >> 8 == 0x61:
            r = self.card.transmit(bytes([0x80, 0xC0, 0x00, 0x00, sw & 0xFF]))
            data += r[:-2]
            sw = int.from_bytes(r[-2:], "big")
        return data, sw

    def es10(self, request: bytes, *, expect_sw: int = 0x9000) -> bytes:
        blocks = [request[i:i + MSS] for i in range(0, len(request), MSS)] or [b""]
        for n, block in enumerate(blocks):
            last = n == len(blocks) - 1
            data, sw = self.transmit(bytes([0x80, 0xE2, 0x91 if last else 0x11, n, len(block)]) + block)
            if not last:
                assert (data, sw) == (b"", 0x9000)
        self.sws.append(sw)
        ok = sw == expect_sw or (expect_sw == 0x9000 and sw >> 8 == 0x91)   # 91xx: proactive pending
        assert ok, f"{sw:04X}"
        return data

    def call(self, type_name: str, value, response_type: str | None = None):
        """Encode, send, decode (with the spec's ASN.1)."""
        raw = self.es10(rsp().encode(type_name, value))
        return rsp().decode(response_type or type_name, raw) if raw else raw


# -- the SM-DP+ ---------------------------------------------------------------------------------
class Smdp:
    """Test SM-DP+ with the SGP.26 DPauth / DPpb credentials of one curve."""

    def __init__(self, tag: str = "NIST", address: str = "testsmdpplus1.example.com",
                 auth_cert: str | None = None) -> None:
        self.tag = tag
        self.address = address
        self.auth_cert = (SGP26 / "DPauth" / (auth_cert or f"CERT_S_SM_DPauth_ECDSA_{tag}.der")).read_bytes()
        self.auth_key = load_key(SGP26 / "DPauth" / f"SK_S_SM_DPauth_ECDSA_{tag}.pem")
        self.pb_cert = (SGP26 / "DPpb" / f"CERT_S_SM_DPpb_ECDSA_{tag}.der").read_bytes()
        self.pb_key = load_key(SGP26 / "DPpb" / f"SK_S_SM_DPpb_ECDSA_{tag}.pem")
        self.transaction_id = secrets.token_bytes(16)
        self.ci_pkid = CI_PKID[tag]

    def authenticate_server(self, challenge: bytes, *, corrupt_signature: bool = False,
                            ci_pkid: bytes | None = None, certificate: bytes | None = None) -> bytes:
        signed1 = {"transactionId": self.transaction_id, "euiccChallenge": challenge,
                   "serverAddress": self.address, "serverChallenge": secrets.token_bytes(16)}
        self.server_signed1 = signed1
        signature = sign(self.auth_key, rsp().encode("ServerSigned1", signed1))
        if corrupt_signature:
            signature = bytes([signature[0] ^ 1]) + signature[1:]
        ctx = ("ctxParamsForCommonAuthentication", {
            "matchingId": "MATCHING-ID-1",
            "deviceInfo": {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}})
        return rsp().encode("AuthenticateServerRequest", {
            "serverSigned1": signed1, "serverSignature1": signature,
            "euiccCiPKIdToBeUsed": ci_pkid if ci_pkid is not None else self.ci_pkid,
            "serverCertificate": rsp().decode("Certificate", certificate or self.auth_cert),
            "ctxParams1": ctx})

    def prepare_download(self, euicc_signature1: bytes, *, cc: bytes | None = None,
                         transaction_id: bytes | None = None, corrupt: bool = False,
                         otpk: bytes | None = None, cc_required: bool | None = None) -> bytes:
        signed2 = {"transactionId": transaction_id or self.transaction_id,
                   "ccRequiredFlag": cc is not None if cc_required is None else cc_required}
        if otpk is not None:
            signed2["bppEuiccOtpk"] = otpk
        signature = sign(self.pb_key, rsp().encode("SmdpSigned2", signed2) + b"\x5f\x37\x40" + euicc_signature1)
        if corrupt:
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        request = {"smdpSigned2": signed2, "smdpSignature2": signature,
                   "smdpCertificate": rsp().decode("Certificate", self.pb_cert)}
        if cc is not None:
            request["hashCc"] = hash_cc(cc, self.transaction_id)
        return rsp().encode("PrepareDownloadRequest", request)

    def bound_profile_package(self, euicc_otpk: bytes, eid: bytes, upp: bytes, metadata: dict | bytes,
                              *, ppk: bool = False, host_id: bytes = b"SMDP-HOST-ID",
                              key_type: int = 0x88) -> list[bytes]:
        """The BPP as the LPA's segments (SPEC_NOTES §1.6); `metadata` is a StoreMetadataRequest
        value or its DER (e.g. encoded with the v3.1 module)."""
        curve = bsp_host.CURVES[{"NIST": "secp256r1", "BRP": "brainpoolP256r1"}[self.tag]]()
        otsk = ec.generate_private_key(curve)
        smdp_otpk = otsk.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        crt = tlv(b"\x80", bytes([key_type])) + tlv(b"\x81", b"\x10") + tlv(b"\x84", host_id)
        signed = (tlv(b"\x82", b"\x01") + tlv(b"\x80", self.transaction_id) + tlv(b"\xa6", crt)
                  + tlv(b"\x5f\x49", smdp_otpk))
        smdp_sign = sign(self.pb_key, signed + tlv(b"\x5f\x49", euicc_otpk))
        bf23 = tlv(b"\xbf\x23", signed + tlv(b"\x5f\x37", smdp_sign))
        secret = bsp_host.ecka_shared_secret(curve.name, otsk, euicc_otpk)
        keys = bsp_host.session_keys(secret, host_id, eid)
        configure = rsp().encode("ConfigureISDPRequest", {"dpProprietaryData": {"dpOid": "1.3.6.1.4.1.99999.1"}})
        store_metadata = metadata if isinstance(metadata, bytes) else rsp().encode("StoreMetadataRequest", metadata)
        ppk_keys = bsp_host.SessionKeySet(*(secrets.token_bytes(16) for _ in range(3))) if ppk else None
        prot = bsp_host.protect_bpp(keys, configure, store_metadata, upp, ppk_keys)
        a0 = tlv(b"\xa0", b"".join(prot.first_sequence_of_87))
        a1_body = b"".join(prot.sequence_of_88)
        a2 = tlv(b"\xa2", b"".join(prot.second_sequence_of_87)) if prot.second_sequence_of_87 else b""
        a3_body = b"".join(prot.sequence_of_86)
        whole = (bf23 + a0 + tlv(b"\xa1", a1_body) + a2 + tlv(b"\xa3", a3_body))
        segments = [b"\xbf\x36" + length_bytes(len(whole)) + bf23, a0,
                    b"\xa1" + length_bytes(len(a1_body)), *prot.sequence_of_88]
        if a2:
            segments.append(a2)
        segments += [b"\xa3" + length_bytes(len(a3_body)), *prot.sequence_of_86]
        return segments


def hash_cc(cc: bytes, transaction_id: bytes) -> bytes:
    """SGP.22 §3.1.3 (v2.x): SHA256(SHA256(confirmation code) || transactionId)."""
    return hashlib.sha256(hashlib.sha256(cc).digest() + transaction_id).digest()


def metadata(iccid_digits: str = TS48_ICCID, **extra) -> dict:
    value = {"iccid": swap(iccid_digits), "serviceProviderName": "GSMA Test",
             "profileName": "TS.48 test profile"}
    value.update(extra)
    return value
