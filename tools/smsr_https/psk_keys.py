"""The SM-SR's PUT KEY of an ISD-R SCP81 key set (GP CS v2.3 §11.8.2 with GP Amd B key type '85'
for the TLS pre-shared key; SGP.02 §2.4.4), built host-side with pycryptodome.

Key data field (GP CS Table 11-69/71): type, length, key ciphered with the DEK of the key set
securing the command (AES-CBC, ICV zero; AES keys fill whole blocks), KCV length, KCV =
AES-ECB(key, 16 x '01')[:3].
"""
from __future__ import annotations

from Crypto.Cipher import AES

PSK_TYPE, AES_TYPE = 0x85, 0x88


def kcv(key: bytes) -> bytes:
    return AES.new(key, AES.MODE_ECB).encrypt(b"\x01" * 16)[:3]


def key_data(key_type: int, key: bytes, dek: bytes) -> bytes:
    ciphered = AES.new(dek, AES.MODE_CBC, iv=bytes(16)).encrypt(key)
    return bytes([key_type, len(ciphered)]) + ciphered + b"\x03" + kcv(key)


def put_psk_key(new_kvn: int, psk: bytes, new_dek: bytes | None, dek: bytes, replace_kvn: int = 0) -> bytes:
    """``80 D8 <replaced KVN or 00> <01, b8 when the DEK follows> Lc <KVN, PSK ['85'], DEK ['88']>``."""
    data = bytes([new_kvn]) + key_data(PSK_TYPE, psk, dek)
    if new_dek is not None:
        data += key_data(AES_TYPE, new_dek, dek)
    return bytes([0x80, 0xD8, replace_kvn, 0x81 if new_dek is not None else 0x01, len(data)]) + data
