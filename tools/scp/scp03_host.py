"""Off-card entity for GlobalPlatform SCP03 (host side, independent of the card code).

GP Card Specification v2.3 Amendment D v1.1.2 / v1.2: INITIALIZE UPDATE / EXTERNAL AUTHENTICATE
(§7.1, §7.2), session keys and cryptograms (§6.2.1, §6.2.2), command wrapping (C-MAC §6.2.4,
C-ENC §6.2.6) and response unwrapping (R-MAC §6.2.5, R-ENC §6.2.7), in S8 or S16 mode (v1.2
§5.1: 16-byte challenges, cryptograms and MACs).  Key management commands of GP Card
Specification v2.3 (PUT KEY §11.8 with DEK-enciphered AES keys, DELETE KEY §11.2) are built by
:func:`put_key_apdu` / :func:`delete_key_apdu`.

Written from the specification for tests and tools; it never imports ``euicc``.  Primitives
come from pycryptodome (the card uses pyca/cryptography); the SP 800-108 data derivation is
composed here from AES-CMAC on purpose, so that the card's KDF layout is checked against a
second implementation.
"""
from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from Crypto.Cipher import AES
from Crypto.Hash import CMAC
from Crypto.Util.Padding import pad, unpad

# GP Amd D §4.1.5 derivation constants
DD_CARD_CRYPTOGRAM, DD_HOST_CRYPTOGRAM, DD_CARD_CHALLENGE = 0x00, 0x01, 0x02
DD_S_ENC, DD_S_MAC, DD_S_RMAC = 0x04, 0x06, 0x07
SL_C_MAC, SL_C_DEC, SL_R_MAC, SL_R_ENC = 0x01, 0x02, 0x10, 0x20


class Scp03HostError(Exception):
    """The card's answer does not authenticate (card cryptogram, R-MAC, response format)."""


def cmac(key: bytes, data: bytes) -> bytes:
    return CMAC.new(key, msg=data, ciphermod=AES).digest()


def derive(key: bytes, constant: int, context: bytes, bits: int) -> bytes:
    """GP Amd D §4.1.5: SP 800-108 counter mode, PRF = AES-CMAC, counter after L."""
    out = b""
    for i in range(1, (bits + 127) // 128 + 1):
        out += cmac(key, bytes(11) + bytes([constant, 0]) + bits.to_bytes(2, "big") + bytes([i]) + context)
    return out[: bits // 8]


@dataclass(frozen=True)
class HostKeySet:
    kvn: int
    enc: bytes
    mac: bytes
    dek: bytes


def kcv(key: bytes) -> bytes:
    """AES key check value: AES-ECB(key, 16 x '01') truncated to 3 bytes."""
    return AES.new(key, AES.MODE_ECB).encrypt(b"\x01" * 16)[:3]


def parse_short_apdu(apdu: bytes) -> tuple[bytes, bytes, int | None]:
    """Split a short command APDU into (header, data, Le); cases 1-4 only."""
    header, rest = apdu[:4], apdu[4:]
    if len(header) != 4:
        raise ValueError("APDU shorter than its header")
    if not rest:
        return header, b"", None
    if len(rest) == 1:
        return header, b"", rest[0]
    lc = rest[0]
    if len(rest) == 1 + lc:
        return header, rest[1:], None
    if len(rest) == 2 + lc:
        return header, rest[1:-1], rest[-1]
    raise ValueError("inconsistent Lc")


class Scp03Host:
    """The off-card entity of one SCP03 session (GP Amd D §5.2)."""

    def __init__(self, keys: HostKeySet, security_level: int, host_challenge: bytes | None = None,
                 s_mode: int = 8):
        if s_mode not in (8, 16):
            raise ValueError("SCP03 runs in S8 or S16 mode")
        self.keys = keys
        self.security_level = security_level
        self.s_mode = s_mode
        self.host_challenge = host_challenge if host_challenge is not None else os.urandom(s_mode)
        self.card_challenge = b""
        self.sequence_counter: int | None = None
        self.i_parameter = 0
        self._s_enc = self._s_mac = self._s_rmac = b""
        self._chain = bytes(16)
        self._counter = 0

    def initialize_update(self, p1_kvn: int | None = None) -> bytes:
        """``80 50 KVN 00 Lc <host challenge> 00`` (Amd D §7.1.1), Lc 08 (S8) or 10 (S16)."""
        kvn = self.keys.kvn if p1_kvn is None else p1_kvn
        return bytes([0x80, 0x50, kvn, 0x00, len(self.host_challenge)]) + self.host_challenge + b"\x00"

    def process_initialize_update(self, rsp: bytes, sd_aid: bytes | None = None) -> None:
        """Check the INITIALIZE UPDATE response (Amd D §7.1.2) and derive the session keys.

        With ``sd_aid`` and a pseudo-random challenge (i bit '10'), the card challenge is also
        recomputed from the sequence counter (Amd D §6.2.2.1).
        """
        s = self.s_mode
        end = 13 + 2 * s
        if len(rsp) not in (end, end + 3) or rsp[11] != 0x03:
            raise Scp03HostError("not an SCP03 INITIALIZE UPDATE response")
        if rsp[10] != self.keys.kvn:
            raise Scp03HostError("card answered with another key version")
        self.i_parameter = rsp[12]
        if bool(self.i_parameter & 0x01) != (s == 16):
            raise Scp03HostError("card's i parameter does not match the host's S8/S16 mode")
        self.card_challenge, card_cryptogram = rsp[13:13 + s], rsp[13 + s:end]
        counter = rsp[end:end + 3]
        self.sequence_counter = int.from_bytes(counter, "big") if counter else None
        context = self.host_challenge + self.card_challenge
        bits = 8 * len(self.keys.enc)
        self._s_enc = derive(self.keys.enc, DD_S_ENC, context, bits)
        self._s_mac = derive(self.keys.mac, DD_S_MAC, context, bits)
        self._s_rmac = derive(self.keys.mac, DD_S_RMAC, context, bits)
        if not hmac.compare_digest(derive(self._s_mac, DD_CARD_CRYPTOGRAM, context, 8 * s), card_cryptogram):
            raise Scp03HostError("card cryptogram does not verify")
        if sd_aid is not None and self.i_parameter & 0x10:
            expected = derive(self.keys.enc, DD_CARD_CHALLENGE, counter + sd_aid, 8 * s)
            if expected != self.card_challenge:
                raise Scp03HostError("pseudo-random card challenge does not verify")

    def external_authenticate(self) -> bytes:
        """``84 82 SL 00 Lc <host cryptogram> <C-MAC>`` (Amd D §7.2.1)."""
        context = self.host_challenge + self.card_challenge
        cryptogram = derive(self._s_mac, DD_HOST_CRYPTOGRAM, context, 8 * self.s_mode)
        return self._mac_command(bytes([0x84, 0x82, self.security_level, 0x00]), cryptogram, None)

    def _mac_command(self, header: bytes, data: bytes, le: int | None) -> bytes:
        lc = len(data) + self.s_mode
        if lc > 255:
            raise ValueError("wrapped command too long for a short APDU")
        self._chain = cmac(self._s_mac, self._chain + header + bytes([lc]) + data)
        tail = b"" if le is None else bytes([le])
        return header + bytes([lc]) + data + self._chain[: self.s_mode] + tail

    def wrap(self, apdu: bytes) -> bytes:
        """Protect a short command APDU at the session's security level (Amd D §6.2.4, §6.2.6)."""
        header, data, le = parse_short_apdu(apdu)
        if not self.security_level & SL_C_MAC:
            return apdu
        self._counter += 1
        if data and self.security_level & SL_C_DEC:
            icv = AES.new(self._s_enc, AES.MODE_ECB).encrypt(self._counter.to_bytes(16, "big"))
            data = AES.new(self._s_enc, AES.MODE_CBC, iv=icv).encrypt(pad(data, 16, style="iso7816"))
        cla = header[0] | (0x20 if header[0] & 0x40 else 0x04)
        return self._mac_command(bytes([cla]) + header[1:], data, le)

    def unwrap(self, body: bytes, sw: int) -> bytes:
        """Check R-MAC and decipher R-ENC data of the response to the last wrapped command."""
        success = sw == 0x9000 or (sw >> 8) in (0x62, 0x63)
        if not self.security_level & SL_R_MAC or not success:
            return body
        s = self.s_mode
        if len(body) < s:
            raise Scp03HostError("response without R-MAC")
        data, mac = body[:-s], body[-s:]
        expected = cmac(self._s_rmac, self._chain + data + sw.to_bytes(2, "big"))[:s]
        if not hmac.compare_digest(expected, mac):
            raise Scp03HostError("R-MAC does not verify")
        if data and self.security_level & SL_R_ENC:
            block = b"\x80" + self._counter.to_bytes(15, "big")
            icv = AES.new(self._s_enc, AES.MODE_ECB).encrypt(block)
            try:
                data = unpad(AES.new(self._s_enc, AES.MODE_CBC, iv=icv).decrypt(data), 16, style="iso7816")
            except ValueError as exc:
                raise Scp03HostError("bad R-ENC data") from exc
        return data


# --- key management (GP Card Specification v2.3 §11.8 PUT KEY, §11.2 DELETE) -------------------

AES_KEY_TYPE = 0x88


def encipher_key(dek: bytes, key: bytes, length_byte: bool = True) -> bytes:
    """Key component block of an AES key enciphered with Key-DEK (AES-CBC, ICV zero), GP CS
    §11.8.2.3: with ``length_byte`` the clear length then the zero-padded key (Table 11-70, as
    GlobalPlatformPro sends every AES key); without, the bare ciphertext of a key that fills
    whole blocks (Table 11-71, as pySim sends AES-128/256 keys)."""
    padded = key + bytes(-len(key) % 16)
    if not length_byte and padded != key:
        raise ValueError("a key that does not fill whole blocks needs its length byte")
    return bytes([len(key)] if length_byte else []) + AES.new(dek, AES.MODE_CBC, iv=bytes(16)).encrypt(padded)


def key_data_field(dek: bytes, key: bytes, length_byte: bool = True) -> bytes:
    """One key data field of PUT KEY (GP CS §11.8.2.3): '88' L <key component block> '03' KCV."""
    block = encipher_key(dek, key, length_byte)
    return bytes([AES_KEY_TYPE, len(block)]) + block + b"\x03" + kcv(key)


def put_key_apdu(dek: bytes, p1_kvn: int, new: HostKeySet, length_byte: bool = True) -> bytes:
    """Plain ``80 D8 P1 81 Lc <new KVN> {'88' L block '03' KCV} x 3 00``: P1 = the key set to
    replace ('00': add a new one), P2 = '81' (key ID 1, several keys), ENC / MAC / DEK in order."""
    data = bytes([new.kvn]) + b"".join(key_data_field(dek, k, length_byte) for k in (new.enc, new.mac, new.dek))
    return bytes([0x80, 0xD8, p1_kvn, 0x81, len(data)]) + data + b"\x00"


def put_key_response(new: HostKeySet) -> bytes:
    """The expected PUT KEY response (GP CS §11.8.3.1): new KVN then the KCV of each key."""
    return bytes([new.kvn]) + kcv(new.enc) + kcv(new.mac) + kcv(new.dek)


def delete_key_apdu(kvn: int | None, key_id: int | None = None) -> bytes:
    """Plain DELETE of keys (GP CS §11.2.2.3.2): ``80 E4 00 00 Lc ['D0' 01 KID] ['D2' 01 KVN] 00``."""
    data = (b"" if key_id is None else bytes([0xD0, 1, key_id])) + (b"" if kvn is None else bytes([0xD2, 1, kvn]))
    return bytes([0x80, 0xE4, 0x00, 0x00, len(data)]) + data + b"\x00"
