"""SCP03 in TLV mode ("SCP03t") between the SM-DP and an ISD-P, off-card side (SGP.02 v4.2 §4.1.3.3,
GP Amd D §6 primitives; TLV framing as SPEC_NOTES §2.5 collects it):

- '84' 0A KVN keyID host-challenge(8) -> '84' 20 {diversification data(10), KVN, '03', i,
  card challenge(8), card cryptogram(8), sequence counter(3)};
- '85' 11 SL host-cryptogram(8) C-MAC(8), C-MAC = CMAC(S-MAC, MCV(0) || '85' '11' SL cryptogram);
  the MCV continues from that CMAC -> '85' 00 (or '9F45' error);
- '86' L {AES-CBC(S-ENC, ICV = AES(S-ENC, counter)) of '80'-padded data || C-MAC(8)},
  C-MAC = CMAC(S-MAC, MCV || '86' || L || ciphertext) -> '86' 00, or '86' L {R-ENC || R-MAC} with
  R-MAC = CMAC(S-RMAC, MCV || '86' || L || ciphertext) and response ICV = AES(S-ENC, '80' || counter).

Session keys and cryptograms reuse the host SCP03 library (tools.scp.scp03_host), never card code.
"""
from __future__ import annotations

import hmac
import os

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad, unpad

from euicc import tlv
from tools.scp.scp03_host import (DD_CARD_CHALLENGE, DD_CARD_CRYPTOGRAM, DD_HOST_CRYPTOGRAM, DD_S_ENC, DD_S_MAC,
                                  DD_S_RMAC, HostKeySet, cmac, derive)

TAG_INITIALIZE_UPDATE, TAG_EXTERNAL_AUTHENTICATE, TAG_DATA = 0x84, 0x85, 0x86
ERROR_TAGS = {0x9F44: "INITIALIZE UPDATE error", 0x9F45: "EXTERNAL AUTHENTICATE error", 0x9F46: "data error"}


class Scp03tError(Exception):
    """The ISD-P's answer does not authenticate or reports an error TLV ('9F45'/'9F46', §8 item 6)."""


class Scp03tHost:
    """One SCP03t session of the SM-DP with one ISD-P."""

    def __init__(self, keys: HostKeySet, isdp_aid: bytes, key_id: int = 0x00, security_level: int = 0x33,
                 host_challenge: bytes | None = None) -> None:
        self.keys, self.isdp_aid, self.key_id, self.security_level = keys, isdp_aid, key_id, security_level
        self.host_challenge = host_challenge or os.urandom(8)
        self.card_challenge = b""
        self._s_enc = self._s_mac = self._s_rmac = b""
        self._mcv = bytes(16)
        self._counter = 0

    def initialize_update(self) -> bytes:
        return tlv.tlv(TAG_INITIALIZE_UPDATE, bytes([self.keys.kvn, self.key_id]) + self.host_challenge)

    def process_initialize_update(self, items: list[tuple[int, bytes]]) -> None:
        value = _expect(items, TAG_INITIALIZE_UPDATE)
        if len(value) != 32 or value[11] != 0x03:
            raise Scp03tError(f"not an SCP03 INITIALIZE UPDATE answer: {value.hex()}")
        if value[10] != self.keys.kvn:
            raise Scp03tError(f"card answered with key version {value[10]:02X}")
        self.card_challenge = value[13:21]
        context = self.host_challenge + self.card_challenge
        self._s_enc = derive(self.keys.enc, DD_S_ENC, context, 128)
        self._s_mac = derive(self.keys.mac, DD_S_MAC, context, 128)
        self._s_rmac = derive(self.keys.mac, DD_S_RMAC, context, 128)
        if not hmac.compare_digest(derive(self._s_mac, DD_CARD_CRYPTOGRAM, context, 64), value[21:29]):
            raise Scp03tError("card cryptogram does not verify")
        if value[12] & 0x10 and derive(self.keys.enc, DD_CARD_CHALLENGE, value[29:32] + self.isdp_aid, 64) != self.card_challenge:
            raise Scp03tError("pseudo-random card challenge does not verify (GP Amd D §6.2.2.1)")

    def external_authenticate(self) -> bytes:
        context = self.host_challenge + self.card_challenge
        body = bytes([self.security_level]) + derive(self._s_mac, DD_HOST_CRYPTOGRAM, context, 64)
        self._mcv = cmac(self._s_mac, self._mcv + bytes([TAG_EXTERNAL_AUTHENTICATE, len(body) + 8]) + body)
        return tlv.tlv(TAG_EXTERNAL_AUTHENTICATE, body + self._mcv[:8])

    def process_external_authenticate(self, items: list[tuple[int, bytes]]) -> None:
        if _expect(items, TAG_EXTERNAL_AUTHENTICATE):
            raise Scp03tError("EXTERNAL AUTHENTICATE answered with data")

    def wrap(self, data: bytes) -> bytes:
        """One '86' command TLV carrying ``data`` (C-DEC and C-MAC)."""
        self._counter += 1
        icv = AES.new(self._s_enc, AES.MODE_ECB).encrypt(self._counter.to_bytes(16, "big"))
        ciphertext = AES.new(self._s_enc, AES.MODE_CBC, iv=icv).encrypt(pad(data, 16, style="iso7816"))
        header = bytes([TAG_DATA]) + tlv.encode_length(len(ciphertext) + 8)
        self._mcv = cmac(self._s_mac, self._mcv + header + ciphertext)
        return header + ciphertext + self._mcv[:8]

    def unwrap(self, items: list[tuple[int, bytes]]) -> bytes:
        """The answer to the last '86': R-MAC checked, R-ENC data deciphered ('86 00' = no data)."""
        value = _expect(items, TAG_DATA)
        if not value:
            return b""
        if len(value) < 8:
            raise Scp03tError("'86' answer shorter than its R-MAC")
        ciphertext, mac = value[:-8], value[-8:]
        header = bytes([TAG_DATA]) + tlv.encode_length(len(value))
        if not hmac.compare_digest(cmac(self._s_rmac, self._mcv + header + ciphertext)[:8], mac):
            raise Scp03tError("R-MAC of the '86' answer does not verify")
        if not ciphertext:
            return b""
        icv = AES.new(self._s_enc, AES.MODE_ECB).encrypt(b"\x80" + self._counter.to_bytes(15, "big"))
        try:
            return unpad(AES.new(self._s_enc, AES.MODE_CBC, iv=icv).decrypt(ciphertext), 16, style="iso7816")
        except ValueError as exc:
            raise Scp03tError("bad R-ENC padding") from exc


def _expect(items: list[tuple[int, bytes]], tag: int) -> bytes:
    for t, v in items:
        if t in ERROR_TAGS:
            raise Scp03tError(f"{ERROR_TAGS[t]} {v.hex()}")
        if t == tag:
            return v
    raise Scp03tError(f"no '{tag:02X}' TLV in the answer {[(hex(t), v.hex()) for t, v in items]}")


def segment_upp(upp: bytes, size: int) -> list[bytes]:
    """Split a UPP into ``size``-byte segments, one per '86' TLV; the ISD-P joins the deciphered
    segments into the package (SGP.02 §4.1.3.3), so segments need not end on a PE boundary."""
    if size <= 0:
        raise ValueError("segment size must be positive")
    return [upp[i:i + size] for i in range(0, len(upp), size)]
