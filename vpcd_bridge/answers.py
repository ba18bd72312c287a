"""Response APDUs built wrong on purpose (ISO/IEC 7816-4 §5.1, §5.6; TS 102 221 §7.3.1).

Pure functions of the instrument: a response with the wrong number of bytes, and response data
split into ``61xx``-chained pieces where one answer would do.
"""
from __future__ import annotations

from euicc import tlv
from euicc.apdu import sw_bytes

MAX_SHORT = 256
PAD = 0x00      # what a longer-than-announced answer is padded with


def first_tag(data: bytes) -> int | None:
    """The BER-TLV tag data starts with (X.690 §8.1.2), or None."""
    try:
        return tlv.read_tag(data, 0)[0]
    except tlv.TlvError:
        return None


def resize(data: bytes, sw: int, delta: int) -> bytes:
    """The response with `delta` bytes more (padding) or fewer than its data: when the data is
    shorter than the cut, the cut reaches into the status word, down to a 1-byte answer (vpcd
    takes an empty answer for a broken link, vsmartcard ``vpcd.c`` ``vicc_transmit``)."""
    whole = data + sw_bytes(sw)
    if delta > 0:
        return data + bytes([PAD]) * delta + sw_bytes(sw)
    if len(data) >= -delta:
        return data[:len(data) + delta] + sw_bytes(sw)
    return whole[:max(len(whole) + delta, 1)]


def chain(data: bytes, sw: int, chunk: int) -> list[bytes]:
    """`data` in pieces of `chunk` bytes, each but the last ending ``61xx`` (xx: bytes still to come,
    ``00`` for 256 or more, ISO 7816-4 §5.6), the last one with `sw`."""
    if not data:
        return [sw_bytes(sw)]
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    answers = []
    for i, piece in enumerate(pieces[:-1]):
        remaining = len(data) - (i + 1) * chunk
        answers.append(piece + sw_bytes(0x6100 | (min(remaining, MAX_SHORT) & 0xFF)))
    return answers + [pieces[-1] + sw_bytes(sw)]
