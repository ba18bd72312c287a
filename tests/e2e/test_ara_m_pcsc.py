"""End-to-end: the ARA-M read the way an Android device reads its carrier-privilege rules.

pyscard -> pcscd -> ifd-vpcd -> `euicc-emu run`, over T=0: a logical channel (MANAGE CHANNEL), SELECT
A00000015141434C00, STORE DATA of REF-AR-DOs, GET DATA [All] 'FF40' and GET DATA [Next] 'FF60' while
the Response-ALL-REF-AR-DO announces more (as com.android.se AccessRuleApplet does), with '61xx' /
'6Cxx' handled by the link as a modem does.  Expected bytes are written by hand from GPD_SPE_013 v1.1
Tables 4-2, 5-2, 6-5..6-7 and Android's UICC carrier privileges page (PKG-REF-DO 'CA', PERM-AR-DO 'DB').
"""
from __future__ import annotations

import pytest

from tests.e2e.pcsc_host import T0Link
from tests.pcsc_fixtures import SLOT

pytestmark = pytest.mark.pcsc

ARA_M = bytes.fromhex("A00000015141434C00")
# REF-DO: SHA-1 certificate hash + package "com.example.app"; AR-DO: PERM-AR-DO '..01'
RULE = bytes.fromhex("E235"
                     "E127C114ABCD92CBB156B280FA4E1429A6ECEEB6E5C1BFE4CA0F636F6D2E6578616D706C652E617070"
                     "E30ADB080000000000000001")


def ber_length(data: bytes, i: int) -> tuple[int, int]:
    """(length, index after it) of an X.690 §8.1.3 definite length at `data[i]`."""
    if data[i] < 0x80:
        return data[i], i + 1
    k = data[i] & 0x7F
    return int.from_bytes(data[i + 1:i + 1 + k], "big"), i + 1 + k


def read_all_rules(link: T0Link, cla: int) -> bytes:
    """GET DATA [All], then GET DATA [Next] until the whole 'FF40' object is read (Le '00')."""
    data, sw = link.send(bytes((cla, 0xCA, 0xFF, 0x40, 0x00)))
    assert sw == 0x9000 and data[:2] == b"\xFF\x40", f"GET DATA [All]: {data.hex()} {sw:04X}"
    length, start = ber_length(data, 2)
    while len(data) < start + length:
        more, sw = link.send(bytes((cla, 0xCA, 0xFF, 0x60, 0x00)))
        assert sw == 0x9000 and more, f"GET DATA [Next]: {sw:04X}"
        data += more
    assert len(data) == start + length
    return data


def test_android_reads_a_carrier_privilege_rule(start_card):
    start_card()
    link = T0Link(SLOT)
    try:
        channel, sw = link.send(bytes.fromhex("0070000001"))          # MANAGE CHANNEL open
        assert sw == 0x9000 and len(channel) == 1 and 1 <= channel[0] <= 3
        cla = 0x80 | channel[0]
        fci, sw = link.send(bytes((channel[0], 0xA4, 0x04, 0x00, len(ARA_M))) + ARA_M + b"\x00")
        assert sw == 0x9000 and fci[:2] == b"\x6F\x0D" and fci[2:13] == b"\x84\x09" + ARA_M
        assert read_all_rules(link, cla) == bytes.fromhex("FF4000")

        tag_before, sw = link.send(bytes((cla, 0xCA, 0xDF, 0x20, 0x00)))
        assert sw == 0x9000 and tag_before[:3] == b"\xDF\x20\x08" and len(tag_before) == 11
        command = b"\xF0" + bytes((len(RULE),)) + RULE               # Command-Store-REF-AR-DO
        _, sw = link.send(bytes((cla, 0xE2, 0x90, 0x00, len(command))) + command)
        assert sw == 0x9000
        tag_after, sw = link.send(bytes((cla, 0xCA, 0xDF, 0x20, 0x00)))
        assert sw == 0x9000 and tag_after[:3] == b"\xDF\x20\x08" and tag_after != tag_before

        assert read_all_rules(link, cla) == b"\xFF\x40\x37" + RULE

        # seven more rules, one per SE application: 55 + 7 x 64 bytes, two GET DATA [Next] needed
        rules = [RULE]
        for n in range(7):
            aid_ref = bytes.fromhex("4F07A00000015100") + bytes((n,))   # AID-REF-DO A000000151000n
            ref_do = b"\xE1" + bytes((0x27 + len(aid_ref),)) + aid_ref + RULE[4:4 + 0x27]
            body = ref_do + RULE[4 + 0x27:]
            rule = b"\xE2" + bytes((len(body),)) + body
            command = b"\xF0" + bytes((len(rule),)) + rule
            _, sw = link.send(bytes((cla, 0xE2, 0x90, 0x00, len(command))) + command)
            assert sw == 0x9000, f"rule {n}: {sw:04X}"
            rules.append(rule)
        total = sum(map(len, rules))
        assert total == 55 + 7 * 64
        assert read_all_rules(link, cla) == b"\xFF\x40\x82" + total.to_bytes(2, "big") + b"".join(rules)

        _, sw = link.send(bytes((0x00, 0x70, 0x80, channel[0])))       # MANAGE CHANNEL close
        assert sw == 0x9000
    finally:
        link.close()
