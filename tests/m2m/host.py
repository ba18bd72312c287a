"""Host side for the SGP.02 tests: an SM-SR / SM-DP / terminal written from the specifications
(SGP.02 v4.2 §4.1, GP Amd E scenario #3, ETSI TS 102 225 / 102 226 / 102 223), independent of the
card's code: packets come from tools/ota, SCP03 from tools/scp, ECDH/ECDSA from pyca, the X9.63
KDF is written out with hashlib, CMAC and AES from pycryptodome.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from Crypto.Cipher import AES
from Crypto.Hash import CMAC
from Crypto.Util.Padding import pad
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tools.ota import packet as ota
from tools.ota import transport
from tools.scp.scp03_host import DD_CARD_CHALLENGE, DD_CARD_CRYPTOGRAM, DD_HOST_CRYPTOGRAM, DD_S_ENC, \
    DD_S_MAC, derive

ISDR_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
ISDR_TAR = bytes.fromhex("000001")
ELF = bytes.fromhex("A0000005591010FFFFFFFF8900000D00")
MODULE = bytes.fromhex("A0000005591010FFFFFFFF8900000E00")
SPI_CC_CIPHER_POR = bytes.fromhex("1619")      # CC, ciphered, counter higher; PoR always, CC, ciphered
SPI_POR_SUBMIT = bytes.fromhex("1639")         # ... PoR by SMS-SUBMIT


def isdp_aid(tar: int) -> bytes:
    return ELF[:12] + tar.to_bytes(3, "big") + b"\x00"


def ber(tag: int, value: bytes) -> bytes:
    t = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    length = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82]) + n.to_bytes(2, "big")
    return t + length + value


def dgi(tag: int, value: bytes) -> bytes:
    return tag.to_bytes(2, "big") + bytes([len(value)]) + value


def store_data(data: bytes, p1: int = 0x88, p2: int = 0x00) -> bytes:
    return bytes([0x80, 0xE2, p1, p2, len(data)]) + data


def parse_tlvs(data: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i < len(data):
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:
            tag = tag << 8 | data[i]
            i += 1
        n = data[i]
        i += 1
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(data[i:i + k], "big")
            i += k
        out.append((tag, data[i:i + n]))
        i += n
    return out


# -- terminal ---------------------------------------------------------------------------------
class Terminal:
    """Sends APDUs with GET RESPONSE, and plays the CAT terminal (FETCH / TERMINAL RESPONSE)."""

    def __init__(self, card) -> None:
        self.card = card
        self.proactive: list[bytes] = []

    def send(self, apdu: bytes) -> tuple[bytes, int]:
        rsp = self.card.transmit(apdu)
        data, sw = rsp[:-2], int.from_bytes(rsp[-2:], "big")
        while sw >> 8 == 0x61:
            rsp = self.card.transmit(bytes([apdu[0] & 0x03, 0xC0, 0, 0, sw & 0xFF]))
            data, sw = data + rsp[:-2], int.from_bytes(rsp[-2:], "big")
        if sw >> 8 == 0x91:
            self.fetch_all(sw)
            sw = 0x9000
        return data, sw

    def terminal_profile(self, profile: bytes = bytes.fromhex("FFFFFFFFFFFFFFFFFFFF")) -> None:
        """TERMINAL PROFILE, then the card's SET UP EVENT LIST (TS 102 223 §6.4.16) answered and
        kept in ``events`` (the proactive log starts empty after it)."""
        sw = self.card.transmit(bytes([0x80, 0x10, 0, 0, len(profile)]) + profile)[-2:]
        assert sw == b"\x90\x00" or sw[0] == 0x91
        self.fetch_all(int.from_bytes(sw, "big"))
        self.events = b"".join(parse_tlvs(parse_tlvs(c)[0][1])[2][1] for c in self.take(0x05))
        self.proactive.clear()

    def fetch_all(self, sw: int, result: int = 0x00) -> None:
        while sw >> 8 == 0x91:
            rsp = self.card.transmit(bytes([0x80, 0x12, 0, 0, sw & 0xFF]))
            command = rsp[:-2]
            self.proactive.append(command)
            details = parse_tlvs(parse_tlvs(command)[0][1])[0][1]
            tr = ber(0x81, details) + ber(0x82, b"\x82\x81") + ber(0x83, bytes([result]))
            sw = int.from_bytes(self.card.transmit(bytes([0x80, 0x14, 0, 0, len(tr)]) + tr)[-2:], "big")

    def location_status(self, status: int) -> int:
        body = ber(0x99, b"\x03") + ber(0x82, b"\x82\x81") + ber(0x9B, bytes([status]))
        env = ber(0xD6, body)
        _, sw = self.send(bytes([0x80, 0xC2, 0, 0, len(env)]) + env)
        return sw

    def timers(self) -> list[tuple[int, int]]:
        """(timer id, seconds) of each TIMER MANAGEMENT start fetched so far (TS 102 223 §6.4.21,
        §8.37, §8.38: hours, minutes, seconds as swapped BCD), and forget them."""
        out = []
        for command in self.take(0x27):
            objects = dict(parse_tlvs(parse_tlvs(command)[0][1]))
            h, m, s = (int(f"{b & 0x0F}{b >> 4}") for b in objects[0xA5])
            out.append((objects[0xA4][0], h * 3600 + m * 60 + s))
        return out

    def timer_expiration(self, timer: int, value: bytes = b"\x00\x00\x00") -> int:
        """ENVELOPE TIMER EXPIRATION 'D7' {devices, timer id, timer value} (TS 102 223 §7.4)."""
        env = ber(0xD7, ber(0x82, b"\x82\x81") + ber(0xA4, bytes([timer])) + ber(0xA5, value))
        return self.send(bytes([0x80, 0xC2, 0, 0, len(env)]) + env)[1]

    def take(self, kind: int) -> list[bytes]:
        """Proactive commands of type `kind` fetched so far (and forget them)."""
        found = [c for c in self.proactive if parse_tlvs(parse_tlvs(c)[0][1])[0][1][1] == kind]
        self.proactive = [c for c in self.proactive if c not in found]
        return found

    def mo_packets(self, kic: bytes, kid: bytes) -> list[tuple[str, bytes]]:
        """(destination digits, secured data) of each SEND SHORT MESSAGE fetched so far (and
        forget them), each read by :func:`mo_packet`."""
        return [mo_packet(dict(parse_tlvs(parse_tlvs(command)[0][1]))[0x8B], kic, kid)
                for command in self.take(0x13)]


def mo_packet(tpdu: bytes, kic: bytes, kid: bytes) -> tuple[str, bytes]:
    """One card SMS-SUBMIT (TS 23.040, UDH '70 00') -> Command Packet to the ISD-R TAR
    (TS 102 225 §5.1: AES-CBC from the counter on, AES CMAC of 8 bytes) -> (destination digits,
    secured data)."""
    submit = transport.parse_sms_submit(tpdu)
    assert submit.pid == 0x7F and submit.udh == b"\x70\x00"
    packet = submit.payload
    header, secured = packet[:10], AES.new(kic, AES.MODE_CBC, iv=bytes(16)).decrypt(packet[10:])
    assert header[7:10] == ISDR_TAR and header[3] & 0x07 == 0x06
    cntr, padding, cc, data = secured[:5], secured[5], secured[6:14], secured[14:]
    assert CMAC.new(kid, msg=header + cntr + bytes([padding]) + data, ciphermod=AES).digest()[:8] == cc
    return submit.destination, data[:len(data) - padding]


# -- SM-SR OTA ---------------------------------------------------------------------------------
@dataclass
class OtaServer:
    """An SM-SR's SCP80 side: one key set and its counter (TS 102 225 §5.1)."""

    terminal: Terminal
    keyset: ota.OtaKeyset
    counter: int = 1
    originator: str = "4412345678"
    reference: int = field(default=0)

    def packet(self, script: bytes, tar: bytes = ISDR_TAR, spi: bytes = SPI_CC_CIPHER_POR, **kw) -> bytes:
        counter = kw.pop("counter", self.counter)
        self.counter = counter + 1
        return ota.build_command_packet(self.keyset, spi, tar, script, counter=counter, **kw)

    def deliver(self, packet: bytes) -> tuple[bytes, int]:
        """SMS-PP download of `packet` (concatenated if needed); the last envelope's answer."""
        self.reference = (self.reference + 1) & 0xFF
        data, sw = b"", 0
        for tpdu in transport.sms_deliver_tpdus(packet, self.originator, self.reference):
            data, sw = self.terminal.send(transport.envelope_apdu(tpdu))
        return data, sw

    def por(self, data: bytes, spi: bytes = SPI_CC_CIPHER_POR) -> ota.ResponsePacket:
        return ota.decode_response_packet(self.keyset, spi, data)

    def run(self, apdus: list[bytes], tar: bytes = ISDR_TAR, **kw) -> list[tuple[bytes, int]]:
        """Expanded script; returns [(data, sw)] of the executed commands."""
        data, sw = self.deliver(self.packet(transport.expanded_script(apdus), tar, **kw))
        assert sw == 0x9000, hex(sw)
        por = self.por(data)
        assert por.status == 0 and por.checksum_valid, por
        result = transport.decode_expanded_response(por.data)
        return [(r[:-2], int.from_bytes(r[-2:], "big")) for r in result.responses]

    def one(self, apdu: bytes, **kw) -> tuple[bytes, int]:
        return self.run([apdu], **kw)[-1]


# -- PKI (GP Amd E '7F21' certificates) -------------------------------------------------------------
def raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def point(key) -> bytes:
    pub = key.public_key() if hasattr(key, "public_key") else key
    return pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def gp_certificate(issuer: ec.EllipticCurvePrivateKey, subject_point: bytes, role: int,
                   serial: bytes = b"\x01") -> bytes:
    """'7F21' {93 42 5F20 95 5F24 73{C8} 7F49{B0 F0} 5F37} signed over the fields (SGP.02 §4.1.3.1)."""
    body = (ber(0x93, serial) + ber(0x42, b"TESTCI") + ber(0x5F20, b"SUBJECT") + ber(0x95, b"\x88")
            + ber(0x5F24, bytes.fromhex("20991231")) + ber(0x73, ber(0xC8, bytes([role])))
            + ber(0x7F49, ber(0xB0, subject_point) + ber(0xF0, b"\x00")))
    return ber(0x7F21, body + ber(0x5F37, raw_signature(issuer, body)))


@dataclass
class Pki:
    """CI, ECASD, SM-SR and SM-DP keys on NIST P-256, generated per test session."""

    ci: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    eum: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    ecasd: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    smsr: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    smdp: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def cert(self, who: ec.EllipticCurvePrivateKey, role: int, issuer=None) -> bytes:
        return gp_certificate(issuer or self.ci, point(who), role)


# -- key establishment, off-card side (GP Amd E scenario #3) -----------------------------------------
def x963(z: bytes, info: bytes, length: int) -> bytes:
    out, counter = b"", 1
    while len(out) < length:
        out += hashlib.sha256(z + counter.to_bytes(4, "big") + info).digest()
        counter += 1
    return out[:length]


@dataclass
class OffCardKeyAgreement:
    """The SM-SR / SM-DP half: ePK, signature over '3A02' || '7F49' || '0085' RC, key derivation."""

    signer: ec.EllipticCurvePrivateKey
    ecasd_point: bytes
    kvn: int
    kuq: int = 0x10
    scenario: int = 0x09
    key_type: int = 0x88          # GP CS Table 11-16: '88' AES, '85' TLS PSK (an SCP81 key set)
    ephemeral: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def crt(self) -> bytes:
        return ber(0xA6, ber(0x90, bytes([0x03, self.scenario])) + ber(0x95, bytes([self.kuq]))
                   + ber(0x80, bytes([self.key_type])) + ber(0x81, b"\x10") + ber(0x82, b"\x01")
                   + ber(0x83, bytes([self.kvn])) + ber(0x91, b""))

    def second_store_data(self, rc: bytes, bare_point: bool = False) -> bytes:
        epk = point(self.ephemeral) if bare_point else ber(0xB0, point(self.ephemeral)) + ber(0xF0, b"\x00")
        signed = dgi(0x3A02, self.crt()) + dgi(0x7F49, epk) + dgi(0x0085, rc)
        return dgi(0x3A02, self.crt()) + dgi(0x7F49, epk) + dgi(0x5F37, raw_signature(self.signer, signed))

    def keys(self, response: bytes) -> tuple[bytes, list[bytes]]:
        """(receipt, [key1, key2, key3]) expected from the card's '[85 DR] 86 receipt' answer."""
        items = dict(parse_tlvs(response))
        dr = items.get(0x85, b"")
        peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.ecasd_point)
        z = self.ephemeral.exchange(ec.ECDH(), peer)
        count = 3 if self.kuq == 0x10 else 1
        data = x963(z, bytes([self.kuq, self.key_type, 0x10]) + dr, 16 + 16 * count)
        receipt = CMAC.new(data[:16], msg=self.crt() + (ber(0x85, dr) if dr else b""), ciphermod=AES).digest()
        return receipt, [data[16 + 16 * i:32 + 16 * i] for i in range(count)]


# -- SCP03t, off-card side ------------------------------------------------------------------------
@dataclass
class Scp03tHost:
    """SM-DP side of SCP03t (SGP.02 §4.1.3.3; SPEC_NOTES §2.5)."""

    enc: bytes
    mac: bytes
    kvn: int = 0x30
    host_challenge: bytes = field(default_factory=lambda: os.urandom(8))
    mcv: bytes = bytes(16)
    counter: int = 0

    def initialize_update(self) -> bytes:
        return ber(0x84, bytes([self.kvn, 0x00]) + self.host_challenge)

    def external_authenticate(self, response: bytes, aid: bytes) -> bytes:
        value = dict(parse_tlvs(response))[0x84]
        card_challenge, cryptogram, seq = value[13:21], value[21:29], value[29:32]
        assert derive(self.enc, DD_CARD_CHALLENGE, seq + aid, 64) == card_challenge
        ctx = self.host_challenge + card_challenge
        self.s_enc = derive(self.enc, DD_S_ENC, ctx, 128)
        self.s_mac = derive(self.mac, DD_S_MAC, ctx, 128)
        assert derive(self.s_mac, DD_CARD_CRYPTOGRAM, ctx, 64) == cryptogram
        body = b"\x33" + derive(self.s_mac, DD_HOST_CRYPTOGRAM, ctx, 64)
        self.mcv = CMAC.new(self.s_mac, msg=self.mcv + b"\x85\x11" + body, ciphermod=AES).digest()
        return ber(0x85, body + self.mcv[:8])

    def data(self, plain: bytes) -> bytes:
        self.counter += 1
        icv = AES.new(self.s_enc, AES.MODE_ECB).encrypt(self.counter.to_bytes(16, "big"))
        ct = AES.new(self.s_enc, AES.MODE_CBC, iv=icv).encrypt(pad(plain, 16, style="iso7816"))
        length = ber(0x86, ct + bytes(8))[1:-len(ct) - 8]
        self.mcv = CMAC.new(self.s_mac, msg=self.mcv + b"\x86" + length + ct, ciphermod=AES).digest()
        return ber(0x86, ct + self.mcv[:8])
