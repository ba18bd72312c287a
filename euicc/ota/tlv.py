"""Single-byte-tag TLVs with BER definite lengths (ISO/IEC 8825-1 §8.1.3; TS 101 220 §7.1.1),
as used by the SMS-PP ENVELOPE (TS 102 223 §7.1.1) and the expanded remote APDU format
(TS 102 226 §5.2).  Pure codec, shared by nothing stateful."""
from __future__ import annotations

from euicc.ota.errors import OtaFormatError


def read_length(data: bytes, offset: int) -> tuple[int, int]:
    """Decode a definite length at ``offset`` ('00'-'7F', '81 xx', '82 xxxx'); return (length, next)."""
    if offset >= len(data):
        raise OtaFormatError("length missing")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if first == 0x80 or count > 2 or offset + 1 + count > len(data):
        raise OtaFormatError(f"unsupported length coding {first:02X}")
    length = int.from_bytes(data[offset + 1:offset + 1 + count], "big")
    if length < (0x80 if count == 1 else 0x100):
        raise OtaFormatError("length not in its shortest form")
    return length, offset + 1 + count


def encode_length(length: int) -> bytes:
    """Shortest definite length coding (up to 65535)."""
    if length < 0x80:
        return bytes([length])
    if length < 0x100:
        return bytes([0x81, length])
    return bytes([0x82]) + length.to_bytes(2, "big")


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + encode_length(len(value)) + value


def read_tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """One TLV with a single-byte tag at ``offset``; return (tag, value, next offset)."""
    tag = data[offset]
    if tag & 0x1F == 0x1F or tag in (0x00, 0xFF):
        raise OtaFormatError(f"tag {tag:02X} not supported here")
    length, start = read_length(data, offset + 1)
    if start + length > len(data):
        raise OtaFormatError(f"TLV {tag:02X} overruns its container")
    return tag, bytes(data[start:start + length]), start + length


def read_tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """All TLVs of ``data``, which must be exactly covered by them."""
    items, offset = [], 0
    while offset < len(data):
        tag, value, offset = read_tlv(data, offset)
        items.append((tag, value))
    return items
