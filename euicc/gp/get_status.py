"""GET STATUS: GlobalPlatform Card Specification v2.3.1 §11.4.

Lists registry entries matching the search criteria ('4F' AID prefix) for the subset that P1
names, in the TLV format ('E3' per entry, P2 b2=1) or the deprecated format (P2 b2=0).  What does
not fit into one response is announced with '6310' and fetched with P2 b1=1 (next occurrence).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, Command, SwError
from euicc.gp.registry import KIND_APP, KIND_ELF, KIND_ISD, KIND_SD, RegistryEntry

if TYPE_CHECKING:
    from euicc.channels import SelectionState

P1_ISD, P1_APPS, P1_ELF, P1_ELF_MODULES = 0x80, 0x40, 0x20, 0x10
MORE_DATA = 0x6310
MAX_RESPONSE = 256   # bytes of entries per GET STATUS response before '6310'


def _subset(p1: int, entries: list[RegistryEntry]) -> list[RegistryEntry]:
    if p1 == P1_ISD:
        return [e for e in entries if e.kind == KIND_ISD]
    if p1 == P1_APPS:
        return [e for e in entries if e.kind in (KIND_SD, KIND_APP)]
    if p1 in (P1_ELF, P1_ELF_MODULES):
        return [e for e in entries if e.kind == KIND_ELF]
    raise SwError(SW.INCORRECT_P1P2)


def encode_entry(p1: int, e: RegistryEntry, tlv_format: bool) -> bytes:
    """One entry in the TLV format (Table 11-36) or the deprecated format (Table 11-37/38)."""
    if not tlv_format:
        out = bytes((len(e.aid),)) + e.aid + bytes((e.lifecycle, (e.privileges >> 16) & 0xFF))
        if p1 == P1_ELF_MODULES:
            out = out[:-1] + b"\x00" + bytes((len(e.modules),))
            out += b"".join(bytes((len(m),)) + m for m in e.modules)
        return out
    body = tlv.tlv(0x4F, e.aid) + tlv.tlv(0x9F70, bytes((e.lifecycle,)))
    if e.kind != KIND_ELF:
        body += tlv.tlv(0xC5, e.privileges.to_bytes(3, "big"))
    if e.elf:
        body += tlv.tlv(0xC4, e.elf)
    if p1 == P1_ELF_MODULES:
        body += b"".join(tlv.tlv(0x84, m) for m in e.modules)
    if e.sd:
        body += tlv.tlv(0xCC, e.sd)
    return tlv.tlv(0xE3, body)


def get_status(cmd: Command, entries: list[RegistryEntry], state: SelectionState,
               max_response: int = MAX_RESPONSE) -> tuple[bytes, int]:
    """Process GET STATUS; `state` is the applet's channel state (for 'next occurrence');
    `max_response` bytes of entries per response (less inside a secure channel that adds R-MAC)."""
    if cmd.p2 & 0xFC:
        raise SwError(SW.INCORRECT_P1P2)
    tlv_format, next_occurrence = bool(cmd.p2 & 0x02), bool(cmd.p2 & 0x01)
    if next_occurrence:
        pending = state.get("get_status")
        if not pending or pending[0] != (cmd.p1, tlv_format):
            raise SwError(SW.CONDITIONS_NOT_SATISFIED)
        remaining = pending[1]
    else:
        try:
            criteria = tlv.find(cmd.data, 0x4F)
        except tlv.TlvError:
            raise SwError(SW.INCORRECT_DATA) from None
        if criteria is None:
            raise SwError(SW.INCORRECT_DATA)
        remaining = [e for e in _subset(cmd.p1, entries) if e.aid.startswith(criteria)]
        if not remaining:
            raise SwError(SW.REFERENCE_DATA_NOT_FOUND)
    out = b""
    while remaining:
        item = encode_entry(cmd.p1, remaining[0], tlv_format)
        if out and len(out) + len(item) > max_response:
            break
        out += item
        remaining = remaining[1:]
    state["get_status"] = ((cmd.p1, tlv_format), remaining) if remaining else None
    return out, (MORE_DATA if remaining else SW.OK)
