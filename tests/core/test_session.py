"""Card session: ATR (ISO/IEC 7816-3 §8, ETSI TS 102 221 §6), power and reset, logical channels
(TS 102 221 §11.1.17, ISO/IEC 7816-4 §11.1.2), CLA coding (TS 102 221 §10.1.1), T=0 response
delivery (TS 102 221 §7.3.1.1.4, §11.1.16) and STATUS (TS 102 221 §11.1.2).
"""
from __future__ import annotations

from functools import reduce

import pytest

from euicc.atr import INTERFACES
from euicc.card import Card, CardConfig
from euicc.composition import open_card
from euicc.fs.filesystem import FileSystem
from euicc.fs.model import EF, TRANSPARENT, FileDescriptor
from tests.core.helpers import PIN2, USIM_AID, Terminal, as_dict, cla, h, single

SELECT_MF = "00 A4 00 0C 02 3F00"


# -- ATR ----------------------------------------------------------------------------------------
def parse_atr(atr: bytes) -> dict:
    """ISO 7816-3 §8.2: TS, T0, interface bytes TAi..TDi, historical bytes, TCK."""
    assert atr[0] == 0x3B, "TS: direct convention (TS 102 221 §6.3)"
    y, k = atr[1] >> 4, atr[1] & 0x0F
    i, n = 2, 1
    iface: dict[str, int] = {}
    protocols: list[int] = []
    while True:
        for bit, name in ((1, "A"), (2, "B"), (4, "C"), (8, "D")):
            if y & bit:
                iface[f"T{name}{n}"] = atr[i]
                i += 1
        if not y & 8:
            break
        td = iface[f"TD{n}"]
        protocols.append(td & 0x0F)
        y, n = td >> 4, n + 1
    historical = atr[i:i + k]
    i += k
    tck = None
    if any(p != 0 for p in protocols):
        tck = atr[i]
        i += 1
    assert i == len(atr), "ATR length does not match its T0/TDi indications"
    return {"iface": iface, "protocols": protocols, "historical": historical, "tck": tck,
            "xor": reduce(lambda a, b: a ^ b, atr[1:], 0)}


def compact_tlv(buf: bytes) -> dict[int, bytes]:
    """ISO 7816-4 §8.1.1.2 compact-TLV data objects of the historical bytes (tag nibble, length)."""
    out, i = {}, 0
    while i < len(buf):
        tag, n = buf[i] >> 4, buf[i] & 0x0F
        out[tag] = buf[i + 1:i + 1 + n]
        i += 1 + n
    return out


# The built-in ATRs, bytes written out (TCK computed by hand: XOR of T0..the last historical byte).
ATR_T0 = h("3B 97 96 80 1F C7 80 31 E0 73 FE 21 5F FB")
ATR_T0_T1 = h("3B 97 96 80 81 1F C7 80 31 E0 73 FE 21 5F 7A")
ATR_T1 = h("3B 97 96 81 1F C7 80 31 E0 73 FE 21 5F FA")


def test_default_atr_offers_t0_only(card):
    # sysmoEUICC1-like: pcsc-lite must not negotiate T=1 for a T=0-only client (pySim-shell, lpac)
    assert card.atr == ATR_T0
    assert parse_atr(card.atr)["protocols"] == [0, 15]


@pytest.mark.parametrize("name,atr,protocols", [
    ("t0", ATR_T0, [0, 15]), ("t0-t1", ATR_T0_T1, [0, 1, 15]), ("t1", ATR_T1, [1, 15])])
def test_built_in_atrs_and_their_tck(name, atr, protocols):
    assert INTERFACES[name].atr == atr
    parsed = parse_atr(atr)   # asserts TCK present exactly when a protocol other than T=0 is indicated
    assert parsed["protocols"] == protocols
    # ISO 7816-3 §8.2.5: T=15 counts as "other than T=0", so even the T=0-only ATR carries TCK
    assert parsed["tck"] is not None and parsed["xor"] == 0
    # T=15 global interface byte: class indicator with at least one of classes A, B, C (§6.2.1)
    i = parsed["protocols"].index(15) + 2
    assert parsed["iface"][f"TA{i}"] & 0x07


def test_atr_without_t15_has_no_tck():
    # the test's parser itself: T=0 only, no TDi at all -> no TCK (ISO 7816-3 §8.2.5)
    assert parse_atr(h("3B 02 14 50"))["tck"] is None


@pytest.mark.parametrize("name,t0_delivery", [("t0", True), ("t0-t1", True), ("t1", False)])
def test_delivery_follows_the_offered_protocols(name, t0_delivery):
    # a T=1-only card answers with the data (ISO 7816-3 §11); T=0 needs 61xx/GET RESPONSE (§10.3.3)
    c = open_card(None, CardConfig(atr=INTERFACES[name].atr, t0=INTERFACES[name].t0_delivery))
    try:
        r = Terminal(c).raw("00 A4 00 04 02 3F00 00")
        assert (r.sw >> 8 == 0x61) == t0_delivery and (r.sw == 0x9000) == (not t0_delivery)
        assert c.atr == INTERFACES[name].atr
    finally:
        c.close()


def test_atr_card_capabilities_match_behaviour(term, card):
    hist = parse_atr(card.atr)["historical"]
    assert hist[0] == 0x80  # category indicator: compact-TLV follows
    caps = compact_tlv(hist[1:])[0x7]
    third = caps[2]
    channels = 8 if third & 0x07 == 0x07 else (third & 0x07) + 1
    if third & 0x10:  # assignment by the card: P2 = 0 opens channels 1..channels-1
        opened = [term.ok("00 70 00 00 01")[0] for _ in range(channels - 1)]
        assert opened == list(range(1, channels))
    if third & 0x40:  # extended Lc and Le
        assert term.raw("00 A4 00 0C 00 0002 3F00").sw == 0x9000


def test_reset_and_power_on_return_the_atr(card):
    assert card.reset() == card.atr
    card.power_off()
    assert card.power_on() == card.atr


def test_custom_atr_is_used():
    atr = h("3B 02 14 50")
    c = open_card(None, CardConfig(atr=atr))
    try:
        assert c.atr == atr and c.reset() == atr
    finally:
        c.close()


# -- power off/on and reset clear volatile state ------------------------------------------------
@pytest.fixture(params=["reset", "power"])
def cycle(request):
    def do(card):
        if request.param == "reset":
            card.reset()
        else:
            card.power_off()
            card.power_on()
    return do


def test_cycle_closes_channels(term, card, cycle):
    term.ok("00 70 00 03")
    assert term.raw("03 A4 00 0C 02 3F00").sw == 0x9000
    cycle(card)
    assert term.raw("03 A4 00 0C 02 3F00").sw_hex == "6881"


def test_cycle_resets_selection(term, card, cycle):
    term.ok("00 A4 00 0C 02 7F10")
    term.ok("00 A4 00 0C 02 6F3A")
    cycle(card)
    assert term.raw("00 B2 01 04 1E").sw_hex == "6986"  # no current EF
    fcp = as_dict(single(term.ok("80 F2 00 00 00"), 0x62))
    assert fcp[0x83] == h("3F00")


def test_cycle_forgets_verified_pins(term, card, cycle):
    assert term.verify(PIN2, "9999") == 0x9000
    assert term.raw("00 20 00 81").sw == 0x9000  # verified: no retries to report
    cycle(card)
    assert term.raw("00 20 00 81").sw_hex == "63C3"


def test_cycle_drops_get_response_buffer(term, card, cycle):
    r = term.raw("00 A4 00 04 02 3F00")
    assert r.sw >> 8 == 0x61
    cycle(card)
    r = term.raw(bytes((0x00, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    assert r.data == b"" and r.sw != 0x9000



def test_get_response_indicates_a_proactive_command_queued_meanwhile(term, card):
    """TS 102 221 §10.2.1: the '91xx' of GET RESPONSE is the indication when it is sent, not a
    copy of the status from when the data was buffered (a timer may queue a command meanwhile)."""
    from euicc.cat.proactive import refresh

    term.ok("80 10 00 00 01 FF")   # TERMINAL PROFILE: the terminal takes proactive commands
    r = term.raw("00 A4 00 04 02 3F00")
    assert r.sw >> 8 == 0x61
    assert card.session.cat.submit(refresh())
    g = term.raw(bytes((0x00, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    assert len(g.data) == r.sw & 0xFF and g.sw >> 8 == 0x91

# -- MANAGE CHANNEL ------------------------------------------------------------------------------
def test_open_channel_card_assigns(term):
    assert term.raw("00 70 00 00 01").data == b"\x01"
    assert term.raw("00 70 00 00 01").data == b"\x02"
    assert term.raw("00 70 80 01").sw == 0x9000
    assert term.raw("00 70 00 00 01").data == b"\x01"  # lowest free number again


def test_open_channel_requested_by_terminal(term):
    assert (term.raw("00 70 00 07").data, term.raw("43 A4 00 0C 02 3F00").sw) == (b"", 0x9000)
    # the IPAd form with a trailing Le byte (SPEC_NOTES §1.2.3)
    r = term.raw("00 70 00 01 00")
    assert (r.data, r.sw) == (b"", 0x9000)


def test_close_channel_with_trailing_le(term):
    term.ok("00 70 00 01")
    assert term.raw("00 70 80 01 00").sw == 0x9000  # lpac's close (SPEC_NOTES §1.2.3)
    assert term.raw("01 A4 00 0C 02 3F00").sw_hex == "6881"


@pytest.mark.parametrize("apdu", [
    "00 70 80 00",        # the basic channel cannot be closed
    "00 70 80 05",        # not open
    "00 70 00 14",        # channel 20 does not exist on a UICC
    "00 70 40 00",        # P1 neither open nor close
])
def test_manage_channel_errors(term, apdu):
    r = term.raw(apdu)
    assert r.sw != 0x9000 and r.data == b""
    assert term.raw(SELECT_MF).sw == 0x9000  # basic channel still works


def test_manage_channel_refuses_proprietary_cla(term):
    # TS 102 221 Table 10.5: MANAGE CHANNEL is coded '0X'/'4X'/'6X'
    assert term.raw("80 70 00 00 01").sw_hex == "6E00"


def test_open_already_open_channel_fails(term):
    term.ok("00 70 00 02")
    assert term.raw("00 70 00 02").sw != 0x9000


def test_no_free_channel(term):
    for n in range(1, 20):
        term.ok(f"00 70 00 {n:02X}")
    r = term.raw("00 70 00 00 01")
    assert r.data == b"" and r.sw != 0x9000


def test_configured_channel_count_is_enforced():
    c = open_card(None, CardConfig(channels=4))
    try:
        t = Terminal(c)
        assert t.raw("00 70 00 03").sw == 0x9000
        assert t.raw("00 70 00 04").sw != 0x9000
        assert t.raw("40 A4 00 0C 02 3F00").sw_hex == "6881"
    finally:
        c.close()


def test_open_from_channel_nonzero_via_its_cla(term):
    term.ok("00 70 00 02")
    assert term.raw("02 70 00 00 01").data == b"\x01"


# -- CLA encodings for channels 0-19 and per-channel selection -----------------------------------
def test_cla_encodings_and_selection_per_channel(term):
    for n in range(1, 20):
        term.ok(f"00 70 00 {n:02X}")
    for n in range(20):
        if n % 2:
            term.ok(bytes((cla(n), 0xA4, 0x00, 0x0C, 0x02, 0x7F, 0x10)))
    for n in range(20):
        fcp = as_dict(single(term.ok(bytes((cla(n, True), 0xF2, 0x00, 0x00, 0x00))), 0x62))
        assert fcp[0x83] == (h("7F10") if n % 2 else h("3F00")), f"channel {n}"


@pytest.mark.parametrize("channel,first,proprietary", [
    (0, 0x00, 0x80), (3, 0x03, 0x83), (4, 0x40, 0xC0), (19, 0x4F, 0xCF)])
def test_cla_byte_values(channel, first, proprietary):
    # TS 102 221 Table 10.3 (checks the helper the other tests rely on)
    assert (cla(channel), cla(channel, True)) == (first, proprietary)


def test_open_from_basic_channel_selects_mf(term):
    term.ok("00 A4 00 0C 02 7F10")
    n = term.ok("00 70 00 00 01")[0]
    fcp = as_dict(single(term.ok(bytes((cla(n, True), 0xF2, 0, 0, 0))), 0x62))
    assert fcp[0x83] == h("3F00")


def test_open_from_other_channel_inherits_selection(term):
    term.ok("00 70 00 01")
    term.select_aid(USIM_AID, channel=1, p2=0x0C)
    n = term.ok("01 70 00 00 01")[0]
    fcp = as_dict(single(term.ok(bytes((cla(n, True), 0xF2, 0, 0, 0))), 0x62))
    assert fcp[0x84] == USIM_AID
    assert term.ok(bytes((cla(n, True), 0xF2, 0, 1, 0))) == b"\x84\x10" + USIM_AID
    # the originating channel is not affected by what the new one does
    term.ok(bytes((cla(n), 0xA4, 0x00, 0x0C, 0x02, 0x3F, 0x00)))
    assert as_dict(single(term.ok("81 F2 00 00 00"), 0x62))[0x84] == USIM_AID


# -- T=0 response delivery ----------------------------------------------------------------------
@pytest.mark.parametrize("channel", [0, 1, 5, 19])
def test_get_response_with_both_cla_forms(term, channel):
    if channel:
        term.ok(f"00 70 00 {channel:02X}")
    for get_cla in (cla(channel), cla(channel, True)):
        r = term.raw(bytes((cla(channel), 0xA4, 0x00, 0x04, 0x02, 0x3F, 0x00)))
        assert r.data == b"" and r.sw >> 8 == 0x61
        g = term.raw(bytes((get_cla, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
        assert g.sw == 0x9000 and len(g.data) == r.sw & 0xFF
        assert as_dict(single(g.data, 0x62))[0x83] == h("3F00")


def test_get_response_on_another_channel_gives_no_data(term):
    term.ok("00 70 00 01")
    r = term.raw("00 A4 00 04 02 3F00")
    assert r.sw >> 8 == 0x61
    g = term.raw(bytes((0x01, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    assert g.data == b"" and g.sw != 0x9000


def test_get_response_in_pieces(term):
    r = term.raw("00 A4 00 04 02 3F00")
    total = r.sw & 0xFF
    g1 = term.raw("00 C0 00 00 10")
    assert len(g1.data) == 0x10 and g1.sw == 0x6100 | (total - 0x10)
    g2 = term.raw(bytes((0x00, 0xC0, 0x00, 0x00, total - 0x10)))
    assert g2.sw == 0x9000
    assert as_dict(single(g1.data + g2.data, 0x62))[0x83] == h("3F00")


def test_get_response_is_consumed_and_cleared_by_other_commands(term):
    r = term.raw("00 A4 00 04 02 3F00")
    term.raw(bytes((0x00, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    again = term.raw(bytes((0x00, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    assert again.data == b"" and again.sw != 0x9000
    r = term.raw("00 A4 00 04 02 3F00")
    term.ok(SELECT_MF)
    later = term.raw(bytes((0x00, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    assert later.data == b"" and later.sw != 0x9000


def test_get_response_le_too_long_gives_6cxx(term):
    # TS 102 221 §7.3.1.1.4: GET RESPONSE is a case-2 command; Le above what is available -> '6Cxx'
    r = term.raw("00 A4 00 04 02 3F00")
    total = r.sw & 0xFF
    assert term.raw(bytes((0x00, 0xC0, 0x00, 0x00, total + 1))).sw == 0x6C00 | total
    g = term.raw(bytes((0x00, 0xC0, 0x00, 0x00, total)))
    assert g.sw == 0x9000 and len(g.data) == total


def test_get_response_bad_p1p2(term):
    r = term.raw("00 A4 00 04 02 3F00")
    assert term.raw(bytes((0x00, 0xC0, 0x01, 0x00, r.sw & 0xFF))).sw in (0x6A86, 0x6B00)


def test_get_response_without_pending_data(term):
    r = term.raw("00 C0 00 00 00")
    assert r.data == b"" and r.sw != 0x9000


def test_case2_wrong_le_gives_6cxx(term):
    term.ok("00 A4 00 0C 02 2FE2")
    assert term.raw("00 B0 00 00 14").sw_hex == "6C0A"   # 20 asked, 10 available
    assert term.raw("00 B0 00 00 00").sw_hex == "6C0A"   # '00' = 256
    r = term.raw("00 B0 00 00 0A")
    assert r.sw == 0x9000 and len(r.data) == 10
    term.ok("00 A4 00 0C 02 2F00")
    assert term.raw("00 B2 01 04 00").sw_hex == "6C28"   # EF.DIR records are 40 bytes


@pytest.fixture
def big_ef(card) -> bytes:
    """A 600-byte transparent EF '2F10' under the MF (built with the euicc.fs API)."""
    content = bytes((i * 7) & 0xFF for i in range(600))
    with card.store.transaction():
        fs = FileSystem(card.store, card.services.active_fsid)
        fs.create("3F00", FileDescriptor(0x2F10, EF, TRANSPARENT, 600, sfi=16, arr=(0x2F06, 1)),
                  content)
    return content


def _chained_read(t: Terminal, apdu: bytes, limit: int) -> tuple[bytes, int]:
    r = t.raw(apdu)
    data = r.data
    assert len(r.data) <= limit
    while r.sw >> 8 == 0x61:
        r = t.raw(bytes((0x00, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
        assert len(r.data) <= 256
        data += r.data
    return data, r.sw


def test_long_response_chained_t0(term, big_ef):
    term.ok("00 A4 00 0C 02 2F10")
    data, sw = _chained_read(term, h("00 B0 00 00 00 0258"), 256)
    assert (data, sw) == (big_ef, 0x9000)


def test_long_response_chained_direct(direct_card):
    content = bytes((i * 7) & 0xFF for i in range(600))
    with direct_card.store.transaction():
        fs = FileSystem(direct_card.store, direct_card.services.active_fsid)
        fs.create("3F00", FileDescriptor(0x2F10, EF, TRANSPARENT, 600, arr=(0x2F06, 1)), content)
    t = Terminal(direct_card)
    t.ok("00 A4 00 0C 02 2F10")
    assert _chained_read(t, h("00 B0 00 00 00 0258"), 600) == (content, 0x9000)
    assert t.raw("00 B0 01 00 20").data == content[256:288]


def test_direct_mode_delivers_with_the_command(dterm):
    r = dterm.raw("00 A4 00 04 02 3F00 00")  # case 4: data with the command, no 61xx
    assert r.sw == 0x9000 and as_dict(single(r.data, 0x62))[0x83] == h("3F00")
    dterm.ok("00 A4 00 0C 02 2FE2")
    r = dterm.raw("00 B0 00 00 00")
    assert r.sw == 0x9000 and len(r.data) == 10
    r = dterm.raw("00 B0 00 00 04")
    assert r.sw == 0x9000 and len(r.data) == 4


# -- STATUS ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("p1", [0x00, 0x01, 0x02])
def test_status_p2_00_returns_fcp_of_current_df(term, p1):
    term.ok("00 A4 00 0C 02 7F10")
    term.ok("00 A4 00 0C 02 6F3A")  # an EF: STATUS still describes the current DF
    r = term.send(bytes((0x80, 0xF2, p1, 0x00, 0x00)))
    assert r.sw == 0x9000 and as_dict(single(r.data, 0x62))[0x83] == h("7F10")


def test_status_p2_00_without_le(term):
    r = term.raw("80 F2 00 00")
    assert r.sw >> 8 == 0x61
    g = term.raw(bytes((0x80, 0xC0, 0x00, 0x00, r.sw & 0xFF)))
    assert g.sw == 0x9000 and as_dict(single(g.data, 0x62))[0x83] == h("3F00")


def test_status_p2_01_returns_aid(term):
    term.select_aid(USIM_AID, p2=0x0C)
    assert term.send("80 F2 00 01 00").data == h("84 10") + USIM_AID
    assert term.send("80 F2 01 01 12").data == h("84 10") + USIM_AID


@pytest.mark.parametrize("apdu", ["80 F2 00 0C", "80 F2 01 0C", "80 F2 02 0C", "80 F2 00 0C 00"])
def test_status_p2_0c_no_data(term, apdu):
    r = term.raw(apdu)
    assert (r.data, r.sw) == (b"", 0x9000)


@pytest.mark.parametrize("p2", [0x02, 0x04, 0x0D, 0xFF])
def test_status_bad_p2(term, p2):
    assert f"{term.raw(bytes((0x80, 0xF2, 0x00, p2, 0x00))).sw:04X}" in ("6A86", "6B00")
