"""Elliptic Curve Key Agreement as GSMA SGP.22 uses it.

BSI TR-03111 v2.10 §4.3.1 ECKA-DH: the shared secret is the x-coordinate of d * Q (the
"plain" variant, no cofactor), which is what ``cryptography``'s ``ECDH`` exchange returns.
SGP.22 v2.5 §2.6.1 / §5.7.13 (PrepareDownload) generates a one-time key pair
otPK/otSK.EUICC.ECKA on the curve of the session; public keys travel uncompressed
(``04 || X || Y``, SEC 1 §2.3.3) in tag ``5F49`` (SGP.22 §5.7.13, euiccOtpk / smdpOtpk).

Curves: NIST P-256 (secp256r1) and brainpoolP256r1 (RFC 5639), the two SGP.22 requires.
A peer point that is not on the curve raises :class:`EckaError`, which the caller maps to its
error (e.g. SGP.22 ``incorrectInputValues``).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

TAG_PUBLIC_KEY = b"\x5f\x49"


class EckaError(ValueError):
    """A public key or private scalar is not valid on the requested curve."""


class Curve(Enum):
    """SGP.22 §2.6.1: the curves an eUICC supports, by their X9.62 / RFC 5639 OIDs."""

    NIST_P256 = "1.2.840.10045.3.1.7"
    BRAINPOOL_P256R1 = "1.3.36.3.3.2.8.1.1.7"

    @property
    def ec_curve(self) -> ec.EllipticCurve:
        if self is Curve.NIST_P256:
            return ec.SECP256R1()
        return ec.BrainpoolP256R1()

    @property
    def field_bytes(self) -> int:
        return (self.ec_curve.key_size + 7) // 8

    @classmethod
    def from_name(cls, name: str) -> "Curve":
        """The curve of a ``cryptography`` curve name (``secp256r1``, ``brainpoolP256r1``)."""
        try:
            return next(c for c in cls if c.ec_curve.name == name)
        except StopIteration:
            raise EckaError(f"unsupported curve {name}") from None

    @classmethod
    def from_oid(cls, dotted: str) -> "Curve":
        try:
            return cls(dotted)
        except ValueError as exc:
            raise EckaError(f"unsupported curve {dotted}") from exc


def encode_public_key(key: ec.EllipticCurvePublicKey) -> bytes:
    """SEC 1 §2.3.3 uncompressed point ``04 || X || Y``."""
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def decode_public_key(curve: Curve, point: bytes) -> ec.EllipticCurvePublicKey:
    """Parse an uncompressed point and check it lies on ``curve`` (TR-03111 §3.2.2.1)."""
    if len(point) != 1 + 2 * curve.field_bytes or point[0] != 0x04:
        raise EckaError("public key is not an uncompressed point of the curve size")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve.ec_curve, bytes(point))
    except ValueError as exc:
        raise EckaError("point is not on the curve") from exc


def public_key_tlv(point: bytes) -> bytes:
    """Wrap an uncompressed point in tag ``5F49`` (SGP.22 §5.7.13 euiccOtpk)."""
    if len(point) > 0x7F:
        raise EckaError("point too long for a short-form length")
    return TAG_PUBLIC_KEY + bytes((len(point),)) + point


def parse_public_key_tlv(tlv: bytes) -> bytes:
    """Inverse of :func:`public_key_tlv`: the value of one complete ``5F49`` TLV."""
    if len(tlv) < 3 or tlv[:2] != TAG_PUBLIC_KEY or tlv[2] > 0x7F or len(tlv) != 3 + tlv[2]:
        raise EckaError("not a single 5F49 TLV with a short-form length")
    return bytes(tlv[3:])


@dataclass(frozen=True)
class EckaKeyPair:
    """An ECKA key pair (one-time otSK/otPK, or a static one such as SK.ECASD.ECKA)."""

    curve: Curve
    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, curve: Curve) -> "EckaKeyPair":
        """SGP.22 §3.1.3.1 / TR-03111 §4.1.1: a fresh (one-time) key pair."""
        return cls(curve, ec.generate_private_key(curve.ec_curve))

    @classmethod
    def from_private_value(cls, curve: Curve, scalar: bytes) -> "EckaKeyPair":
        """Load a private scalar (big-endian), e.g. a static key from the card's store."""
        value = int.from_bytes(scalar, "big")
        try:
            return cls(curve, ec.derive_private_key(value, curve.ec_curve))
        except ValueError as exc:
            raise EckaError("private scalar out of range") from exc

    @property
    def private_value(self) -> bytes:
        """The private scalar, big-endian, curve size (for the caller's persistent store)."""
        value = self.private_key.private_numbers().private_value
        return value.to_bytes(self.curve.field_bytes, "big")

    @property
    def public_point(self) -> bytes:
        return encode_public_key(self.private_key.public_key())

    def shared_secret(self, peer_point: bytes) -> bytes:
        """TR-03111 §4.3.1 ECKA-DH: x-coordinate of otSK * peer otPK (32 bytes)."""
        peer = decode_public_key(self.curve, peer_point)
        return self.private_key.exchange(ec.ECDH(), peer)
