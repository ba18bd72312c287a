"""BER-TLV data objects (ISO/IEC 7816-4 §5.2, ITU-T X.690 §8.1): a small, bounded codec.

Used for FCP/FCI templates, GP GET STATUS/GET DATA objects, command data and the OTA transport
(SMS-PP ENVELOPE, remote APDU scripts).  Decoding never trusts a length: malformed input raises
:class:`TlvError`, which command handlers map to 6A80.  With ``der=True`` a length must be in its
shortest form (X.690 §10.1), as TS 101 220 §7.1.1 requires of the OTA transport's TLVs.
"""
from __future__ import annotations

from collections.abc import Iterator

MAX_DEPTH = 16


class TlvError(ValueError):
    """Malformed BER-TLV."""


def encode_length(n: int) -> bytes:
    """Definite length octets (X.690 §8.1.3): short form below 128, long form up to 4 bytes."""
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, value: bytes) -> bytes:
    """Encode one data object; `tag` is the tag as an integer (e.g. 0x62, 0x9F70, 0xBF3E)."""
    return tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big") + encode_length(len(value)) + value


def read_tag(buf: bytes, i: int) -> tuple[int, int]:
    """Return (tag, next index).  Multi-byte tags per X.690 §8.1.2.4 (at most 3 bytes)."""
    if i >= len(buf):
        raise TlvError("missing tag")
    tag = buf[i]
    i += 1
    if tag & 0x1F == 0x1F:
        for _ in range(2):
            if i >= len(buf):
                raise TlvError("truncated tag")
            b = buf[i]
            tag = (tag << 8) | b
            i += 1
            if not b & 0x80:
                break
        else:
            raise TlvError("tag longer than 3 bytes")
    return tag, i


def read_length(buf: bytes, i: int, *, der: bool = False) -> tuple[int, int]:
    """Return (length, next index); only definite lengths of at most 4 bytes (shortest with `der`)."""
    if i >= len(buf):
        raise TlvError("missing length")
    n = buf[i]
    i += 1
    if n < 0x80:
        return n, i
    k = n & 0x7F
    if k == 0 or k > 4 or i + k > len(buf):
        raise TlvError("bad length")
    length = int.from_bytes(buf[i:i + k], "big")
    if der and (length < 0x80 or buf[i] == 0):
        raise TlvError("length not in its shortest form")
    return length, i + k


def iter_tlv(buf: bytes, *, skip_padding: bool = False, der: bool = False) -> Iterator[tuple[int, bytes]]:
    """Yield (tag, value) of each data object in `buf`, in order.

    With `skip_padding`, '00' and 'FF' bytes between objects are skipped (ISO 7816-4 §5.2); with
    `der`, lengths must be in their shortest form.
    """
    i, n = 0, len(buf)
    while i < n:
        if skip_padding and buf[i] in (0x00, 0xFF):
            i += 1
            continue
        tag, i = read_tag(buf, i)
        length, i = read_length(buf, i, der=der)
        if i + length > n:
            raise TlvError("value runs past the end")
        yield tag, buf[i:i + length]
        i += length


def split(buf: bytes) -> list[tuple[int, bytes]]:
    """(tag, the complete encoded data object) of each data object in `buf`, in order: for
    signatures and MACs computed over the bytes as received."""
    out, i = [], 0
    while i < len(buf):
        start = i
        tag, i = read_tag(buf, i)
        length, i = read_length(buf, i)
        if i + length > len(buf):
            raise TlvError("value runs past the end")
        i += length
        out.append((tag, bytes(buf[start:i])))
    return out


def split_lv(buf: bytes, count: int) -> list[bytes]:
    """Exactly `count` length-value items, each a one-byte length and its value, filling `buf`
    (the coding of INSTALL data, GP Card Spec §11.5.2, and of AUTHENTICATE, TS 31.102 §7.1.2)."""
    out, i = [], 0
    for _ in range(count):
        if i >= len(buf) or i + 1 + buf[i] > len(buf):
            raise TlvError("truncated length-value item")
        out.append(bytes(buf[i + 1:i + 1 + buf[i]]))
        i += 1 + buf[i]
    if i != len(buf):
        raise TlvError("bytes after the last length-value item")
    return out


def parse(buf: bytes, *, skip_padding: bool = False, der: bool = False) -> list[tuple[int, bytes]]:
    return list(iter_tlv(buf, skip_padding=skip_padding, der=der))


def find(buf: bytes, tag: int) -> bytes | None:
    """Value of the first data object with `tag` at the top level of `buf`, or None."""
    for t, v in iter_tlv(buf):
        if t == tag:
            return v
    return None


def unwrap(buf: bytes, tag: int) -> bytes:
    """Value of `buf`, which must be exactly one data object with `tag`."""
    t, i = read_tag(buf, 0)
    length, i = read_length(buf, i)
    if t != tag or i + length != len(buf):
        raise TlvError(f"expected exactly one {tag:X} object")
    return buf[i:]
