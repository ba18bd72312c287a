"""ARA-M (GlobalPlatform Secure Element Access Control GPD_SPE_013 v1.1) through Card.transmit.

Every command and expected response below is written by hand from the data object definitions
(SEAC v1.1 Tables 4-1..4-5, 5-1..5-4, 6-3..6-12; Android UICC carrier privileges for 'CA', 'DB' and
the SHA-256 DeviceAppID): REF-AR-DO 'E2' = REF-DO 'E1' {AID-REF-DO '4F' / 'C0', DeviceAppID-REF-DO
'C1', PKG-REF-DO 'CA'} + AR-DO 'E3' {APDU-AR-DO 'D0', NFC-AR-DO 'D1', PERM-AR-DO 'DB'}.
"""
from __future__ import annotations

import pytest

from euicc.card import Card
from euicc.composition import open_card
from tests.core.helpers import Terminal, cla, h, single, store_snapshot

ARA_M = h("A00000015141434C00")
HASH1 = h("ABCD92CBB156B280FA4E1429A6ECEEB6E5C1BFE4")                       # 20 bytes (SHA-1)
HASH2 = h("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")  # 32 (SHA-256)

# A carrier-privilege rule as Android reads it: no AID-REF-DO, SHA-1 certificate hash, package
# "com.example.app" (ASCII), PERM-AR-DO with 8 bytes.
RULE_CARRIER = h("E2 35"
                 "   E1 27 C1 14 ABCD92CBB156B280FA4E1429A6ECEEB6E5C1BFE4"
                 "         CA 0F 636F6D2E6578616D706C652E617070"
                 "   E3 0A DB 08 0000000000000001")
# All SE applications ('4F' empty), a SHA-256 hash, APDU access always and NFC never.
RULE_ALL_APPS = h("E2 2E"
                  "   E1 24 4F 00 C1 20 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
                  "   E3 06 D0 01 01 D1 01 00")
# One SE application (AID A000000151000000), the SHA-1 hash, an APDU filter (header + mask).
RULE_ONE_APP = h("E2 2D"
                 "   E1 1F 4F 07 A0000001510000 C1 14 ABCD92CBB156B280FA4E1429A6ECEEB6E5C1BFE4"
                 "   E3 0A D0 08 80CA0000 FFFF0000")


def store(term: Terminal, command_do: bytes, p1: int = 0x90, channel: int = 0) -> int:
    """STORE DATA, one block (GP §11.11: P1 '90' last block, BER-TLV; P2 block 0)."""
    return term.sw(bytes((cla(channel, True), 0xE2, p1, 0x00, len(command_do))) + command_do)


def get_data(term: Terminal, p1p2: int, data: bytes = b"", channel: int = 0):
    apdu = bytes((cla(channel, True), 0xCA, p1p2 >> 8, p1p2 & 0xFF))
    apdu += (bytes((len(data),)) + data) if data else b"\x00"
    return term.send(apdu)


def all_rules(term: Terminal) -> bytes:
    r = get_data(term, 0xFF40)
    assert r.sw == 0x9000, r.sw_hex
    return r.data


def refresh_tag(term: Terminal) -> bytes:
    r = get_data(term, 0xDF20)
    assert r.sw == 0x9000 and len(r.data) == 11, r
    return single(r.data, 0xDF20)


def store_ok(term: Terminal, *rules: bytes) -> None:
    body = b"".join(rules)
    length = bytes((len(body),)) if len(body) < 0x80 else bytes((0x81, len(body)))
    assert store(term, b"\xF0" + length + body) == 0x9000


@pytest.fixture
def aram(term: Terminal) -> Terminal:
    fci = term.select_aid(ARA_M)
    assert single(single(fci, 0x6F)[:11], 0x84) == ARA_M
    return term


def test_select_and_empty_rule_set(aram):
    assert all_rules(aram) == h("FF40 00")     # Response-ALL-REF-AR-DO, no REF-AR-DO
    assert len(refresh_tag(aram)) == 8


def test_store_then_get_all_returns_the_rules_as_stored(aram):
    store_ok(aram, RULE_CARRIER)
    assert all_rules(aram) == h("FF40 37") + RULE_CARRIER
    store_ok(aram, RULE_ALL_APPS, RULE_ONE_APP)           # two REF-AR-DOs in one command
    assert all_rules(aram) == h("FF40 81 96") + RULE_CARRIER + RULE_ALL_APPS + RULE_ONE_APP


def test_refresh_tag_changes_with_every_rule_change_only(aram):
    t0 = refresh_tag(aram)
    assert refresh_tag(aram) == t0 and all_rules(aram) and refresh_tag(aram) == t0
    store_ok(aram, RULE_CARRIER)
    t1 = refresh_tag(aram)
    assert t1 != t0
    assert store(aram, h("F0 37") + RULE_CARRIER) == 0x6A89   # refused: unchanged
    assert refresh_tag(aram) == t1
    assert store(aram, h("F2 00")) == 0x9000                   # Command-UpdateRefreshTag-DO
    t2 = refresh_tag(aram)
    assert t2 not in (t0, t1)
    assert store(aram, h("F1 00")) == 0x9000                   # Command-Delete (all)
    assert refresh_tag(aram) not in (t0, t1, t2)


def test_same_reference_twice_is_a_conflict(aram):
    store_ok(aram, RULE_ONE_APP)
    other_ar = h("E2 26 E1 1F 4F 07 A0000001510000 C1 14 ABCD92CBB156B280FA4E1429A6ECEEB6E5C1BFE4"
                 "     E3 03 D0 01 00")
    assert store(aram, h("F0 28") + other_ar) == 0x6A89
    # also within one command
    assert store(aram, h("F0 60") + RULE_ALL_APPS + RULE_ALL_APPS) == 0x6A89
    assert all_rules(aram) == h("FF40 2F") + RULE_ONE_APP


@pytest.mark.parametrize("command_do, left", [
    (h("F1 09 4F 07 A0000001510000"), [RULE_CARRIER, RULE_ALL_APPS]),        # by AID-REF-DO
    (h("F1 02 4F 00"), [RULE_CARRIER, RULE_ONE_APP]),                          # AID-REF-DO "all"
    (h("F1 29 E1 27 C1 14 ABCD92CBB156B280FA4E1429A6ECEEB6E5C1BFE4"
       "           CA 0F 636F6D2E6578616D706C652E617070"), [RULE_ALL_APPS, RULE_ONE_APP]),  # REF-DO
    (h("F1 2F") + RULE_ONE_APP, [RULE_CARRIER, RULE_ALL_APPS]),               # REF-AR-DO
    (h("F1 00"), []),                                                          # all
], ids=["aid", "all-apps", "ref-do", "ref-ar-do", "all"])
def test_delete(aram, command_do, left):
    store_ok(aram, RULE_CARRIER, RULE_ALL_APPS, RULE_ONE_APP)
    assert store(aram, command_do) == 0x9000
    body = b"".join(left)
    assert all_rules(aram) == h("FF40") + (bytes((0x81,)) if len(body) > 127 else b"") \
        + bytes((len(body),)) + body


@pytest.mark.parametrize("command_do", [
    h("F1 09 4F 07 A0000001519999"),                                  # no rule for that AID
    h("F1 02 C0 00"),                                                 # none for the implicit one
    h("F1 1A E1 18 4F 00 C1 14") + HASH1,                             # REF-DO not stored
    h("F1 2F E2 2D E1 1F 4F 07 A0000001510000 C1 14") + HASH1 + h("E3 0A D0 08 80CA0000 FFFF00FF"),
])
def test_delete_of_what_is_not_there_is_referenced_data_not_found(aram, command_do):
    store_ok(aram, RULE_ONE_APP)
    tag = refresh_tag(aram)
    assert store(aram, command_do) == 0x6A88
    assert refresh_tag(aram) == tag and all_rules(aram) == h("FF40 2F") + RULE_ONE_APP


def test_get_all_longer_than_one_response_continues_with_get_next(aram):
    rules = [_one_app_rule(n) for n in range(12)]                          # 12 x 47 bytes
    for r in rules:
        store_ok(aram, r)
    expected = h("FF40 82 0234") + b"".join(rules)                         # 5 + 564 bytes
    first = get_data(aram, 0xFF40)
    assert first.sw == 0x9000 and first.data == expected[:256]
    second = get_data(aram, 0xFF60)
    assert second.sw == 0x9000 and second.data == expected[256:512]
    third = get_data(aram, 0xFF60)
    assert third.sw == 0x9000 and third.data == expected[512:]
    assert get_data(aram, 0xFF60).sw == 0x6985                 # nothing more to send


def test_get_next_after_a_rule_change_must_read_again(aram):
    for n in range(7):                                                      # 5 + 329 bytes
        store_ok(aram, _one_app_rule(n))
    assert get_data(aram, 0xFF40).sw == 0x9000
    assert aram.ok("0070000001") == b"\x01"                                  # MANAGE CHANNEL open
    aram.select_aid(ARA_M, channel=1)
    assert store(aram, h("F2 00"), channel=1) == 0x9000        # the rules change on another channel
    assert get_data(aram, 0xFF60).sw == 0x6984


def test_get_next_without_get_all(aram):
    assert get_data(aram, 0xFF60).sw == 0x6985


def test_get_specific_and_config(aram):
    store_ok(aram, RULE_ALL_APPS)
    r = get_data(aram, 0xFF50, h("E1 24 4F 00 C1 20") + HASH2)
    assert r.sw == 0x9000 and r.data == h("FF50 08 E3 06 D0 01 01 D1 01 00")
    r = get_data(aram, 0xFF50, h("E1 04 4F 00 C1 00"))
    assert r.sw == 0x9000 and r.data == h("FF50 00")
    # GET DATA [Config]: Device-Config-DO {Device-Interface-Version-DO 1.1.0} -> ARAM-Config-DO
    r = get_data(aram, 0xDF21, h("E4 05 E6 03 010100"))
    assert r.sw == 0x9000 and r.data == h("DF21 07 E5 05 E6 03 010100")


def test_multi_block_store_data(aram):
    command_do = h("F0 37") + RULE_CARRIER
    assert aram.sw(h("80E21000 10") + command_do[:16]) == 0x9000          # block 0, more follow
    assert aram.sw(bytes((0x80, 0xE2, 0x90, 0x01, len(command_do) - 16)) + command_do[16:]) == 0x9000
    assert all_rules(aram) == h("FF40 37") + RULE_CARRIER


def _one_app_rule(n: int) -> bytes:
    """RULE_ONE_APP for the SE application A000000151000n."""
    return RULE_ONE_APP[:12] + bytes((n,)) + RULE_ONE_APP[13:]


def sd(command_do: bytes) -> bytes:
    """STORE DATA, last block 0, carrying `command_do`."""
    return h("80E29000") + bytes((len(command_do),)) + command_do


def _aid_rule(ref: str, ar: str = "D0 01 01") -> bytes:
    ref_b, ar_b = h(ref), h(ar)
    body = bytes((0xE1, len(ref_b))) + ref_b + bytes((0xE3, len(ar_b))) + ar_b
    rule = bytes((0xE2, len(body))) + body
    return bytes((0xF0, len(rule))) + rule


@pytest.mark.parametrize("apdu, sw", [
    (h("80E29000 02 F000"), 0x6A80),                                 # Store without a REF-AR-DO
    (h("80E29000 04 F002E200"), 0x6A80),                             # empty REF-AR-DO
    (h("80E29000 04 F005E203"), 0x6A80),                             # truncated
    (sd(_aid_rule("4F 00")), 0x6A80),     # no DeviceAppID-REF-DO
    (sd(_aid_rule("4F 03 A00000 C1 00")), 0x6A80),   # AID of 3 bytes
    (sd(_aid_rule("C1 13" + "AB" * 19)), 0x6A80),  # 19-byte hash
    (sd(_aid_rule("4F 00 C0 00 C1 00")), 0x6A80),  # '4F' and 'C0'
    (sd(_aid_rule("C0 01 00 C1 00")), 0x6A80),     # 'C0' not empty
    (sd(_aid_rule("C1 00 C2 00 4F 00")), 0x6A80),  # unknown tag
    (sd(_aid_rule("C1 00 C1 00")), 0x6A80),        # twice
    (sd(_aid_rule("C1 00 CA 00")), 0x6A80),        # empty package
    (sd(_aid_rule("C1 00", "")), 0x6A80),          # empty AR-DO
    (sd(_aid_rule("C1 00", "D0 01 02")), 0x6A80),  # APDU rule '02'
    (sd(_aid_rule("C1 00", "D0 07 80CA0000FFFF00")), 0x6A80),
    (sd(_aid_rule("C1 00", "D1 01 02")), 0x6A80),  # NFC rule '02'
    (sd(_aid_rule("C1 00", "DB 07 00000000000001")), 0x6A80),
    (sd(_aid_rule("C1 00", "D2 01 01")), 0x6A80),  # unknown AR tag
    (h("80E29000 04 F200 F200"), 0x6A80),                            # two command DOs
    (h("80E29000 03 F20100"), 0x6A80),                               # UpdateRefreshTag with data
    (h("80E29000 02 F300"), 0x6981),                                 # Command-Get: not offered
    (h("80E29000 02 F900"), 0x6A80),                                 # no such command DO
    (h("80E29000 03 F1 01 4F"), 0x6A80),                             # malformed delete
    (h("80E29000 05 F1 03 4F 01 A0"), 0x6A80),                       # AID of 1 byte
    (h("80E29000 06 F1 04 C0 00 C0 00"), 0x6A80),                    # two references
    (h("80E29000 04 F1 02 D0 00"), 0x6A80),                          # not a reference
    (h("80E2B000 02 F200"), 0x6A86),                                 # P1 b5-b4 '11' RFU
    (h("80E2D000 02 F200"), 0x6A86),                                 # P1 b7-b6: encrypted
    (h("80E29001 02 F200"), 0x6A86),                                 # block 1 without block 0
    (h("00E29000 02 F200"), 0x6E00),                                 # interindustry CLA
    (h("00CAFF40 00"), 0x6E00),
    (h("80CAFF40 02 F200"), 0x6700),                                 # GET DATA [All] with data
    (h("80CADF20 01 00"), 0x6700),
    (h("80CAFF50 02 C100"), 0x6A80),                                 # Specific: not a REF-DO
    (h("80CAFF50 05 E102 C100 00 00"), 0x6A80),                      # trailing byte
    (h("80CADF21 02 E400"), 0x6A80),                                 # Config: no version
    (h("80CADF21 06 E404 E6 02 0101"), 0x6A80),                      # version of 2 bytes
    (h("80CA00FE 00"), 0x6A88),                                      # no such data object
])
def test_refusals_change_nothing(aram, apdu, sw):
    store_ok(aram, RULE_ONE_APP)
    refresh_tag(aram)
    before = store_snapshot(aram.card.store)
    assert aram.sw(apdu) == sw
    assert store_snapshot(aram.card.store) == before


def test_rule_memory_is_bounded(aram, monkeypatch):
    from euicc.gp import access_control
    monkeypatch.setattr(access_control, "MAX_RULES_SIZE", 110)
    store_ok(aram, RULE_CARRIER, RULE_ONE_APP)                        # 55 + 47 bytes
    before = store_snapshot(aram.card.store)
    assert store(aram, h("F0 30") + RULE_ALL_APPS) == 0x6A84
    assert store_snapshot(aram.card.store) == before


def test_rules_and_refresh_tag_persist_across_reopen(tmp_path):
    path = tmp_path / "card.state"
    card = open_card(path)
    term = Terminal(card)
    term.select_aid(ARA_M)
    store_ok(term, RULE_CARRIER, RULE_ALL_APPS)
    tag = refresh_tag(term)
    card.close()
    card = open_card(path)
    try:
        term = Terminal(card)
        term.select_aid(ARA_M)
        assert all_rules(term) == h("FF40 67") + RULE_CARRIER + RULE_ALL_APPS
        assert refresh_tag(term) == tag
    finally:
        card.close()


def test_registry_lists_the_ara_m(card):
    entry = card.services.registry.get(ARA_M)
    assert entry is not None and entry.applet == "ara_m" and entry.lifecycle == 0x07


def test_get_next_with_direct_delivery(dterm):
    """T=1 use: every block comes with its command, no '6Cxx' re-issue."""
    dterm.select_aid(ARA_M)
    rules = [_one_app_rule(n) for n in range(12)]
    for r in rules:
        store_ok(dterm, r)
    expected = h("FF40 82 0234") + b"".join(rules)
    blocks = [dterm.raw(h("80CAFF40 00"))] + [dterm.raw(h("80CAFF60 00")) for _ in range(3)]
    assert [(b.data, b.sw) for b in blocks] == [
        (expected[:256], 0x9000), (expected[256:512], 0x9000), (expected[512:], 0x9000), (b"", 0x6985)]


def test_rule_for_the_implicitly_selected_application(aram):
    """AID-REF-DO 'C0' (empty): the application selected by default; any device application."""
    rule = h("E2 0B E1 04 C0 00 C1 00 E3 03 D0 01 01")
    store_ok(aram, rule)
    assert all_rules(aram) == h("FF40 0D") + rule
    assert store(aram, h("F1 02 C0 00")) == 0x9000
    assert all_rules(aram) == h("FF40 00")
