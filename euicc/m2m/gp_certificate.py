"""GP-style certificates of SGP.02 v4.2 §4.1.3.1 / GP Card Spec Amendment E §4 (tag '7F21'):
CERT.SR.ECDSA, CERT.DP.ECDSA, CERT.ECASD.ECKA, verified with PK.CI.ECDSA.

Layout (SPEC_NOTES §2.4): '7F21' { '93' serial, '42' CA identifier, '5F20' subject identifier,
'95' key usage, ['5F25' effective date], '5F24' expiry date, '73' { 'C8' role, ['C9' AKI] },
'7F49' { 'B0' 04||X||Y, 'F0' key parameter reference }, '5F37' signature r||s }.  The signature
covers the TLVs before '5F37' exactly as received.  Malformed input raises
:class:`CertificateError` ('6A80' for the caller).
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc import tlv
from euicc.crypto.certificates import CertificateRejected, verify_signature
from euicc.crypto.ecka import Curve, EckaError, decode_public_key

TAG_CERTIFICATE = 0x7F21
TAG_PUBLIC_KEY = 0x7F49
TAG_SIGNATURE = 0x5F37
_REQUIRED = (0x93, 0x42, 0x5F20, 0x95, 0x5F24, 0x73, TAG_PUBLIC_KEY, TAG_SIGNATURE)

# Amd E key parameter references (SPEC_NOTES §2.4: '00' P-256, '03' brainpoolP256r1)
KEY_PARAMETER_CURVES = {0x00: Curve.NIST_P256, 0x03: Curve.BRAINPOOL_P256R1}


class CertificateError(ValueError):
    """A certificate or public key that does not parse or verify."""


@dataclass(frozen=True)
class GpCertificate:
    """A parsed '7F21' certificate; ``signed`` is the byte range the CI signature covers."""

    fields: dict[int, bytes]
    signed: bytes
    curve: Curve
    point: bytes

    @property
    def role(self) -> int | None:
        try:
            role = tlv.find(self.fields[0x73], 0xC8)
        except tlv.TlvError:
            return None
        return role[0] if role and len(role) == 1 else None

    @property
    def expiry(self) -> bytes:
        return self.fields[0x5F24]


def parse_public_key(value: bytes, default_curve: Curve | None = None) -> tuple[Curve, bytes]:
    """'7F49' content: 'B0' point and 'F0' reference, or a bare 04||X||Y (WHTY) on `default_curve`."""
    if value[:1] == b"\x04" and default_curve is not None:
        point = value
        curve = default_curve
    else:
        try:
            items = dict(tlv.parse(value))
        except tlv.TlvError as exc:
            raise CertificateError("public key template malformed") from exc
        point, ref = items.get(0xB0), items.get(0xF0)
        if point is None or ref is None or len(ref) != 1 or ref[0] not in KEY_PARAMETER_CURVES:
            raise CertificateError("public key or key parameter reference missing or unsupported")
        curve = KEY_PARAMETER_CURVES[ref[0]]
    try:
        decode_public_key(curve, point)
    except EckaError as exc:
        raise CertificateError(str(exc)) from exc
    return curve, bytes(point)


def parse_certificate(data: bytes) -> GpCertificate:
    """Parse one complete '7F21' TLV strictly (all mandatory fields, nothing after it)."""
    try:
        body = tlv.unwrap(data, TAG_CERTIFICATE)
        items = tlv.parse(body)
    except tlv.TlvError as exc:
        raise CertificateError("not one '7F21' certificate") from exc
    fields = {}
    for tag, value in items:
        if tag in fields:
            raise CertificateError(f"tag {tag:X} repeated")
        fields[tag] = bytes(value)
    if any(t not in fields for t in _REQUIRED) or items[-1][0] != TAG_SIGNATURE:
        raise CertificateError("certificate field missing or signature not last")
    signed = body[:len(body) - len(tlv.tlv(TAG_SIGNATURE, fields[TAG_SIGNATURE]))]
    curve, point = parse_public_key(fields[TAG_PUBLIC_KEY])
    return GpCertificate(fields, bytes(signed), curve, point)


def verify(certificate: GpCertificate, ci_curve: Curve, ci_point: bytes) -> None:
    """Check the CI's ECDSA-SHA256 signature (GP Amd E §4; raw r||s as SGP.02 signs)."""
    try:
        verify_signature(decode_public_key(ci_curve, ci_point), certificate.signed,
                         certificate.fields[TAG_SIGNATURE])
    except (CertificateRejected, EckaError) as exc:
        raise CertificateError("certificate signature does not verify with PK.CI.ECDSA") from exc
