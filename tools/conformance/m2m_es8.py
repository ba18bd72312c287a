"""The runner as an SGP.02 SM-DP (through its own SM-SR role): ES8 to a new ISD-P, relayed in
SCP80 scripts (SGP.02 v4.2 §3.1.2, §4.1.3).

- ES8.EstablishISDPKeySet (§4.1.3.1): GP Card Spec Amendment E scenario #3 ("ECKA EG") with the
  eUICC's ECASD: INSTALL [for personalization] of the ISD-P and STORE DATA DGI '3A01'
  (CERT.DP.ECDSA) to the ISD-R -> '85' RC; STORE DATA DGI '3A02' CRT || '7F49' ePK.DP.ECKA ||
  '5F37' signature over ('3A02' || '7F49' || '0085' RC) -> ['85' DR] '86' receipt.  ShS =
  x(ECDH(eSK.DP.ECKA, PK.ECASD.ECKA)); ANSI X9.63 KDF (SHA-256, sharedInfo = key usage qualifier
  || key type || key length [|| DR]) gives receipt key || ENC || MAC || DEK; the receipt is
  AES-CMAC(receipt key, CRT [|| '85' DR]).  Byte layout as SPEC_NOTES §2.4 collects it from two
  public SM-DP implementations (the GSMA text is not public).
- ES8.DownloadAndInstallation (§4.1.3.3): SCP03 in TLV mode ("SCP03t", GP Amd D primitives) with
  the ISD-P, addressed by its TAR (SGP.02 Annex H) in scripts secured with the card description's
  SCP80 key set, the ISD-R's (SPEC_NOTES §8 item 7 [R]): '84' INITIALIZE UPDATE, '85' EXTERNAL
  AUTHENTICATE (security level '33'), then the profile package in '86' C-DEC + C-MAC segments
  (SPEC_NOTES §2.5); every script of the download is one TS 102 226 chain ('83').
- The profile package carries POL1 in the SAIP ProfileHeader ``pol`` ([4] -> '84', PE_Definitions
  v3.3.1, SPEC_NOTES §2.6).

Written from those sources for the runner, which never imports the card's code nor the project's
SM-DP / SM-SR tools; the GP Amd D KDF and CMAC come from the host SCP03 library
(:mod:`tools.scp.scp03_host`).
"""
from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad, unpad
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from tools import ber_tlv as tlv
from tools.conformance.m2m import ISD_R_TAR, script, sw_of, tlv_script
from tools.conformance.model import Fail
from tools.conformance.session import Session
from tools.scp.scp03_host import (DD_CARD_CHALLENGE, DD_CARD_CRYPTOGRAM, DD_HOST_CRYPTOGRAM, DD_S_ENC, DD_S_MAC,
                                  DD_S_RMAC, cmac, derive)

CURVES = {0x00: ec.SECP256R1, 0x03: ec.BrainpoolP256R1}   # GP Amd E key parameter reference (SPEC_NOTES §2.4)
GET_ECASD_CERTIFICATE = bytes.fromhex("80CABF30045C027F2100")   # eUICCCapabilityAudit (SGP.02 §4.1.1.5)
ISDP_KVN = 0x30                       # the ISD-P's SCP03 key set (KVN '30'-'3F', key IDs 01-03)
KEY_USAGE, KEY_TYPE, KEY_LENGTH = 0x10, 0x88, 16   # three AES-128 keys (GP Amd E Table 3-3)
SCENARIO = 0x09                       # scenario #3 parameter of the public ISD-P CRT vector (SPEC_NOTES §2.4)
CRT = tlv.encode(0xA6, bytes.fromhex("900203") + bytes([SCENARIO]) + bytes([0x95, 1, KEY_USAGE, 0x80, 1, KEY_TYPE,
                                                                             0x81, 1, KEY_LENGTH, 0x82, 1, 0x01,
                                                                             0x83, 1, ISDP_KVN, 0x91, 0]))
CHAIN_FIRST, CHAIN_NEXT, CHAIN_LAST = 0x01, 0x02, 0x03   # TS 102 226 §5.2.1 script chaining ('83')
SCP03T_KEY_ID, SECURITY_LEVEL = 0x00, 0x33               # SPEC_NOTES §2.5 (C-MAC, C-DEC, R-MAC, R-ENC)
SEGMENT = 1024                        # profile package bytes per '86' TLV (one SCP80 packet)
ERROR_TAGS = (0x9F44, 0x9F45, 0x9F46)  # SCP03t error answers (SPEC_NOTES §2.5)


@dataclass(frozen=True)
class IsdpKeys:
    enc: bytes
    mac: bytes
    dek: bytes


def _objects(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """(tag, whole encoding, value) of each data object, as encoded (signatures cover the bytes sent)."""
    out, i = [], 0
    while i < len(data):
        tag, j = tlv.read_tag(data, i)
        length, k = tlv.read_length(data, j)
        if k + length > len(data):
            raise tlv.TlvError(f"value of {tag:X} runs past the end")
        out.append((tag, data[i:k + length], data[k:k + length]))
        i = k + length
    return out


def raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """ECDSA SHA-256 as r || s (BSI TR-03111 form of SGP.02 certificates and signatures)."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def ecasd_key(s: Session, issuer: ec.EllipticCurvePublicKey | None) -> ec.EllipticCurvePublicKey:
    """PK.ECASD.ECKA from CERT.ECASD.ECKA (GET DATA 'BF30' {'5C' '7F21'} at the ISD-R); the
    certificate's '5F37' signature over its TLVs '93' .. '7F49' checked with the EUM's key when
    the card description gives it (SGP.02 §2.3, GP Amd E §4)."""
    rapdu = script(s, [GET_ECASD_CERTIFICATE])[-1]
    s.check(sw_of(rapdu) == 0x9000, f"GET DATA of CERT.ECASD.ECKA answered {sw_of(rapdu):04X}")
    try:
        data = rapdu[:-2]
        outer = tlv.split(data)
        cert = dict(outer).get(0x7F21) or tlv.find(dict(outer)[0xBF30], 0x7F21)
        items = _objects(cert)
        fields = {t: v for t, _, v in items}
        key_data = dict(tlv.split(fields[0x7F49]))
        curve = CURVES[(key_data.get(0xF0) or b"\x00")[0]]()
        public = ec.EllipticCurvePublicKey.from_encoded_point(curve, key_data[0xB0])
    except (tlv.TlvError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise Fail(f"no readable CERT.ECASD.ECKA in {rapdu.hex().upper()}: {exc!r}") from None
    if issuer is None:
        s.note("CERT.ECASD.ECKA not checked: the card description names no EUM certificate")
        return public
    signed = b"".join(whole for tag, whole, _ in items if tag != 0x5F37)
    signature = fields.get(0x5F37, b"")
    half = len(signature) // 2
    try:
        issuer.verify(encode_dss_signature(int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")),
                      signed, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise Fail("CERT.ECASD.ECKA does not verify with the EUM's key") from None
    return public


def dgi(tag: int, value: bytes) -> bytes:
    """A GP DGI: 2-byte tag, length in 1 byte (below 255) or 'FF' + 2 bytes (GP CS §11.11.2.2)."""
    length = bytes([len(value)]) if len(value) < 0xFF else b"\xff" + len(value).to_bytes(2, "big")
    return tag.to_bytes(2, "big") + length + value


def _apdu(header: str, data: bytes) -> bytes:
    return bytes.fromhex(header) + bytes([len(data)]) + data + b"\x00"


def establish_isdp_key_set(s: Session, aid: bytes, dp_key: ec.EllipticCurvePrivateKey, dp_certificate: bytes,
                           ecasd: ec.EllipticCurvePublicKey) -> IsdpKeys:
    """ES8.EstablishISDPKeySet (SGP.02 §4.1.3.1) in two chained scripts to the ISD-R; the ISD-P's
    key set, once the card's receipt proves it derived the same."""
    install = _apdu("80E62000", b"\x00\x00" + bytes([len(aid)]) + aid + b"\x00\x00\x00")
    certificate = _apdu("80E20900", dgi(0x3A01, dp_certificate))
    first = script_chained(s, [install, certificate], CHAIN_FIRST)
    s.check(sw_of(first[0]) == 0x9000, f"INSTALL [for personalization] answered {sw_of(first[0]):04X}")
    s.check(len(first) == 2 and sw_of(first[1]) == 0x9000, f"STORE DATA '3A01' (CERT.DP.ECDSA) answered {first[-1].hex()}")
    try:
        challenge = tlv.unwrap(first[1][:-2], 0x85)
    except tlv.TlvError as exc:
        raise Fail(f"no random challenge '85' after CERT.DP.ECDSA: {exc}") from None
    s.check(len(challenge) > 0, "an empty random challenge")
    ephemeral = ec.generate_private_key(ecasd.curve)
    point = ephemeral.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    reference = next(ref for ref, curve in CURVES.items() if isinstance(ecasd.curve, curve))
    signed = dgi(0x3A02, CRT) + dgi(0x7F49, tlv.encode(0xB0, point) + tlv.encode(0xF0, bytes([reference])))
    signature = raw_signature(dp_key, signed + dgi(0x0085, challenge))
    second = script_chained(s, [_apdu("80E28901", signed + dgi(0x5F37, signature))], CHAIN_LAST)
    s.check(sw_of(second[-1]) == 0x9000, f"STORE DATA '3A02' (key agreement) answered {sw_of(second[-1]):04X}")
    try:
        answer = dict(tlv.split(second[-1][:-2]))
    except tlv.TlvError as exc:
        raise Fail(f"the key agreement answer does not decode: {exc}") from None
    receipt, derivation = answer.get(0x86, b""), answer.get(0x85)
    s.check(len(receipt) == 16, f"no 16-byte receipt '86' in {second[-1].hex().upper()}")
    shared = ephemeral.exchange(ec.ECDH(), ecasd)
    info = bytes([KEY_USAGE, KEY_TYPE, KEY_LENGTH]) + (derivation or b"")
    data = X963KDF(hashes.SHA256(), 4 * KEY_LENGTH, info).derive(shared)
    keys = [data[i:i + KEY_LENGTH] for i in range(0, 4 * KEY_LENGTH, KEY_LENGTH)]
    expected = cmac(keys[0], CRT + (tlv.encode(0x85, derivation) if derivation is not None else b""))
    s.check(hmac.compare_digest(expected, receipt), "the receipt does not verify: the card derived other keys")
    s.note(f"ISD-P key set {ISDP_KVN:02X} established (receipt verified)")
    return IsdpKeys(*keys[1:])


def script_chained(s: Session, apdus: list[bytes], chaining: int, tar: bytes = ISD_R_TAR) -> list[bytes]:
    """C-APDUs in one script of a chain; the R-APDUs ('23' objects)."""
    items = tlv_script(s, [tlv.encode(0x22, a) for a in apdus], ", ".join(a[:4].hex().upper() for a in apdus), tar, chaining)
    return [v for t, v in items if t == 0x23]


def _data_header(length: int) -> bytes:
    """Tag '86' and the length octets, the part of an '86' object its MAC covers before the data."""
    return tlv.encode(0x86, bytes(length))[:len(tlv.encode(0x86, bytes(length))) - length]


class Scp03t:
    """The SM-DP side of one SCP03t session with an ISD-P (SPEC_NOTES §2.5, GP Amd D §6)."""

    def __init__(self, keys: IsdpKeys, aid: bytes) -> None:
        self.keys, self.aid = keys, aid
        self.host_challenge = os.urandom(8)
        self.s_enc = self.s_mac = self.s_rmac = b""
        self.mcv, self.counter = bytes(16), 0

    def initialize_update(self) -> bytes:
        return tlv.encode(0x84, bytes([ISDP_KVN, SCP03T_KEY_ID]) + self.host_challenge)

    def external_authenticate(self, s: Session, answer: bytes) -> bytes:
        """Check the '84' answer (KVN, SCP03, card cryptogram, pseudo-random card challenge when
        i has b5 set); the '85' TLV with host cryptogram and C-MAC."""
        s.check(len(answer) == 32 and answer[10] == ISDP_KVN and answer[11] == 0x03,
                f"not an SCP03 INITIALIZE UPDATE answer for KVN {ISDP_KVN:02X}: {answer.hex().upper()}")
        card_challenge = answer[13:21]
        context = self.host_challenge + card_challenge
        self.s_enc = derive(self.keys.enc, DD_S_ENC, context, 128)
        self.s_mac = derive(self.keys.mac, DD_S_MAC, context, 128)
        self.s_rmac = derive(self.keys.mac, DD_S_RMAC, context, 128)
        s.check(hmac.compare_digest(derive(self.s_mac, DD_CARD_CRYPTOGRAM, context, 64), answer[21:29]),
                "the card cryptogram does not verify")
        if answer[12] & 0x10:
            s.check(derive(self.keys.enc, DD_CARD_CHALLENGE, answer[29:32] + self.aid, 64) == card_challenge,
                    "the pseudo-random card challenge does not verify (GP Amd D §6.2.2.1)")
        body = bytes([SECURITY_LEVEL]) + derive(self.s_mac, DD_HOST_CRYPTOGRAM, context, 64)
        self.mcv = cmac(self.s_mac, self.mcv + bytes([0x85, len(body) + 8]) + body)
        return tlv.encode(0x85, body + self.mcv[:8])

    def wrap(self, data: bytes) -> bytes:
        """'86' {AES-CBC(S-ENC, ICV = AES(S-ENC, counter)) of the padded data || C-MAC}."""
        self.counter += 1
        icv = AES.new(self.s_enc, AES.MODE_ECB).encrypt(self.counter.to_bytes(16, "big"))
        ciphertext = AES.new(self.s_enc, AES.MODE_CBC, iv=icv).encrypt(pad(data, 16, style="iso7816"))
        header = _data_header(len(ciphertext) + 8)
        self.mcv = cmac(self.s_mac, self.mcv + header + ciphertext)
        return header + ciphertext + self.mcv[:8]

    def unwrap(self, s: Session, value: bytes) -> bytes:
        """The data of an '86' answer: R-MAC checked, R-ENC deciphered (ICV counter block with '80' first)."""
        if not value:
            return b""
        s.check(len(value) >= 8, "an '86' answer shorter than its R-MAC")
        ciphertext, mac = value[:-8], value[-8:]
        header = _data_header(len(value))
        s.check(hmac.compare_digest(cmac(self.s_rmac, self.mcv + header + ciphertext)[:8], mac),
                "the R-MAC of the '86' answer does not verify")
        if not ciphertext:
            return b""
        icv = AES.new(self.s_enc, AES.MODE_ECB).encrypt(b"\x80" + self.counter.to_bytes(15, "big"))
        try:
            return unpad(AES.new(self.s_enc, AES.MODE_CBC, iv=icv).decrypt(ciphertext), 16, style="iso7816")
        except ValueError:
            raise Fail("bad R-ENC padding in the '86' answer") from None


def answer_of(s: Session, items: list[tuple[int, bytes]], tag: int) -> bytes:
    for t, v in items:
        s.check(t not in ERROR_TAGS, f"the ISD-P answered the error {t:X} {v.hex().upper()}")
        if t == tag:
            return v
    raise Fail(f"no '{tag:02X}' answer: {[(f'{t:X}', v.hex()) for t, v in items]}")


def download(s: Session, aid: bytes, keys: IsdpKeys, package: bytes) -> None:
    """ES8.DownloadAndInstallation (SGP.02 §4.1.3.3): SCP03t to the ISD-P's TAR (SGP.02 Annex H),
    all its scripts one chain; each '86' answer verified."""
    tar, session = aid[12:15], Scp03t(keys, aid)
    opened = answer_of(s, tlv_script(s, [session.initialize_update()], "SCP03t '84'", tar, CHAIN_FIRST), 0x84)
    authenticate = session.external_authenticate(s, opened)
    s.check(answer_of(s, tlv_script(s, [authenticate], "SCP03t '85'", tar, CHAIN_NEXT), 0x85) == b"",
            "EXTERNAL AUTHENTICATE '85' answered with data")
    segments = [package[i:i + SEGMENT] for i in range(0, len(package), SEGMENT)]
    for number, segment in enumerate(segments, 1):
        chaining = CHAIN_LAST if number == len(segments) else CHAIN_NEXT
        items = tlv_script(s, [session.wrap(segment)], f"SCP03t '86' {number}/{len(segments)}", tar, chaining)
        answer = session.unwrap(s, answer_of(s, items, 0x86))
        if answer:
            s.note(f"the ISD-P answered {answer.hex().upper()}")


def with_pol1(package: bytes, pol1: int) -> bytes:
    """The package with ProfileHeader ``pol`` = ``pol1`` (SAIP PE_Definitions: the first element is
    the header [0] 'A0'; AUTOMATIC TAGS put pol [4] '84' after iccid [3] '83', before [5])."""
    tag, at = tlv.read_tag(package, 0)
    length, start = tlv.read_length(package, at)
    if tag != 0xA0:
        raise ValueError("the profile package does not start with a ProfileHeader")
    fields = [(t, whole) for t, whole, _ in _objects(package[start:start + length]) if t != 0x84]
    at = next((i for i, (t, _) in enumerate(fields) if t < 0x100 and t & 0x1F > 4), len(fields))
    fields.insert(at, (0x84, tlv.encode(0x84, bytes([pol1]))))
    return tlv.encode(0xA0, b"".join(whole for _, whole in fields)) + package[start + length:]
