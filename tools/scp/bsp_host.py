"""SM-DP+ side of the SGP.22 Bound Profile Package protection (BSP / SCP03t), host only.

GSMA SGP.22 v2.5 §2.6.4 and Annex G, written from the specification independently of the card
code (never imports ``euicc``): ECKA with the eUICC's one-time key, X9.63 key derivation, and
protection of ``87`` / ``88`` / ``86`` segments including ReplaceSessionKeys (§5.5.4) so tests
can build protected Bound Profile Packages.  AES and CMAC come from pycryptodome, ECDH and the
X9.63 KDF from pyca/cryptography.
"""
from __future__ import annotations

from dataclasses import dataclass

from Crypto.Cipher import AES
from Crypto.Hash import CMAC
from Crypto.Util.Padding import pad
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

# Bytes per protected TLV incl. tag, length and MAC: SGP.22 v3 §2.5.3 as pySim quotes it [U].
MAX_SEGMENT = 1020
CURVES = {"secp256r1": ec.SECP256R1, "brainpoolP256r1": ec.BrainpoolP256R1}


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 + len(raw)]) + raw


def ecka_shared_secret(curve: str, own_private: ec.EllipticCurvePrivateKey, peer_point: bytes) -> bytes:
    """BSI TR-03111 ECKA-DH: x-coordinate of own_private * peer (uncompressed 04||X||Y)."""
    peer = ec.EllipticCurvePublicKey.from_encoded_point(CURVES[curve](), peer_point)
    return own_private.exchange(ec.ECDH(), peer)


@dataclass(frozen=True)
class SessionKeySet:
    """The three values of one BSP key set."""

    initial_mcv: bytes
    s_enc: bytes
    s_mac: bytes


def session_keys(shared_secret: bytes, host_id: bytes, eid: bytes, key_type: int = 0x88,
                 key_length: int = 0x10) -> SessionKeySet:
    """SGP.22 Annex G: X9.63 KDF (SHA-256) -> initial MCV || S-ENC || S-MAC."""
    info = bytes([key_type, key_length]) + der_length(len(host_id)) + host_id + der_length(len(eid)) + eid
    okm = X963KDF(hashes.SHA256(), 48, info).derive(shared_secret)
    return SessionKeySet(okm[0:16], okm[16:32], okm[32:48])


def replace_session_keys_request(ppk: SessionKeySet) -> bytes:
    """SGP.22 §5.5.4 ReplaceSessionKeysRequest BF26 {80 initialMCV, 81 ppkEnc, 82 ppkCmac}."""
    body = b"".join(bytes([tag, 16]) + value for tag, value in
                    ((0x80, ppk.initial_mcv), (0x81, ppk.s_enc), (0x82, ppk.s_mac)))
    return b"\xbf\x26" + der_length(len(body)) + body


@dataclass
class BspProtector:
    """Protects BPP segments in order; block counter counts every segment (88 included)."""

    keys: SessionKeySet
    mcv: bytes = b""
    counter: int = 0

    def __post_init__(self) -> None:
        self.mcv = self.mcv or self.keys.initial_mcv

    def protect(self, tag: int, plaintext: bytes) -> bytes:
        """One TLV: tag || L || (ciphertext or plaintext) || MAC(8)."""
        self.counter += 1
        payload = plaintext
        if tag in (0x86, 0x87):
            icv = AES.new(self.keys.s_enc, AES.MODE_ECB).encrypt(self.counter.to_bytes(16, "big"))
            cipher = AES.new(self.keys.s_enc, AES.MODE_CBC, iv=icv)
            payload = cipher.encrypt(pad(plaintext, 16, style="iso7816"))
        head = bytes([tag]) + der_length(len(payload) + 8)
        self.mcv = CMAC.new(self.keys.s_mac, msg=self.mcv + head + payload, ciphermod=AES).digest()
        return head + payload + self.mcv[:8]

    def replace_keys(self, ppk: SessionKeySet) -> None:
        """After ReplaceSessionKeys: new keys, new MCV, counter restarts."""
        self.keys, self.mcv, self.counter = ppk, ppk.initial_mcv, 0


def max_plaintext(tag: int, limit: int = MAX_SEGMENT) -> int:
    """Largest plaintext that still fits one segment of ``limit`` bytes."""
    best = 0
    for n in range(1, limit):
        value = (16 * (n // 16 + 1) if tag in (0x86, 0x87) else n) + 8
        if 1 + len(der_length(value)) + value > limit:
            break
        best = n
    return best


def protect_segments(protector: BspProtector, tag: int, data: bytes, limit: int = MAX_SEGMENT) -> list[bytes]:
    """Split ``data`` into as few segments as fit ``limit`` and protect each in order."""
    step = max_plaintext(tag, limit)
    return [protector.protect(tag, data[i:i + step]) for i in range(0, len(data), step)]


@dataclass
class ProtectedBpp:
    """The four protected sequences of a BoundProfilePackage (RSPDefinitions), BF23 excluded."""

    first_sequence_of_87: list[bytes]
    sequence_of_88: list[bytes]
    second_sequence_of_87: list[bytes] | None
    sequence_of_86: list[bytes]


def protect_bpp(keys: SessionKeySet, configure_isdp: bytes, store_metadata: bytes, upp: bytes,
                ppk: SessionKeySet | None = None) -> ProtectedBpp:
    """Protect ConfigureISDP (87), StoreMetadata (88), optional ReplaceSessionKeys (87) and the
    Unprotected Profile Package (86), as the SM-DP+ does in ES8+.ConfigureISDP..LoadProfileElements."""
    prot = BspProtector(keys)
    first = protect_segments(prot, 0x87, configure_isdp)
    meta = protect_segments(prot, 0x88, store_metadata)
    second = None
    if ppk is not None:
        second = [prot.protect(0x87, replace_session_keys_request(ppk))]
        prot.replace_keys(ppk)
    return ProtectedBpp(first, meta, second, protect_segments(prot, 0x86, upp))
