"""SUCI computation on the USIM: TS 31.102 §7.5 (GET IDENTITY), TS 33.501 Annex C.3/C.4.

ECIES as profiled by TS 33.501 Annex C.3.4, both profiles with the ANSI X9.63 KDF on SHA-256
(SharedInfo1 = the ephemeral public key as sent), AES-128 in CTR mode, HMAC-SHA-256 with a
64-bit tag:

* Profile A (C.3.4.1): X25519; the ephemeral public key is the 32-octet u-coordinate.
* Profile B (C.3.4.2): secp256r1 ECDH (shared secret = x-coordinate); the ephemeral public
  key is sent compressed (33 octets). The home network key may be compressed or not.

The KDF output (64 octets) is split as Enc key (16) || ICB (16) || MAC key (32) (C.3.2 /
C.3.4).  Scheme output = ephemeral public key || ciphertext || MAC tag (C.3.2, Figure C.3.2-1).
The null scheme (C.2) outputs the scheme input unchanged.

The ephemeral private key is generated per call; tests may inject one.  All failures on
malformed input raise :class:`SuciError`.
"""
from __future__ import annotations

import hmac as _hmac
from enum import IntEnum
from hashlib import sha256

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from euicc.crypto.primitives import aes_ctr

ENC_KEY_LEN = 16
ICB_LEN = 16
MAC_KEY_LEN = 32
MAC_TAG_LEN = 8


class ProtectionScheme(IntEnum):
    """Protection scheme identifiers, TS 33.501 Annex C.1 / TS 24.501 §9.11.3.4."""

    NULL = 0
    PROFILE_A = 1
    PROFILE_B = 2


class SuciError(ValueError):
    """Malformed home network key, identity or parameter for SUCI computation."""


def _ecies(shared_secret: bytes, eph_public: bytes, plaintext: bytes) -> bytes:
    """Annex C.3.2 steps after key agreement: KDF, AES-128-CTR, HMAC-SHA-256/64."""
    keys = X963KDF(algorithm=hashes.SHA256(), length=ENC_KEY_LEN + ICB_LEN + MAC_KEY_LEN,
                   sharedinfo=eph_public).derive(shared_secret)
    enc_key, icb, mac_key = keys[:16], keys[16:32], keys[32:]
    ciphertext = aes_ctr(enc_key, icb, plaintext)
    tag = _hmac.new(mac_key, ciphertext, sha256).digest()[:MAC_TAG_LEN]
    return eph_public + ciphertext + tag


def _profile_a(hn_public_key: bytes, plaintext: bytes, eph_private: bytes | None) -> bytes:
    if len(hn_public_key) != 32:
        raise SuciError("Profile A home network key is 32 octets")
    try:
        eph = (x25519.X25519PrivateKey.from_private_bytes(eph_private) if eph_private is not None
               else x25519.X25519PrivateKey.generate())
        shared = eph.exchange(x25519.X25519PublicKey.from_public_bytes(hn_public_key))
    except (ValueError, UnsupportedAlgorithm) as exc:  # low-order point, bad key length
        raise SuciError(f"Profile A key agreement failed: {exc}") from exc
    eph_public = eph.public_key().public_bytes(serialization.Encoding.Raw,
                                               serialization.PublicFormat.Raw)
    return _ecies(shared, eph_public, plaintext)


def _profile_b(hn_public_key: bytes, plaintext: bytes, eph_private: bytes | None) -> bytes:
    if len(hn_public_key) not in (33, 65) or hn_public_key[0] not in (2, 3, 4) \
            or (hn_public_key[0] == 4) != (len(hn_public_key) == 65):
        raise SuciError("Profile B home network key must be a compressed or uncompressed point")
    if eph_private is not None and len(eph_private) != 32:
        raise SuciError("Profile B ephemeral private key is 32 octets")
    curve = ec.SECP256R1()
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, hn_public_key)
        eph = (ec.generate_private_key(curve) if eph_private is None
               else ec.derive_private_key(int.from_bytes(eph_private, "big"), curve))
        shared = eph.exchange(ec.ECDH(), peer)
    except ValueError as exc:  # point not on the curve, scalar out of range
        raise SuciError(f"Profile B key agreement failed: {exc}") from exc
    eph_public = eph.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.CompressedPoint)
    return _ecies(shared, eph_public, plaintext)


def scheme_output(scheme: int, scheme_input: bytes, hn_public_key: bytes = b"",
                  ephemeral_private_key: bytes | None = None) -> bytes:
    """The SUCI Scheme Output for ``scheme_input`` (TS 33.501 Annex C.2-C.3)."""
    if not scheme_input:
        raise SuciError("empty scheme input")
    if scheme == ProtectionScheme.NULL:
        return bytes(scheme_input)
    if scheme == ProtectionScheme.PROFILE_A:
        return _profile_a(bytes(hn_public_key), bytes(scheme_input), ephemeral_private_key)
    if scheme == ProtectionScheme.PROFILE_B:
        return _profile_b(bytes(hn_public_key), bytes(scheme_input), ephemeral_private_key)
    raise SuciError(f"unsupported protection scheme {scheme}")


def _bcd(digits: str, filler_to: int) -> bytes:
    """Swapped-nibble BCD, 'F' filled to ``filler_to`` digits (TS 24.501 §9.11.3.4)."""
    if not digits.isdigit() or not digits.isascii() or len(digits) > filler_to:
        raise SuciError(f"bad digit string {digits!r}")
    nibbles = [int(d) for d in digits] + [0xF] * (filler_to - len(digits))
    return bytes((nibbles[i + 1] << 4) | nibbles[i] for i in range(0, len(nibbles), 2))


def msin_scheme_input(msin: str) -> bytes:
    """Scheme input for an IMSI-based SUPI: the MSIN in BCD, 'F' filled (Annex C.4.2)."""
    return _bcd(msin, len(msin) + len(msin) % 2)


def encode_suci_imsi(mcc: str, mnc: str, routing_indicator: str, scheme: int,
                     hn_key_id: int, output: bytes) -> bytes:
    """SUCI of an IMSI-based SUPI as the 5GS mobile identity contents, TS 24.501 §9.11.3.4.

    Octets: SUPI format IMSI / type SUCI ('01'), MCC/MNC (3 octets), routing indicator
    (2 octets BCD, 'F' filled), protection scheme id, home network public key id, output.
    """
    if len(mcc) != 3 or len(mnc) not in (2, 3) or not 1 <= len(routing_indicator) <= 4:
        raise SuciError("MCC is 3 digits, MNC 2 or 3, routing indicator 1 to 4")
    if not 0 <= scheme <= 15 or not 0 <= hn_key_id <= 255:
        raise SuciError("protection scheme id is 4 bits, key id one octet")
    mcc_mnc = _bcd(mcc[:2], 2) + _bcd(mcc[2] + (mnc[2] if len(mnc) == 3 else ""), 2) \
        + _bcd(mnc[:2], 2)
    return (b"\x01" + mcc_mnc + _bcd(routing_indicator, 4) + bytes([scheme, hn_key_id])
            + bytes(output))
