"""Key derivation functions used by the secure channels.

* :func:`scp03_kdf` - NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF, laid out as
  GlobalPlatform Card Specification Amendment D (SCP03) §4.1.5 "Data Derivation Scheme":
  label (11 x '00' || derivation constant) || '00' separator || L (2 bytes, bits) || i (1 byte)
  || context.  Built on ``cryptography``'s KBKDFCMAC (counter in the middle of the fixed data).
* :func:`x963_kdf` - ANSI X9.63 KDF with SHA-256 as GSMA SGP.22 §2.6.4 / Annex G and
  BSI TR-03111 §4.3.3 use it after ECKA; ``cryptography``'s X963KDF.
"""
from __future__ import annotations

from enum import IntEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFCMAC, Mode
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

AES_KEY_LENGTHS = (16, 24, 32)


class DerivationConstant(IntEnum):
    """GP Amd D §4.1.5 Table 4-1: derivation constants."""

    CARD_CRYPTOGRAM = 0x00
    HOST_CRYPTOGRAM = 0x01
    CARD_CHALLENGE = 0x02
    S_ENC = 0x04
    S_MAC = 0x06
    S_RMAC = 0x07


# Label = 11 zero bytes || constant (12) then the '00' separator and L (2): the counter follows.
_COUNTER_OFFSET = 12 + 1 + 2


def scp03_kdf(key: bytes, constant: int, context: bytes, length_bits: int) -> bytes:
    """GP Amd D §4.1.5: derive ``length_bits`` (64, 128, 192 or 256) bits from an AES key.

    Raises ValueError for a key that is not 16/24/32 bytes or an unsupported output length;
    callers pass their own key material, so that is a programming error, not card input.
    """
    if len(key) not in AES_KEY_LENGTHS:
        raise ValueError("SCP03 KDF key must be an AES-128/192/256 key")
    if length_bits not in (64, 128, 192, 256):
        raise ValueError("SCP03 KDF output length must be 64, 128, 192 or 256 bits")
    fixed = bytes(11) + bytes((constant,)) + b"\x00" + length_bits.to_bytes(2, "big") + context
    kdf = KBKDFCMAC(
        algorithm=algorithms.AES,
        mode=Mode.CounterMode,
        length=length_bits // 8,
        rlen=1,
        llen=None,
        location=CounterLocation.MiddleFixed,
        label=None,
        context=None,
        fixed=fixed,
        break_location=_COUNTER_OFFSET,
    )
    return kdf.derive(key)


def x963_kdf(shared_secret: bytes, shared_info: bytes, length: int) -> bytes:
    """ANSI X9.63 §3.6.1 KDF with SHA-256 (SGP.22 Annex G, BSI TR-03111 §4.3.3)."""
    return X963KDF(algorithm=hashes.SHA256(), length=length, sharedinfo=shared_info).derive(
        shared_secret
    )
