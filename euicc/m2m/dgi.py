"""Data Grouping Identifiers in STORE DATA: GP Card Spec v2.3.1 §11.11.2.2 (DGI format).

A DGI is two bytes followed by a length of one byte ('00'-'FE') or 'FF' and two bytes.  Malformed
input raises ``SwError('6A80')``.
"""
from __future__ import annotations

from euicc.apdu import SW, SwError


def parse_dgis(data: bytes) -> list[tuple[int, bytes]]:
    """All DGIs of one STORE DATA block, which must be covered by them exactly."""
    out, i = [], 0
    while i < len(data):
        if i + 3 > len(data):
            raise SwError(SW.INCORRECT_DATA)
        tag, length, i = int.from_bytes(data[i:i + 2], "big"), data[i + 2], i + 3
        if length == 0xFF:
            if i + 2 > len(data):
                raise SwError(SW.INCORRECT_DATA)
            length, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        if i + length > len(data):
            raise SwError(SW.INCORRECT_DATA)
        out.append((tag, bytes(data[i:i + length])))
        i += length
    return out


def encode_dgi(tag: int, value: bytes) -> bytes:
    length = bytes((len(value),)) if len(value) < 0xFF else b"\xff" + len(value).to_bytes(2, "big")
    return tag.to_bytes(2, "big") + length + value
