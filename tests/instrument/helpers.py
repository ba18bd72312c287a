"""Host-side helpers of the instrument tests, written from the specs without the card's code: a T=0
exchange that follows 61xx (ISO 7816-4 §7.6.1), ES10 STORE DATA blocks (SGP.22 v2.5 §5.7.2, GP Card
Specification v2.3.1 §11.11: P1 b8 = last block, P2 = block number) and an SGP.22 ASN.1 decoder
compiled from the published module text (tests/vectors, a copy of the reference data's ``asn1/sgp22``;
not the card's copy)."""
from __future__ import annotations

import functools

import asn1tools

from tests.vectors import ASN1 as ASN1_MODULES

ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
SELECT_ISD_R = bytes.fromhex("00A40400") + bytes((len(ISD_R),)) + ISD_R
GET_EID = bytes.fromhex("80CA005A12")            # GP GET DATA '5A' (case 2, Le = 2 + 16)
ASN1 = ASN1_MODULES / "sgp22"


@functools.cache
def sgp22() -> asn1tools.compiler.Specification:
    names = ("RSPDefinitions.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn")
    return asn1tools.compile_files([str(ASN1 / n) for n in names], codec="der")


def store_data(es10: bytes, block: int = 255) -> list[bytes]:
    """The STORE DATA commands (CLA 80, channel 0) of one ES10 request, `block` bytes each."""
    pieces = [es10[i:i + block] for i in range(0, len(es10), block)] or [b""]
    out = []
    for n, piece in enumerate(pieces):
        p1 = 0x91 if n == len(pieces) - 1 else 0x11
        out.append(bytes((0x80, 0xE2, p1, n, len(piece))) + piece + b"\x00")
    return out


def exchange(transmit, apdu: bytes) -> tuple[bytes, int, list[bytes]]:
    """(data, final SW, every raw answer) of one command, GET RESPONSE followed."""
    raw = [transmit(apdu)]
    data = raw[-1][:-2]
    while len(raw[-1]) >= 2 and raw[-1][-2] == 0x61 and len(raw) < 300:
        raw.append(transmit(bytes((0x00, 0xC0, 0x00, 0x00, raw[-1][-1]))))
        data += raw[-1][:-2]
    return data, int.from_bytes(raw[-1][-2:], "big"), raw


def es10(transmit, request: bytes, block: int = 255) -> tuple[bytes, int, list[bytes]]:
    """Send an ES10 request in STORE DATA blocks; the last block's exchange."""
    commands = store_data(request, block)
    for cmd in commands[:-1]:
        assert transmit(cmd) == b"\x90\x00"
    return exchange(transmit, commands[-1])


def tlv(tag: int, value: bytes) -> bytes:
    """DER TLV (X.690 §8.1), lengths below 65536."""
    body = len(value).to_bytes(2 if len(value) > 255 else 1, "big")
    length = body if len(value) < 0x80 else bytes((0x80 | len(body),)) + body
    return tag.to_bytes((tag.bit_length() + 7) // 8, "big") + length + value
