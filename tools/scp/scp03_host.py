"""Off-card entity for GlobalPlatform SCP03 (host side, independent of the card code).

GP Card Specification v2.3 Amendment D v1.1.2: INITIALIZE UPDATE / EXTERNAL AUTHENTICATE
(§7.1, §7.2), session keys and cryptograms (§6.2.1, §6.2.2), command wrapping (C-MAC §6.2.4,
C-ENC §6.2.6) and response unwrapping (R-MAC §6.2.5, R-ENC §6.2.7).

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

    def __init__(self, keys: HostKeySet, security_level: int, host_challenge: bytes | None = None):
        self.keys = keys
        self.security_level = security_level
        self.host_challenge = host_challenge if host_challenge is not None else os.urandom(8)
        self.card_challenge = b""
        self.sequence_counter: int | None = None
        self.i_parameter = 0
        self._s_enc = self._s_mac = self._s_rmac = b""
        self._chain = bytes(16)
        self._counter = 0

    def initialize_update(self, p1_kvn: int | None = None) -> bytes:
        """``80 50 KVN 00 08 <host challenge> 00`` (Amd D §7.1.1)."""
        kvn = self.keys.kvn if p1_kvn is None else p1_kvn
        return bytes([0x80, 0x50, kvn, 0x00, 0x08]) + self.host_challenge + b"\x00"

    def process_initialize_update(self, rsp: bytes, sd_aid: bytes | None = None) -> None:
        """Check the INITIALIZE UPDATE response (Amd D §7.1.2) and derive the session keys.

        With ``sd_aid`` and a pseudo-random challenge (i bit '10'), the card challenge is also
        recomputed from the sequence counter (Amd D §6.2.2.1).
        """
        if len(rsp) not in (29, 32) or rsp[11] != 0x03:
            raise Scp03HostError("not an SCP03 INITIALIZE UPDATE response")
        if rsp[10] != self.keys.kvn:
            raise Scp03HostError("card answered with another key version")
        self.i_parameter = rsp[12]
        self.card_challenge, card_cryptogram = rsp[13:21], rsp[21:29]
        self.sequence_counter = int.from_bytes(rsp[29:32], "big") if len(rsp) == 32 else None
        context = self.host_challenge + self.card_challenge
        bits = 8 * len(self.keys.enc)
        self._s_enc = derive(self.keys.enc, DD_S_ENC, context, bits)
        self._s_mac = derive(self.keys.mac, DD_S_MAC, context, bits)
        self._s_rmac = derive(self.keys.mac, DD_S_RMAC, context, bits)
        if not hmac.compare_digest(derive(self._s_mac, DD_CARD_CRYPTOGRAM, context, 64), card_cryptogram):
            raise Scp03HostError("card cryptogram does not verify")
        if sd_aid is not None and self.i_parameter & 0x10:
            expected = derive(self.keys.enc, DD_CARD_CHALLENGE, rsp[29:32] + sd_aid, 64)
            if expected != self.card_challenge:
                raise Scp03HostError("pseudo-random card challenge does not verify")

    def external_authenticate(self) -> bytes:
        """``84 82 SL 00 10 <host cryptogram> <C-MAC>`` (Amd D §7.2.1)."""
        context = self.host_challenge + self.card_challenge
        cryptogram = derive(self._s_mac, DD_HOST_CRYPTOGRAM, context, 64)
        return self._mac_command(bytes([0x84, 0x82, self.security_level, 0x00]), cryptogram, None)

    def _mac_command(self, header: bytes, data: bytes, le: int | None) -> bytes:
        lc = len(data) + 8
        if lc > 255:
            raise ValueError("wrapped command too long for a short APDU")
        self._chain = cmac(self._s_mac, self._chain + header + bytes([lc]) + data)
        tail = b"" if le is None else bytes([le])
        return header + bytes([lc]) + data + self._chain[:8] + tail

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
        if len(body) < 8:
            raise Scp03HostError("response without R-MAC")
        data, mac = body[:-8], body[-8:]
        expected = cmac(self._s_rmac, self._chain + data + sw.to_bytes(2, "big"))[:8]
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
