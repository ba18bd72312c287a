"""The card's symmetric primitives: every AES, AES-CMAC, DES and 3DES operation of the card side goes
through here, built on ``cryptography`` (OpenSSL).

``cryptography`` is the one library of the card: it already provides the card's EC, X.509, X9.63
and SP 800-108 KDF (:mod:`euicc.crypto.kdf`), and its OpenSSL ciphers are the fastest available to
Python (MILENAGE, on the AUTHENTICATE hot path, keeps one ECB encryptor per key).  Host tools in
``tools/`` are independent implementations and use pycryptodome.

- AES-ECB one block / kept encryptor (FIPS 197): SCP03 ICVs (GP Amd D §6.2.6), MILENAGE E_K
  (TS 35.206 §4.1);
- AES-CBC without padding (SCP80 TS 102 225 §5.1.2, PUT KEY GP CS §11.8.2.3) and ISO/IEC 9797-1
  method 2 padding (GP Amd D §4.1.2);
- AES-CTR (SUCI ECIES, TS 33.501 Annex C.3.2);
- AES-CMAC (NIST SP 800-38B): SCP03 / SCP03t / BSP MACs, SCP80 AES CC, delete tokens, receipts;
- DES / 3DES outer-CBC EDE (TS 102 225 §5.1.2: single DES is 3DES with K1 = K2 = K3; 3DES comes
  from ``cryptography``'s decrepit module, where it lives since version 43).
"""
from __future__ import annotations

from typing import Callable

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.cmac import CMAC
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

AES_BLOCK = 16
DES_BLOCK = 8
_PAD_MARKER = 0x80
_PARITY_MASK = 0xFE          # DES keys: b1 of each byte is parity and not part of the key


class PaddingError(ValueError):
    """Ciphertext not a whole number of blocks, or the '80 00..' padding is missing."""


def aes_ecb_encryptor(key: bytes) -> Callable[[bytes], bytes]:
    """A kept AES-ECB encryptor: whole blocks in, whole blocks out, no key schedule per call."""
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor().update


def aes_ecb_block(key: bytes, block: bytes) -> bytes:
    """One AES block encryption (ICVs, key check values)."""
    return aes_ecb_encryptor(key)(block)


def aes_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(AES_BLOCK)) -> bytes:
    """AES-CBC of whole blocks (zero ICV unless given)."""
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(AES_BLOCK)) -> bytes:
    """Inverse of :func:`aes_cbc_encrypt`; ``data`` must be whole blocks (ValueError otherwise)."""
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def aes_ctr(key: bytes, icb: bytes, data: bytes) -> bytes:
    """AES-CTR (NIST SP 800-38A) from the initial counter block ``icb`` (TS 33.501 Annex C.3.2)."""
    return Cipher(algorithms.AES(key), modes.CTR(icb)).encryptor().update(data)


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B), the full 16-byte value."""
    mac = CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def pad_iso9797_m2(data: bytes, block: int = AES_BLOCK) -> bytes:
    """ISO/IEC 9797-1 padding method 2: '80' then '00' up to a whole block (always adds one byte)."""
    return data + bytes([_PAD_MARKER]) + bytes(-(len(data) + 1) % block)


def unpad_iso9797_m2(data: bytes, block: int = AES_BLOCK) -> bytes:
    """Inverse of :func:`pad_iso9797_m2`; raises :class:`PaddingError` when the padding is absent."""
    stripped = data.rstrip(b"\x00")
    if not data or len(data) % block or not stripped or stripped[-1] != _PAD_MARKER \
            or len(data) - len(stripped) + 1 > block:
        raise PaddingError("bad ISO/IEC 9797-1 method 2 padding")
    return stripped[:-1]


def des_key_usable(key: bytes) -> bool:
    """Whether an 8-, 16- or 24-byte key is a DES / 2-key / 3-key 3DES key; a 3DES key whose K1 = K2
    or K2 = K3 (parity bits ignored) degenerates to single DES and is refused, as pycryptodome's
    ``DES3.adjust_key_parity`` refuses it."""
    if len(key) == DES_BLOCK:
        return True
    if len(key) not in (2 * DES_BLOCK, 3 * DES_BLOCK):
        return False
    full = key if len(key) == 3 * DES_BLOCK else key + key[:DES_BLOCK]      # 2-key: K3 = K1
    k1, k2, k3 = (bytes(b & _PARITY_MASK for b in full[i:i + DES_BLOCK]) for i in (0, 8, 16))
    return k1 != k2 and k2 != k3


def _tdes(key: bytes) -> TripleDES:
    """3DES EDE with K1 K2 K3: an 8-byte key is K1 = K2 = K3 (single DES), a 16-byte one K3 = K1,
    spelt out as 24 bytes (``cryptography`` deprecates the short forms)."""
    return TripleDES(key * 3 if len(key) == DES_BLOCK else key + key[:DES_BLOCK] if len(key) == 2 * DES_BLOCK else key)


def des_cbc_encrypt(key: bytes, data: bytes, iv: bytes = bytes(DES_BLOCK)) -> bytes:
    """DES (8-byte key) or 3DES EDE (16/24 bytes) outer CBC of whole 8-byte blocks."""
    encryptor = Cipher(_tdes(key), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def des_cbc_decrypt(key: bytes, data: bytes, iv: bytes = bytes(DES_BLOCK)) -> bytes:
    """Inverse of :func:`des_cbc_encrypt`."""
    decryptor = Cipher(_tdes(key), modes.CBC(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()
