"""Host-side helpers for the card OS core tests, written from the specs (not from the card code).

- BER-TLV parsing: ISO/IEC 7816-4 §5.2 / ITU-T X.690 §8.1 (independent of euicc.tlv).
- CLA coding: ETSI TS 102 221 §10.1.1 Table 10.3 (independent of euicc.apdu).
- A terminal that follows T=0 procedure bytes '61xx' / '6Cxx' (TS 102 221 §7.3.1.1.4, §7.4.2).
"""
from __future__ import annotations

from dataclasses import dataclass

USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")
ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
ECASD_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000200")
ISD_P_ELF_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000D00")
ISD_P_MODULE_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000E00")

PIN1, PIN2, ADM1 = 0x01, 0x81, 0x0A


def h(text: str) -> bytes:
    """Hex with optional spaces to bytes."""
    return bytes.fromhex(text.replace(" ", ""))


def pin(digits: str) -> bytes:
    """A PIN as sent in VERIFY: ASCII digits padded with 'FF' to 8 bytes (TS 102 221 §9.5.1)."""
    return (digits.encode() + b"\xff" * 8)[:8]


def cla(channel: int, proprietary: bool = False) -> int:
    """CLA for `channel` (TS 102 221 Table 10.3): '0X'/'8X' for 0-3, '4X'/'CX' for 4-19."""
    base = 0x80 if proprietary else 0x00
    if channel <= 3:
        return base | channel
    return base | 0x40 | (channel - 4)


# -- BER-TLV ---------------------------------------------------------------------------------
def parse_tlv(buf: bytes) -> list[tuple[int, bytes]]:
    """Top-level data objects of `buf` as (tag, value); raises ValueError on malformed input."""
    out = []
    i = 0
    while i < len(buf):
        tag = buf[i]
        i += 1
        if tag & 0x1F == 0x1F:
            while True:
                if i >= len(buf):
                    raise ValueError("truncated tag")
                tag = (tag << 8) | buf[i]
                i += 1
                if not buf[i - 1] & 0x80:
                    break
        if i >= len(buf):
            raise ValueError("missing length")
        length = buf[i]
        i += 1
        if length & 0x80:
            k = length & 0x7F
            if not 1 <= k <= 3 or i + k > len(buf):
                raise ValueError("bad length")
            length = int.from_bytes(buf[i:i + k], "big")
            i += k
        if i + length > len(buf):
            raise ValueError("value past end")
        out.append((tag, buf[i:i + length]))
        i += length
    return out


def single(buf: bytes, tag: int) -> bytes:
    """Value of `buf`, which must be exactly one object with `tag`."""
    objs = parse_tlv(buf)
    assert len(objs) == 1 and objs[0][0] == tag, f"expected one {tag:X} object, got {buf.hex()}"
    return objs[0][1]


def as_dict(buf: bytes) -> dict[int, bytes]:
    objs = parse_tlv(buf)
    d = dict(objs)
    assert len(d) == len(objs), f"duplicate tags in {buf.hex()}"
    return d


def decode_oid(content: bytes) -> str:
    """Dotted OID from the contents of an X.690 §8.19 OBJECT IDENTIFIER."""
    arcs, value = [], 0
    for b in content:
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    assert value == 0 and arcs, "truncated OID"
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first] + arcs[1:])


# -- the terminal ------------------------------------------------------------------------------
@dataclass
class Response:
    data: bytes
    sw: int

    @property
    def sw_hex(self) -> str:
        return f"{self.sw:04X}"


def split(raw: bytes) -> Response:
    assert len(raw) >= 2, f"response without status word: {raw.hex()}"
    return Response(raw[:-2], int.from_bytes(raw[-2:], "big"))


class Terminal:
    """Sends APDUs to a `Card` and, like a T=0 terminal, follows '61xx' and '6Cxx'."""

    def __init__(self, card) -> None:
        self.card = card

    def raw(self, apdu: bytes | str) -> Response:
        """One command, one response: no procedure handling."""
        if isinstance(apdu, str):
            apdu = h(apdu)
        return split(self.card.transmit(apdu))

    def send(self, apdu: bytes | str) -> Response:
        """Exchange, resending on '6Cxx' and fetching '61xx' with GET RESPONSE (same CLA)."""
        if isinstance(apdu, str):
            apdu = h(apdu)
        r = self.raw(apdu)
        if r.sw >> 8 == 0x6C and not r.data:
            r = self.raw(apdu[:-1] + bytes((r.sw & 0xFF,)) if len(apdu) > 4 else apdu)
        data = r.data
        while r.sw >> 8 == 0x61:
            r = self.raw(bytes((apdu[0], 0xC0, 0, 0, r.sw & 0xFF)))
            data += r.data
        return Response(data, r.sw)

    def ok(self, apdu: bytes | str) -> bytes:
        """Exchange that must end in '9000'; returns the data."""
        r = self.send(apdu)
        assert r.sw == 0x9000, f"{apdu if isinstance(apdu, str) else apdu.hex()} -> {r.sw_hex}"
        return r.data

    def sw(self, apdu: bytes | str) -> int:
        return self.send(apdu).sw

    def select_path(self, *fids: int, channel: int = 0) -> None:
        """SELECT by path from the MF, no data returned (TS 102 221 §11.1.1, P1 '08', P2 '0C')."""
        path = b"".join(f.to_bytes(2, "big") for f in fids)
        self.ok(bytes((cla(channel), 0xA4, 0x08, 0x0C, len(path))) + path)

    def select_aid(self, aid: bytes, channel: int = 0, p2: int = 0x04) -> bytes:
        return self.ok(bytes((cla(channel), 0xA4, 0x04, p2, len(aid))) + aid + b"\x00")

    def verify(self, ref: int, digits: str) -> int:
        return self.sw(bytes((0x00, 0x20, 0x00, ref, 8)) + pin(digits))


def store_snapshot(store) -> dict:
    """Every key/value of a card's persistent store (to compare state before and after)."""
    return {k: store.get(k) for k in store.keys("")}
