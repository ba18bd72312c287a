"""Deliberately wrong card answers, for the mutation check (every case must be able to FAIL).

Cases declare a :class:`~tools.conformance.runner.Mutation` built from the matchers and
corruptions here; :class:`MutatingTransport` sits between the runner and a real card and applies
it.  A matched command's whole answer is fetched first (``61xx`` GET RESPONSE, ``6Cxx``), then
corrupted and returned at once with its status word, as a T=1 card would.
"""
from __future__ import annotations

from collections.abc import Callable

from tools.conformance.model import Mutation
from tools.conformance.transport import Transport

Matcher = Callable[[bytes], bool]
Corruption = Callable[[bytes, int], tuple[bytes, int]]


def tag_bytes(tag: int) -> bytes:
    return tag.to_bytes((tag.bit_length() + 7) // 8 or 1, "big")


def es10(tag: int, contains: bytes = b"") -> Matcher:
    """The last STORE DATA block (P1 b8 set) of an ES10 request whose first block starts with ``tag``
    (and holds the bytes ``contains``)."""
    prefix, state = tag_bytes(tag), {"armed": False}

    def matches(apdu: bytes) -> bool:
        if len(apdu) < 5 or apdu[1] != 0xE2:
            return False
        if apdu[3] == 0:
            state["armed"] = apdu[5:].startswith(prefix) and contains in apdu[5:]
        return state["armed"] and bool(apdu[2] & 0x80)

    return matches


def command(ins: int, p1: int | None = None, p2: int | None = None, data: bytes | None = None) -> Matcher:
    """Commands with this INS (and P1 / P2 / data prefix when given), on any channel."""
    def matches(apdu: bytes) -> bool:
        return (len(apdu) >= 4 and apdu[1] == ins and (p1 is None or apdu[2] == p1) and (p2 is None or apdu[3] == p2)
                and (data is None or apdu[5:5 + len(data)] == data))

    return matches


def status(sw: int) -> Corruption:
    """Answer ``sw`` (no data when it is an error)."""
    return lambda data, old: (data if sw >> 8 in (0x90, 0x91) else b"", sw)


def flip(offset: int, mask: int = 0x01) -> Corruption:
    """XOR one byte of the data (negative offsets count from the end)."""
    def corrupt(data: bytes, sw: int) -> tuple[bytes, int]:
        if not data or not -len(data) <= offset < len(data):
            return data + b"\x00", sw
        out = bytearray(data)
        out[offset] ^= mask
        return bytes(out), sw

    return corrupt


def flip_value_of(tag: int, index: int = 0, mask: int = 0x01) -> Corruption:
    """XOR byte ``index`` of the value of the first data object ``tag`` found in the data
    (searched as bytes: tag, then a short length)."""
    prefix = tag_bytes(tag)

    def corrupt(data: bytes, sw: int) -> tuple[bytes, int]:
        at = data.find(prefix)
        if at < 0:
            return data[:-1], sw
        value_at = at + len(prefix) + (2 if data[at + len(prefix)] == 0x81 else 1)
        return flip(value_at + index, mask)(data, sw)

    return corrupt


def replace(new: bytes, sw: int = 0x9000) -> Corruption:
    return lambda data, old: (new, sw)


def mutation(description: str, matches: Matcher, corrupt: Corruption) -> Mutation:
    return Mutation(description, matches, corrupt)


class MutatingTransport:
    """A transport that forwards to ``inner`` and corrupts the answers ``mutation`` selects;
    ``hits`` counts the corrupted answers (a mutation that never fired proves nothing)."""

    def __init__(self, inner: Transport, mutation: Mutation) -> None:
        self.inner, self.mutation, self.hits = inner, mutation, 0

    def transmit(self, apdu: bytes) -> bytes:
        if not self.mutation.matches(apdu):
            return self.inner.transmit(apdu)
        answer = self.inner.transmit(apdu)
        data, sw = answer[:-2], int.from_bytes(answer[-2:], "big")
        if sw >> 8 == 0x6C:
            answer = self.inner.transmit(apdu[:4] + bytes([sw & 0xFF]) if len(apdu) <= 5 else apdu[:-1] + bytes([sw & 0xFF]))
            data, sw = answer[:-2], int.from_bytes(answer[-2:], "big")
        while sw >> 8 == 0x61:
            cla = apdu[0] & 0x03 if apdu[0] & 0x40 == 0 else 0x40 | (apdu[0] & 0x0F)
            more = self.inner.transmit(bytes([cla, 0xC0, 0x00, 0x00, sw & 0xFF]))
            data, sw = data + more[:-2], int.from_bytes(more[-2:], "big")
        self.hits += 1
        data, sw = self.mutation.corrupt(data, sw)
        return data + sw.to_bytes(2, "big")

    def reset(self) -> bytes:
        return self.inner.reset()

    def close(self) -> None:
        self.inner.close()
