"""The LPA side of a profile download against the project's test SM-DP+ (SGP.22 v2.5 §3.1.3, ES10b §5.7.5-§5.7.14,
ES8+ §5.5 carried in the Bound Profile Package), the runner acting as the LPA.

Error paths are made the way an SGP.23 test tool's simulated S_SM-DP+ / S_LPAd makes them: a
server message is altered on its way to the card (a signature byte, a certificate's signature, an
unknown CI PKId, a BPP segment), and the card must answer the error code that SGP.22's
``RSPDefinitions`` assigns.  The card's signatures are verified with CERT.EUICC, and its chain
(CERT.EUICC <- CERT.EUM <- CI) against the described CI certificates.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tools import ber_tlv as tlv
from tools.conformance.environment import EnvironmentError_
from tools.conformance.model import Fail, Inconclusive
from tools.conformance.session import Session
from tools.lpa.es9plus import Es9FunctionError, Es9PlusClient, Es9TransportError

TAC = bytes.fromhex("35290611")
CAPABILITIES = {"gsmSupportedRelease": b"\x0d\x00\x00", "utranSupportedRelease": b"\x0d\x00\x00",
                "eutranSupportedRelease": b"\x0d\x00\x00"}
END_USER_REJECTION, POSTPONED = 0, 1
Tamper = Callable[[dict[str, bytes]], None]


def flip_last(data: bytes) -> bytes:
    """XOR the last byte: for a signature TLV or a DER certificate (whose last byte belongs to the
    signature value) the encoding stays valid and the signature does not verify."""
    return data[:-1] + bytes([data[-1] ^ 0x01])


def verify_signature(s: Session, cert_der: bytes, signed: bytes, signature: bytes, what: str) -> None:
    """SGP.22 §2.6.5: ECDSA with SHA-256, the signature as r || s (BSI TR-03111 plain format)."""
    cert = x509.load_der_x509_certificate(cert_der)
    s.check(len(signature) == 64, f"{what}: signature of {len(signature)} bytes, not r || s of 64")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        cert.public_key().verify(der, signed, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, arg-type]
    except InvalidSignature:
        raise Fail(f"{what} does not verify with CERT.EUICC") from None


def verify_chain(s: Session, euicc_der: bytes, eum_der: bytes) -> None:
    """CERT.EUICC issued by CERT.EUM, CERT.EUM by one of the described CI certificates (§4.5.2)."""
    euicc, eum = x509.load_der_x509_certificate(euicc_der), x509.load_der_x509_certificate(eum_der)
    try:
        euicc.verify_directly_issued_by(eum)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise Fail(f"CERT.EUICC is not issued by the CERT.EUM it came with: {exc}") from None
    for path in s.card.trusted_ci:
        try:
            eum.verify_directly_issued_by(x509.load_der_x509_certificate(path.read_bytes()))
            return
        except (ValueError, TypeError, InvalidSignature):
            continue
    raise Fail("CERT.EUM is not issued by any described CI")


@dataclass
class SmdpCall:
    """One download session: the SM-DP+'s answers and the card's, as raw DER."""

    es9: Es9PlusClient
    address: str
    matching_id: str
    transaction_id: bytes = b""
    server: dict[str, bytes] = field(default_factory=dict)
    card: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def initiated(cls, s: Session, kind: str = "plain", matching_id: str | None = None) -> SmdpCall:
        """GetEUICCInfo1 + GetEUICCChallenge, ES9+.InitiateAuthentication (§3.1.3 steps 1-6).
        INCONCLUSIVE when the card does not trust the SM-DP+'s CI."""
        try:
            server = s.env.smdp(kind)
        except (EnvironmentError_, AttributeError) as exc:
            raise Inconclusive(f"no test SM-DP+: {exc}") from None
        call = cls(Es9PlusClient(server.address, use_tls=False), server.address, matching_id or server.next_matching_id())
        s.step("ES10b.GetEUICCInfo1")
        info1 = s.es10_raw(s.encode("GetEuiccInfo1Request", {}))
        verification = s.decode("EUICCInfo1", info1)["euiccCiPKIdListForVerification"]
        smdp_ci = s.card.smdp_certs / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.der"  # type: ignore[operator]
        ski = x509.load_der_x509_certificate(smdp_ci.read_bytes()).extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value.digest
        s.require(ski in verification, f"the card does not trust the test SM-DP+'s CI {ski.hex().upper()}")
        call.card["challenge"] = call.challenge(s)
        s.step(f"ES9+.InitiateAuthentication ({call.address})")
        answer = call.post(s, lambda: call.es9.initiate_authentication(call.card["challenge"], info1, call.address))
        call.transaction_id = bytes.fromhex(answer["transactionId"])
        for name in ("serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed", "serverCertificate"):
            call.server[name] = call.es9.field(answer, name)
        return call

    def post(self, s: Session, function: Callable[[], dict]) -> dict:
        try:
            return function()
        except (Es9FunctionError, Es9TransportError) as exc:
            s.note(f"SM-DP+ refused: {exc}")
            raise Fail(f"the test SM-DP+ refused the card's answer: {exc}") from None

    def challenge(self, s: Session) -> bytes:
        s.step("ES10b.GetEUICCChallenge")
        return s.es10("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]

    def authenticate_server(self, s: Session, tamper: Tamper | None = None) -> tuple[str, dict]:
        """ES10b.AuthenticateServer (§5.7.13) with the server's objects (``tamper`` may alter them)."""
        parts = dict(self.server)
        if tamper:
            tamper(parts)
        ctx = s.encode("CtxParams1", ("ctxParamsForCommonAuthentication", {
            "matchingId": self.matching_id, "deviceInfo": {"tac": TAC, "deviceCapabilities": CAPABILITIES}}))
        s.step("ES10b.AuthenticateServer")
        body = (parts["serverSigned1"] + parts["serverSignature1"] + parts["euiccCiPKIdToBeUsed"]
                + parts["serverCertificate"] + ctx)
        self.card["authenticateServer"] = s.es10_raw(tlv.encode(0xBF38, body))
        return s.decode("AuthenticateServerResponse", self.card["authenticateServer"])

    def authenticated(self, s: Session) -> dict:
        """AuthenticateServer must succeed; its signature and chain are checked; then ES9+.AuthenticateClient."""
        kind, value = self.authenticate_server(s)
        s.check(kind == "authenticateResponseOk", f"AuthenticateServer answered error {value}")
        objects = tlv.split(tlv.unwrap(tlv.unwrap(self.card["authenticateServer"], 0xBF38), 0xA0))
        s.check([t for t, _ in objects][:4] == [0x30, 0x5F37, 0x30, 0x30], "AuthenticateResponseOk has the wrong layout")
        signed1 = tlv.encode(0x30, objects[0][1])
        self.card["euiccCertificate"], self.card["eumCertificate"] = tlv.encode(0x30, objects[2][1]), tlv.encode(0x30, objects[3][1])
        verify_chain(s, self.card["euiccCertificate"], self.card["eumCertificate"])
        verify_signature(s, self.card["euiccCertificate"], signed1, objects[1][1], "euiccSignature1")
        s.step(f"ES9+.AuthenticateClient")
        answer = self.post(s, lambda: self.es9.authenticate_client(self.transaction_id, self.card["authenticateServer"]))
        for name in ("profileMetadata", "smdpSigned2", "smdpSignature2", "smdpCertificate"):
            self.server[name] = self.es9.field(answer, name)
        return value

    def prepare_download(self, s: Session, hash_cc: bytes | None = None, tamper: Tamper | None = None) -> tuple[str, dict]:
        """ES10b.PrepareDownload (§5.7.5)."""
        parts = dict(self.server)
        if tamper:
            tamper(parts)
        s.step("ES10b.PrepareDownload")
        body = parts["smdpSigned2"] + parts["smdpSignature2"] + (tlv.encode(0x04, hash_cc) if hash_cc else b"") \
            + parts["smdpCertificate"]
        self.card["prepareDownload"] = s.es10_raw(tlv.encode(0xBF21, body))
        return s.decode("PrepareDownloadResponse", self.card["prepareDownload"])

    def prepared(self, s: Session, hash_cc: bytes | None = None) -> dict:
        kind, value = self.prepare_download(s, hash_cc)
        s.check(kind == "downloadResponseOk", f"PrepareDownload answered error {value}")
        ok = tlv.unwrap(tlv.unwrap(self.card["prepareDownload"], 0xBF21), 0xA0)
        objects = tlv.split(ok)
        signed2 = tlv.encode(0x30, objects[0][1])
        verify_signature(s, self.card["euiccCertificate"], signed2 + self.server["smdpSignature2"], objects[1][1],
                         "euiccSignature2")
        s.check(value["euiccSigned2"]["transactionId"] == self.transaction_id, "euiccSigned2 has another transactionId")
        otpk = value["euiccSigned2"]["euiccOtpk"]
        s.check(len(otpk) == 65 and otpk[0] == 0x04, "euiccOtpk is not an uncompressed P-256 point")
        return value

    def bound_profile_package(self, s: Session) -> bytes:
        s.step("ES9+.GetBoundProfilePackage")
        answer = self.post(s, lambda: self.es9.get_bound_profile_package(self.transaction_id, self.card["prepareDownload"]))
        return self.es9.field(answer, "boundProfilePackage")

    def load(self, s: Session, bpp: bytes, tamper: Callable[[list[bytes]], None] | None = None) -> dict:
        """ES10b.LoadBoundProfilePackage (§5.7.6), one STORE DATA sequence per segment (§2.5.5);
        the ProfileInstallationResultData, its signature checked."""
        segments = split_bpp(s, bpp)
        if tamper:
            tamper(segments)
        result = b""
        for number, segment in enumerate(segments):
            s.step(f"ES10b.LoadBoundProfilePackage segment {number} ({segment[:2].hex().upper()})")
            result = s.es10_raw(segment)
            if result:
                break
        s.check(result[:2] == b"\xbf\x37", f"LoadBoundProfilePackage ended without a ProfileInstallationResult")
        pir = s.decode("ProfileInstallationResult", result)
        objects = tlv.split(tlv.unwrap(result, 0xBF37))
        verify_signature(s, self.card["euiccCertificate"], tlv.encode(0xBF27, objects[0][1]), objects[1][1], "euiccSignPIR")
        data = pir["profileInstallationResultData"]
        s.check(data["transactionId"] == self.transaction_id, "the PIR carries another transactionId")
        return data

    def cancel(self, s: Session, reason: int = END_USER_REJECTION, forward: bool = True) -> tuple[str, object]:
        """ES10b.CancelSession (§5.7.14), then ES9+.CancelSession with the card's answer."""
        s.step(f"ES10b.CancelSession reason {reason}")
        raw = s.es10_raw(s.encode("CancelSessionRequest", {"transactionId": self.transaction_id, "reason": reason}))
        kind, value = s.decode("CancelSessionResponse", raw)
        if forward and kind == "cancelSessionResponseOk":
            s.step("ES9+.CancelSession")
            self.post(s, lambda: self.es9.cancel_session(self.transaction_id, raw))
        self.card["cancelSession"] = raw
        return kind, value


def split_bpp(s: Session, bpp: bytes) -> list[bytes]:
    """The ES10b commands carrying one BPP (§2.5.5): BF36 header + BF23; A0; A1 header; each 88;
    A2; A3 header; each 86."""
    try:
        tag, i = tlv.read_tag(bpp, 0)
        length, start = tlv.read_length(bpp, i)
        s.check(tag == 0xBF36 and start + length == len(bpp), "the SM-DP+ sent no BF36 package")
        segments, i = [], start
        while i < len(bpp):
            at = i
            tag, i = tlv.read_tag(bpp, i)
            length, value_at = tlv.read_length(bpp, i)
            end = value_at + length
            if tag == 0xBF23:
                segments.append(bpp[:start] + bpp[at:end])
            elif tag in (0xA0, 0xA2):
                segments.append(bpp[at:end])
            else:
                segments.append(bpp[at:value_at])
                segments.extend(tlv.encode(t, v) for t, v in tlv.split(bpp[value_at:end]))
            i = end
    except tlv.TlvError as exc:
        raise Fail(f"bound profile package: {exc}") from None
    return segments


def hash_cc(code: str, transaction_id: bytes) -> bytes:
    """SGP.22 §5.7.5: SHA-256(SHA-256(Confirmation Code) || TransactionID)."""
    return hashlib.sha256(hashlib.sha256(code.encode()).digest() + transaction_id).digest()

