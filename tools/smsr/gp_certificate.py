"""SGP.02 certificates in the GlobalPlatform format (tag '7F21'), host side.

SGP.02 v4.2 §2.3 / Annex: CERT.SR.ECDSA, CERT.DP.ECDSA and CERT.ECASD.ECKA are GP Amd E style
certificates: '7F21' { '93' serial, '42' CA identifier, '5F20' subject identifier, '95' key usage,
['5F25' effective date], '5F24' expiry date, '73' discretionary data {'C8' role, ...},
'7F49' public key {'B0' point, 'F0' key parameter reference}, '5F37' signature } where the
signature (raw r||s, ECDSA SHA-256) covers the concatenated TLVs '93' ... '7F49' (SPEC_NOTES §2.4).
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from euicc import tlv

ROLE_SM_DP, ROLE_SM_SR = 0x01, 0x02
CURVES = {0x00: ec.SECP256R1, 0x03: ec.BrainpoolP256R1}
"""GP Amd E key parameter reference -> curve (SPEC_NOTES §2.4)."""
SIGNED_TAGS = (0x93, 0x42, 0x5F20, 0x95, 0x5F25, 0x5F24, 0x73, 0x7F49)


class CertificateError(ValueError):
    """A '7F21' certificate that is malformed or does not verify."""


def sign_raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA with SHA-256, signature as raw r||s (BSI TR-03111 form used by SGP.02)."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def verify_raw(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    half = len(signature) // 2
    if len(signature) != 2 * ((key.curve.key_size + 7) // 8):
        return False
    der = encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big"))
    try:
        key.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def point_of(key: ec.EllipticCurvePublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def public_key_data(point: bytes, curve_reference: int = 0x00, with_b0_f0: bool = True) -> bytes:
    """Value of '7F49': {'B0' point, 'F0' 01 ref} (GP Amd E Table 4-26) or the bare point."""
    if not with_b0_f0:
        return point
    return tlv.tlv(0xB0, point) + tlv.tlv(0xF0, bytes([curve_reference]))


@dataclass(frozen=True)
class GpCertificate:
    """A decoded '7F21' certificate; ``signed`` is the exact byte string the signature covers."""

    fields: dict[int, bytes]
    signed: bytes
    signature: bytes
    encoded: bytes

    @property
    def role(self) -> int | None:
        role = tlv.find(self.fields.get(0x73, b""), 0xC8)
        return role[0] if role else None

    @property
    def curve_reference(self) -> int:
        ref = tlv.find(self.fields[0x7F49], 0xF0) if self.fields[0x7F49][:1] == b"\xB0" else None
        return ref[0] if ref else 0x00

    @property
    def point(self) -> bytes:
        value = self.fields[0x7F49]
        return tlv.find(value, 0xB0) if value[:1] == b"\xB0" else value

    def public_key(self) -> ec.EllipticCurvePublicKey:
        curve = CURVES.get(self.curve_reference)
        if curve is None:
            raise CertificateError(f"unsupported key parameter reference {self.curve_reference:02X}")
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(curve(), self.point)
        except ValueError as exc:
            raise CertificateError(f"bad public key: {exc}") from exc

    def verify(self, issuer: ec.EllipticCurvePublicKey) -> None:
        if not verify_raw(issuer, self.signed, self.signature):
            raise CertificateError("certificate signature does not verify")


def build_certificate(issuer_key: ec.EllipticCurvePrivateKey, subject_public: ec.EllipticCurvePublicKey, *,
                      serial: bytes, ca_id: bytes, subject_id: bytes, role: int | None,
                      expiry: bytes = bytes.fromhex("20991231"), key_usage: int = 0x88,
                      curve_reference: int = 0x00, with_b0_f0: bool = True) -> bytes:
    """Issue a GP-format certificate (SGP.02 §2.3.2 / GP Amd E §4.x), signed by ``issuer_key``."""
    discretionary = tlv.tlv(0xC8, bytes([role])) if role is not None else b""
    body = (tlv.tlv(0x93, serial) + tlv.tlv(0x42, ca_id) + tlv.tlv(0x5F20, subject_id)
            + tlv.tlv(0x95, bytes([key_usage])) + tlv.tlv(0x5F24, expiry) + tlv.tlv(0x73, discretionary)
            + tlv.tlv(0x7F49, public_key_data(point_of(subject_public), curve_reference, with_b0_f0)))
    return tlv.tlv(0x7F21, body + tlv.tlv(0x5F37, sign_raw(issuer_key, body)))


def parse_certificate(data: bytes) -> GpCertificate:
    """Decode a '7F21' certificate and keep the signed byte range exactly as received."""
    try:
        body = tlv.unwrap(data, 0x7F21)
        fields: dict[int, bytes] = {}
        signed, signature, i = b"", None, 0
        for tag, value in tlv.iter_tlv(body):
            encoded = tlv.tlv(tag, value)
            start = body.index(encoded, i)
            i = start + len(encoded)
            if tag == 0x5F37:
                signature = value
                signed = body[:start]
            fields[tag] = value
    except (tlv.TlvError, ValueError) as exc:
        raise CertificateError(f"malformed 7F21 certificate: {exc}") from exc
    if signature is None or 0x7F49 not in fields:
        raise CertificateError("certificate without 7F49 or 5F37")
    return GpCertificate(fields, signed, signature, data)
