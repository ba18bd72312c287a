"""Off-card side of the SGP.02 key establishment: GP Card Spec Amendment E, Scenario #3 (ECKA EG).

ES8.EstablishISDPKeySet (SM-DP, SGP.02 §3.3.1 / §4.1.3.1) and ES5.EstablishISDRKeySet (new SM-SR,
SGP.02 §3.7 / §4.1.1.8) exchange the same three commands (SPEC_NOTES §2.4):

1. (ISD-P only) INSTALL [for personalization] of the ISD-P, sent to the ISD-R;
2. STORE DATA '80 E2 09 00' DGI '3A01' = the entity's '7F21' certificate -> '85' L RC;
3. STORE DATA '80 E2 89 01' DGI '3A02' {'A6' CRT} || DGI '7F49' ePK || DGI '5F37' signature over
   '3A02' TLV || '7F49' TLV || '00 85' L RC -> ['85' L DR] '86 10' receipt.

Key data: ShS = x(ECDH(eSK, PK.ECASD.ECKA)); ANSI X9.63 KDF with SHA-256 and sharedInfo = KUQ ||
key type || key length [|| DR]; receipt key || key 1 || key 2 || key 3; receipt =
AES-CMAC(receipt key, 'A6' CRT TLV || ['85' L DR]).  The KDF is composed from hashlib here on
purpose (ANSI X9.63 §5.6.3) so the card's KDF is checked against a second implementation.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from Crypto.Cipher import AES
from Crypto.Hash import CMAC

from euicc import tlv
from tools.smsr import es5
from tools.smsr.gp_certificate import point_of, public_key_data, sign_raw
from tools.smsr.settings import DEFAULT, M2mSettings


class KeyEstablishmentError(ValueError):
    """The card's answer to a key establishment step is malformed or its receipt is wrong."""


def x963_kdf(shared_secret: bytes, shared_info: bytes, length: int) -> bytes:
    """ANSI X9.63 KDF with SHA-256: SHA-256(Z || counter(4) || sharedInfo), counter from 1."""
    out, counter = b"", 1
    while len(out) < length:
        out += hashlib.sha256(shared_secret + counter.to_bytes(4, "big") + shared_info).digest()
        counter += 1
    return out[:length]


def crt(s: M2mSettings, kvn: int, first_key_id: int = 0x01, initial_counter: bytes = b"") -> bytes:
    """Control reference template 'A6' (GP Amd E Table 3-3 / SPEC_NOTES §2.4)."""
    body = (tlv.tlv(0x90, bytes([0x03, s.scenario_parameter])) + tlv.tlv(0x95, bytes([s.key_usage_qualifier]))
            + tlv.tlv(0x80, bytes([s.key_type])) + tlv.tlv(0x81, bytes([s.key_length]))
            + tlv.tlv(0x82, bytes([first_key_id])) + tlv.tlv(0x83, bytes([kvn])) + tlv.tlv(0x91, initial_counter))
    return tlv.tlv(0xA6, body)


def certificate_command(certificate: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """Step 2: STORE DATA P1 '09' P2 '00', DGI '3A01' = the off-card entity's certificate."""
    return es5.store_data(es5.P1_MORE_DGI_RESPONSE, 0x00, es5.dgi(0x3A01, certificate), s)


def key_agreement_command(crt_tlv: bytes, epk: bytes, signature: bytes, s: M2mSettings = DEFAULT) -> bytes:
    """Step 3: STORE DATA P1 '89' P2 '01': DGI '3A02' CRT || DGI '7F49' ePK || DGI '5F37' signature
    (also what an old SM-SR relays for the new one, ES7.CreateAdditionalKeySet)."""
    data = es5.dgi(0x3A02, crt_tlv) + es5.dgi(0x7F49, epk) + es5.dgi(0x5F37, signature)
    return es5.store_data(es5.P1_LAST_DGI_RESPONSE, 0x01, data, s)


@dataclass(frozen=True)
class EstablishedKeys:
    """The key set both sides now hold: KVN, first key ID and the keys in key-ID order."""

    kvn: int
    first_key_id: int
    keys: tuple[bytes, ...]
    receipt: bytes


class KeyEstablishment:
    """One Scenario #3 run by the SM-DP or the new SM-SR (the off-card entity)."""

    def __init__(self, signing_key: ec.EllipticCurvePrivateKey, certificate: bytes,
                 ecasd_public: ec.EllipticCurvePublicKey, kvn: int, s: M2mSettings = DEFAULT,
                 first_key_id: int = 0x01, ephemeral: ec.EllipticCurvePrivateKey | None = None) -> None:
        self.s = s
        self.signing_key, self.certificate, self.ecasd_public = signing_key, certificate, ecasd_public
        self.kvn, self.first_key_id = kvn, first_key_id
        self.ephemeral = ephemeral or ec.generate_private_key(ecasd_public.curve)
        self.random_challenge: bytes | None = None
        self.crt = crt(s, kvn, first_key_id)

    @staticmethod
    def install_for_personalization(isdp_aid: bytes) -> bytes:
        """INSTALL [for personalization] '80 E6 20 00' {00 00 L AID 00 00 00} (GP §11.5.2.3.5)."""
        data = b"\x00\x00" + bytes([len(isdp_aid)]) + isdp_aid + b"\x00\x00\x00"
        return es5.apdu(es5.INS_INSTALL, 0x20, 0x00, data)

    def store_certificate(self) -> bytes:
        """Step 2: STORE DATA P1 '09' P2 '00', DGI '3A01' = certificate."""
        return certificate_command(self.certificate, self.s)

    def process_challenge(self, response: bytes) -> None:
        """The card's '85' L RC answer to step 2."""
        try:
            self.random_challenge = tlv.unwrap(response, 0x85)
        except tlv.TlvError as exc:
            raise KeyEstablishmentError(f"no random challenge in {response.hex()}") from exc
        if not self.random_challenge:
            raise KeyEstablishmentError("empty random challenge")

    def key_agreement(self) -> tuple[bytes, bytes]:
        """Step 3's ePK ('7F49' value) and signature over '3A02' CRT || '7F49' ePK || '0085' RC."""
        if self.random_challenge is None:
            raise KeyEstablishmentError("no random challenge yet")
        epk = public_key_data(point_of(self.ephemeral.public_key()), self.s.curve_reference, self.s.epk_with_b0_f0)
        signed = es5.dgi(0x3A02, self.crt) + es5.dgi(0x7F49, epk) + es5.dgi(0x0085, self.random_challenge)
        return epk, sign_raw(self.signing_key, signed)

    def store_keys(self) -> bytes:
        """Step 3: STORE DATA P1 '89' P2 '01': DGI '3A02' CRT || DGI '7F49' ePK || DGI '5F37' signature."""
        return key_agreement_command(self.crt, *self.key_agreement(), self.s)

    def process_receipt(self, response: bytes) -> EstablishedKeys:
        """Derive the key set and check the card's receipt ('86' 10, optionally after '85' DR)."""
        try:
            items = dict(tlv.iter_tlv(response))
        except tlv.TlvError as exc:
            raise KeyEstablishmentError(f"bad receipt answer {response.hex()}") from exc
        receipt, dr = items.get(0x86), items.get(0x85)
        if receipt is None or len(receipt) != 16:
            raise KeyEstablishmentError(f"no 16-byte receipt in {response.hex()}")
        shared = self.ephemeral.exchange(ec.ECDH(), self.ecasd_public)
        info = bytes([self.s.key_usage_qualifier, self.s.key_type, self.s.key_length]) + (dr or b"")
        count = 3 if self.s.key_usage_qualifier == 0x10 else 1
        data = x963_kdf(shared, info, self.s.key_length * (count + 1))
        receipt_key = data[:self.s.key_length]
        keys = tuple(data[self.s.key_length * (i + 1):self.s.key_length * (i + 2)] for i in range(count))
        mac_input = self.crt + (tlv.tlv(0x85, dr) if dr is not None else b"")
        expected = CMAC.new(receipt_key, msg=mac_input, ciphermod=AES).digest()
        if not hmac.compare_digest(expected, receipt):
            raise KeyEstablishmentError("receipt does not verify: the card derived other keys")
        return EstablishedKeys(self.kvn, self.first_key_id, keys, receipt)
