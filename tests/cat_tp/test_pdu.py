"""CAT_TP PDU codec (ETSI TS 102 127, PDU formats) against known answers and the independent host codec
(tools/ota/cat_tp.py)."""
from __future__ import annotations

import pytest

from euicc.cat.catp.pdu import Flag, Pdu, PduError, Reason, SynOptions, decode, encode, internet_checksum
from tools.ota import cat_tp as host


def test_internet_checksum_rfc1071_example():
    # RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2, whose complement is 220d
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D
    assert host.checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_syn_layout_field_by_field():
    wire = encode(Pdu(Flag.SYN, 0x1234, 0x0401, 0x0A0B, 0, 4, syn=SynOptions(0x0200, 0x1000, b"\x98\x10")))
    # flags 80, RFU 0000, header length 18+5+2 = 25, ports, data length 0, seq, ack, window
    assert wire[:16].hex() == "80000019" "1234" "0401" "0000" "0a0b" "0000" "0004"
    assert wire[18:].hex() == "0200" "1000" "02" "9810"
    assert host.checksum(wire) == 0                 # a correct checksum makes the whole sum FFFF


@pytest.mark.parametrize("pdu", [
    Pdu(Flag.SYN | Flag.ACK, 1, 2, 100, 7, 3, syn=SynOptions(300, 2000, b"")),
    Pdu(Flag.ACK, 9, 10, 65535, 0, 1, data=b"\x01\x02\x03"),
    Pdu(Flag.ACK | Flag.SEG, 9, 10, 5, 6, 1, data=bytes(range(200))),
    Pdu(Flag.ACK | Flag.EAK, 9, 10, 5, 6, 1, eaks=(8, 10, 11)),
    Pdu(Flag.ACK | Flag.NUL, 9, 10, 5, 6, 1),
    Pdu(Flag.RST | Flag.ACK, 9, 10, 5, 6, 0, reason=Reason.MAX_RETRIES),
])
def test_round_trip_and_host_agrees(pdu):
    wire = encode(pdu)
    assert decode(wire) == pdu
    parsed = host.parse(wire)
    assert parsed is not None and (parsed.flags, parsed.seq, parsed.ack, parsed.data) == \
        (int(pdu.flags), pdu.seq, pdu.ack, pdu.data)


def test_host_built_pdus_decode():
    wire = host.build(host.HostPdu(host.SYN, 4000, 1025, 0x4000, 0, 4,
                                   variable=host.syn_options(512, 4096, b"ID")))
    pdu = decode(wire)
    assert pdu.has(Flag.SYN) and pdu.syn == SynOptions(512, 4096, b"ID") and pdu.seq == 0x4000


def _with_checksum(raw: bytearray) -> bytes:
    """A mutated PDU with a correct checksum again (the host's, independent of the card's)."""
    raw[16:18] = b"\x00\x00"
    raw[16:18] = host.checksum(bytes(raw)).to_bytes(2, "big")
    return bytes(raw)


@pytest.mark.parametrize("mutate, reason", [
    (lambda w: w[:17], Reason.UNEXPECTED_PDU),                                   # short
    (lambda w: w + b"\x00", Reason.UNEXPECTED_PDU),                               # length mismatch
    (lambda w: w[:16] + bytes([w[16] ^ 1]) + w[17:], Reason.UNEXPECTED_PDU),     # checksum
    (lambda w: _with_checksum(bytearray([w[0] | 1]) + w[1:]), Reason.VERSION_NOT_SUPPORTED),
    (lambda w: bytes([w[0] | 1]) + w[1:], Reason.UNEXPECTED_PDU),                # corrupted, not a version
    (lambda w: _with_checksum(bytearray([0x00]) + w[1:]), Reason.UNEXPECTED_PDU),  # no PDU type
])
def test_malformed_refused_with_reason(mutate, reason):
    wire = encode(Pdu(Flag.ACK, 1, 2, 3, 4, 5, data=b"abc"))
    with pytest.raises(PduError) as refused:
        decode(mutate(wire))
    assert refused.value.reason == reason


def test_syn_with_inconsistent_identification_length():
    raw = bytearray(encode(Pdu(Flag.SYN, 1, 2, 3, 0, 1, syn=SynOptions(100, 100, b"AB"))))
    raw[22] = 5                                          # identification length beyond the header
    with pytest.raises(PduError) as refused:
        decode(_with_checksum(raw))
    assert refused.value.reason == Reason.ILLEGAL_PARAMETERS
