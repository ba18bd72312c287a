"""SCP03t, SCP03 in TLV mode between the SM-DP and an ISD-P (SGP.02 v4.2 §4.1.3.3 / §5.x;
layout SPEC_NOTES §2.5), card side.

- '84' {KVN, key ID, host challenge(8)} -> '84' {key diversification data(10), KVN, '03', i,
  card challenge(8), card cryptogram(8), sequence counter(3)}: GP Amd D §7.1 computations
  (pseudo-random card challenge, i = '70').
- '85' {SL, host cryptogram(8), C-MAC(8)}, C-MAC = CMAC(S-MAC, MCV || '85' || L || SL || host
  cryptogram) -> '85 00', or '9F45 01 01' (MAC / cryptogram failure).
- '86' {C-ENC data || C-MAC(8)}, C-MAC = CMAC(S-MAC, MCV || '86' || L || ciphertext), ICV =
  AES(S-ENC, counter) with the counter incremented per command (GP Amd D §6.2.6) -> plain data,
  or '9F46 01 01' (MAC / padding failure); a block outside an authenticated session (none yet,
  or closed by a failure) is out of sequence: '9F46 01 02' (SPEC_NOTES §8.6, "other error").
- A '86' answer with data (the SAIP EUICCResponse of a refused package, SPEC_NOTES §2.5):
  '86' L {R-ENC || R-MAC(8)}, R-ENC = AES-CBC(S-ENC, ICV = AES(S-ENC, '80' || counter)) of the
  '80'-padded data, R-MAC = CMAC(S-RMAC, MCV || '86' || L || R-ENC) (GP Amd D §6.2.7).
The MCV chains from the '85' MAC on (SPEC_NOTES §2.5, as WHTY and pySim do).
"""
from __future__ import annotations

import hmac
from dataclasses import replace

from euicc.crypto.kdf import DerivationConstant, scp03_kdf
from euicc.crypto.primitives import PaddingError, aes_cmac
from euicc.crypto.scp03 import (BLOCK, MAC_LENGTH, Scp03KeySet, SessionKeys, cbc_decrypt, cbc_encrypt,
                                counter_icv)
from euicc.m2m.keystore import Scp03Store
from euicc.tlv import encode_length, tlv

I_PARAMETER = 0x70
AUTH_FAILED = bytes.fromhex("9F450101")
AUTH_ERROR = bytes.fromhex("9F450102")
DATA_FAILED = bytes.fromhex("9F460101")
DATA_ERROR = bytes.fromhex("9F460102")
INIT_FAILED = bytes.fromhex("9F440102")     # [U: SPEC_NOTES §8.6]


class Scp03tSession:
    """One SCP03t session with ISD-P `aid` (volatile; keys and sequence counter persistent)."""

    def __init__(self, keys: Scp03Store, aid: bytes, diversification: bytes = bytes(10)) -> None:
        self.keys = keys
        self.aid = aid
        self.diversification = diversification
        self.session: SessionKeys | None = None
        self.authenticated = False
        self._challenges = b""
        self._mcv = bytes(BLOCK)
        self._counter = 0

    def initialize_update(self, value: bytes) -> bytes:
        self.session, self.authenticated = None, False
        sets = self.keys.all()
        if len(value) != 10:
            return INIT_FAILED
        kvn = value[0] or (min(sets) if sets else 0)
        stored = sets.get(kvn)
        if stored is None:
            return INIT_FAILED
        counter = stored.sequence_counter + 1
        if counter > 0xFFFFFF:
            return INIT_FAILED
        self.keys.put(replace(stored, sequence_counter=counter))
        seq = counter.to_bytes(3, "big")
        card_challenge = scp03_kdf(stored.enc, DerivationConstant.CARD_CHALLENGE, seq + self.aid, 64)
        host_challenge = value[2:]
        key_set = Scp03KeySet(stored.kvn, stored.enc, stored.mac, stored.dek)
        self.session = SessionKeys.derive(key_set, host_challenge, card_challenge)
        self._challenges = host_challenge + card_challenge
        cryptogram = scp03_kdf(self.session.s_mac, DerivationConstant.CARD_CRYPTOGRAM, self._challenges, 64)
        self._mcv, self._counter = bytes(BLOCK), 0
        return tlv(0x84, self.diversification + bytes((stored.kvn, 0x03, I_PARAMETER))
                   + card_challenge + cryptogram + seq)

    def external_authenticate(self, value: bytes) -> bytes:
        if self.session is None or self.authenticated or len(value) != 17 or value[0] != 0x33:
            self.session = None
            return AUTH_ERROR
        mac = aes_cmac(self.session.s_mac, self._mcv + b"\x85" + encode_length(len(value)) + value[:9])
        expected = scp03_kdf(self.session.s_mac, DerivationConstant.HOST_CRYPTOGRAM, self._challenges, 64)
        if not (hmac.compare_digest(mac[:MAC_LENGTH], value[9:])
                and hmac.compare_digest(expected, value[1:9])):
            self.session = None
            return AUTH_FAILED
        self._mcv, self.authenticated = mac, True
        return b"\x85\x00"

    @property
    def established(self) -> bool:
        """EXTERNAL AUTHENTICATE succeeded and no verification failed since."""
        return self.session is not None and self.authenticated

    def unwrap(self, value: bytes) -> bytes | None:
        """Decipher one '86' command; None (and the session closed) when it does not verify."""
        if self.session is None or not self.authenticated or len(value) < MAC_LENGTH + BLOCK:
            self.session = None
            return None
        body = value[:-MAC_LENGTH]
        mac = aes_cmac(self.session.s_mac, self._mcv + b"\x86" + encode_length(len(value)) + body)
        if not hmac.compare_digest(mac[:MAC_LENGTH], value[-MAC_LENGTH:]):
            self.session = None
            return None
        self._mcv = mac
        self._counter += 1
        try:
            return cbc_decrypt(self.session.s_enc, counter_icv(self.session.s_enc, self._counter), body)
        except PaddingError:
            self.session = None
            return None

    def wrap(self, data: bytes) -> bytes:
        """The '86' answer carrying ``data`` to the last unwrapped '86' (module docstring)."""
        if self.session is None:
            return DATA_ERROR
        body = cbc_encrypt(self.session.s_enc, counter_icv(self.session.s_enc, self._counter, True), data)
        header = b"\x86" + encode_length(len(body) + MAC_LENGTH)
        return header + body + aes_cmac(self.session.s_rmac, self._mcv + header + body)[:MAC_LENGTH]
