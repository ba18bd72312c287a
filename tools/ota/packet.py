"""Host (SM-SR / OTA server) side of ETSI TS 102 225 §5 secured packets, SMS form (TS 31.115).

Written from the specification independently of the card code (it uses pyca/cryptography,
the card uses pycryptodome): build Command Packets for every SPI option and verify /
decipher Response Packets (PoR).
"""
from __future__ import annotations

import hmac
import zlib
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from tools import ber_tlv

POR_UDH = bytes.fromhex("027100")

# KIc / KID algorithm nibbles (TS 102 225 §5.1.2, §5.1.3)
DES = 0x1
TDES2 = 0x5
TDES3 = 0x9
AES = 0x2
CRC16 = 0x1
CRC32 = 0x5


@dataclass(frozen=True)
class OtaKeyset:
    """One SCP80 key set as the server knows it: KVN, KIc/KID algorithm codes and keys."""

    kvn: int
    kic_algorithm: int
    kic: bytes
    kid_algorithm: int
    kid: bytes

    @property
    def kic_byte(self) -> int:
        return self.kvn << 4 | self.kic_algorithm

    @property
    def kid_byte(self) -> int:
        return self.kvn << 4 | self.kid_algorithm


def _block(algorithm: int) -> int:
    return 16 if algorithm == AES else 8


def _cbc(algorithm: int, key: bytes, data: bytes, decrypt: bool = False) -> bytes:
    if algorithm == AES:
        cipher = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))
    elif algorithm == DES:
        cipher = Cipher(TripleDES(key * 3), modes.CBC(bytes(8)))  # K1=K2=K3 is single DES
    else:  # a 2-key set K1 K2 is the 3-key set K1 K2 K1
        cipher = Cipher(TripleDES(key if len(key) == 24 else key + key[:8]), modes.CBC(bytes(8)))
    ctx = cipher.decryptor() if decrypt else cipher.encryptor()
    return ctx.update(data) + ctx.finalize()


def crc16_x25(data: bytes) -> int:
    """CRC-16 of ISO/IEC 13239 (reflected 0x1021, init FFFF, xorout FFFF), bit by bit.

    No maintained library in the environment offers this CRC, so it is written out here
    from the polynomial definition (check value for b"123456789": 0x906E).
    """
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def checksum(kind: int, algorithm: int, key: bytes, data: bytes, length: int = 8) -> bytes:
    """RC (kind 1) or CC (kind 2) of TS 102 225 §5.1.3 over ``data``."""
    if kind == 1:
        if algorithm == CRC16:
            return crc16_x25(data).to_bytes(2, "big")
        return zlib.crc32(data).to_bytes(4, "big")
    if algorithm == AES:
        mac = CMAC(algorithms.AES(key))
        mac.update(data)
        return mac.finalize()[:length]
    padded = data + b"\x00" * (-len(data) % 8)
    return _cbc(algorithm, key, padded)[-8:]


def _checksum_length(kind: int, algorithm: int, cc_length: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return 2 if algorithm == CRC16 else 4
    return cc_length if algorithm == AES else 8


def build_command_packet(keyset: OtaKeyset, spi: bytes, tar: bytes, data: bytes, counter: int = 0,
                         cc_length: int = 8, kic: int | None = None, kid: int | None = None) -> bytes:
    """CPL CHL SPI KIc KID TAR CNTR PCNTR [RC/CC] data [padding], TS 102 225 §5.1.1.

    ``kic`` / ``kid`` override the coding bytes (to build packets a card must refuse).
    """
    kic_byte = keyset.kic_byte if kic is None else kic
    kid_byte = keyset.kid_byte if kid is None else kid
    kind, ciphered = spi[0] & 0x03, bool(spi[0] & 0x04)
    length = _checksum_length(kind, keyset.kid_algorithm, cc_length)
    padding = -(6 + length + len(data)) % _block(keyset.kic_algorithm) if ciphered else 0
    chl = 13 + length
    cpl = 1 + chl + len(data) + padding
    header = cpl.to_bytes(2, "big") + bytes([chl]) + spi + bytes([kic_byte, kid_byte]) + tar
    cntr = counter.to_bytes(5, "big") + bytes([padding])
    padded = data + b"\x00" * padding
    check = checksum(kind, keyset.kid_algorithm, keyset.kid, header + cntr + padded, length) if kind else b""
    secured = cntr + check + padded
    if ciphered:
        secured = _cbc(keyset.kic_algorithm, keyset.kic, secured)
    return header + secured


@dataclass(frozen=True)
class ResponsePacket:
    """A decoded PoR, TS 102 225 §5.2."""

    tar: bytes
    counter: int
    status: int
    checksum_valid: bool | None  # None: the PoR carried no RC/CC
    data: bytes


def decode_response_packet(keyset: OtaKeyset, spi: bytes, packet: bytes, cc_length: int = 8,
                           prefix: bytes = POR_UDH) -> ResponsePacket:
    """Verify and decipher a PoR given with its UDH '02 71 00' (TS 31.115 §6.2), or with the
    ``prefix`` of another transport (b'' for CAT_TP, see :func:`from_identified_response`).

    The PoR's RHL tells whether a checksum is present (an unsecured PoR has RHL '0A').  A PoR
    whose SPI asks for a checksum but carries none is taken as unsecured (not ciphered); with
    no checksum asked, ciphering is as SPI byte 2 b5 says.
    """
    if packet[:len(prefix)] != prefix:
        raise ValueError(f"PoR must start with {prefix.hex()}")
    body = packet[len(prefix):]
    rpl, rhl, tar = int.from_bytes(body[:2], "big"), body[2], body[3:6]
    if rpl != len(body) - 2:
        raise ValueError("RPL does not match")
    length = rhl - 10
    asked = (spi[1] >> 2) & 0x03
    kind = asked if length else 0
    rest = body[6:]
    if (length or not asked) and spi[1] & 0x10:
        rest = _cbc(keyset.kic_algorithm, keyset.kic, rest, decrypt=True)
    counter, pcntr, status = int.from_bytes(rest[:5], "big"), rest[5], rest[6]
    received, tail = rest[7:7 + length], rest[7 + length:]
    valid = None
    if length:
        expected = checksum(kind, keyset.kid_algorithm, keyset.kid, prefix + body[:6] + rest[:7] + tail, length)
        valid = hmac.compare_digest(expected, received)
    return ResponsePacket(tar, counter, status, valid, tail[:len(tail) - pcntr])


# -- the packet with identifiers (TS 102 225 §5.1, §5.2), as carried by CAT_TP ----------------------
# Identifier values and the checksum's length form are the emulator's reading (not in the reference
# set): CPI '01', CHI '00', RPI '02', RHI '00'; RC/CC/DS computed as over the SMS form.
CPI, CHI, RPI, RHI = 0x01, 0x00, 0x02, 0x00


def to_identified_command(sms_form: bytes) -> bytes:
    """CPL(2) CHL ... (as :func:`build_command_packet` makes it) -> CPI CPL(BER) CHI CHL ...
    (CPI and CPL frame the rest like the tag and length of a BER-TLV)."""
    return ber_tlv.encode(CPI, bytes([CHI]) + sms_form[2:])


def from_identified_response(packet: bytes) -> bytes:
    """RPI RPL(BER) RHI RHL ... -> RPL(2) RHL ..., for :func:`decode_response_packet` with prefix b''."""
    body = ber_tlv.unwrap(packet, RPI)
    if body[:1] != bytes([RHI]):
        raise ValueError("not a Response Header identifier")
    return (len(body) - 1).to_bytes(2, "big") + body[1:]
