"""Card Recognition Data and other GET DATA objects: GP Card Specification v2.3.1 §H.2, §11.3.

OIDs are under {iso(1) member-body(2) us(840) globalPlatform(114283)}.
"""
from __future__ import annotations

from euicc.tlv import tlv

_GP = bytes.fromhex("2A864886FC6B")          # 1.2.840.114283


def _oid(suffix: str) -> bytes:
    return tlv(0x06, _GP + bytes.fromhex(suffix))


def card_recognition_data(gp_version: str = "02020301", scp_i: int = 0x70) -> bytes:
    """'73' Card Recognition Data (GP §H.2): GP card, version, identification scheme, SCP03."""
    return tlv(0x73,
               _oid("01")
               + tlv(0x60, _oid("02" + gp_version))
               + tlv(0x63, _oid("03"))
               + tlv(0x64, _oid("0403" + f"{scp_i:02X}")))


def card_data(gp_version: str = "02020301", scp_i: int = 0x70) -> bytes:
    """GET DATA '66' Card Data (GP §H.2)."""
    return tlv(0x66, card_recognition_data(gp_version, scp_i))
