"""BER-TLV reading on the host side (ISO/IEC 7816-4 §5.2, ITU-T X.690 §8.1.2-§8.1.3).

Host tools that check a card (the conformance runner, the OTA transport) must not use the card's
own TLV code, so they read data objects with this small independent reader; DER messages of
SGP.22 are decoded with asn1tools.
"""
from __future__ import annotations


class TlvError(ValueError):
    """The bytes are not well-formed BER-TLV."""


def read_tag(data: bytes, i: int) -> tuple[int, int]:
    """Tag at ``i`` (X.690 §8.1.2: low 5 bits all set -> subsequent octets while b8 is set)."""
    if i >= len(data):
        raise TlvError("tag missing")
    tag = data[i]
    i += 1
    if tag & 0x1F == 0x1F:
        while True:
            if i >= len(data):
                raise TlvError("tag runs past the end")
            tag = (tag << 8) | data[i]
            i += 1
            if not data[i - 1] & 0x80:
                break
    return tag, i


def read_length(data: bytes, i: int) -> tuple[int, int]:
    """Length at ``i`` (X.690 §8.1.3: short form, or 81-84 + that many octets)."""
    if i >= len(data):
        raise TlvError("length missing")
    first = data[i]
    if first < 0x80:
        return first, i + 1
    count = first & 0x7F
    if not 1 <= count <= 4 or i + 1 + count > len(data):
        raise TlvError(f"bad length octet {first:02X}")
    return int.from_bytes(data[i + 1:i + 1 + count], "big"), i + 1 + count


def split(data: bytes) -> list[tuple[int, bytes]]:
    """Consecutive data objects as (tag, value); raises :class:`TlvError` on any malformation."""
    out, i = [], 0
    while i < len(data):
        tag, i = read_tag(data, i)
        length, i = read_length(data, i)
        if i + length > len(data):
            raise TlvError(f"value of {tag:X} runs past the end")
        out.append((tag, data[i:i + length]))
        i += length
    return out


def find(data: bytes, tag: int) -> bytes | None:
    """The value of the first data object ``tag`` at this level, or None."""
    return next((value for t, value in split(data) if t == tag), None)


def unwrap(data: bytes, tag: int) -> bytes:
    """The value of ``data``, which must be exactly one data object ``tag``."""
    objects = split(data)
    if len(objects) != 1 or objects[0][0] != tag:
        raise TlvError(f"expected one {tag:X} object, got {' '.join(f'{t:X}' for t, _ in objects) or 'nothing'}")
    return objects[0][1]


def encode(tag: int, value: bytes) -> bytes:
    """One data object (DER length: short form below 128, else 81/82)."""
    tag_bytes = tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")
    n = len(value)
    length = bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82]) + n.to_bytes(2, "big")
    return tag_bytes + length + value
