"""PIN commands and access conditions: ETSI TS 102 221 §9.5 (key references), §11.1.9 VERIFY PIN,
§11.1.10 CHANGE PIN, §11.1.11 DISABLE PIN, §11.1.12 ENABLE PIN, §11.1.13 UNBLOCK PIN, §9.2 access
rules in EF.ARR (expanded format) and §10.2.1 status words ('63CX', '6983', '6982', '6984').

Default card: PIN1 '0000' disabled, PIN2 '9999' enabled, ADM1 '55555555', PUK1 '11111111',
PUK2 '22222222'.
"""
from __future__ import annotations

import pytest

from tests.core.helpers import ADM1, PIN1, PIN2, USIM_AID, pin


def cmd(ins: int, ref: int, data: bytes = b"") -> bytes:
    return bytes((0x00, ins, 0x00, ref)) + (bytes((len(data),)) + data if data else b"")


VERIFY, CHANGE, DISABLE, ENABLE, UNBLOCK = 0x20, 0x24, 0x26, 0x28, 0x2C


def retries(term, ref: int) -> int:
    """Retry counter by VERIFY without data ('63CX'); -1 when verified/disabled ('9000')."""
    sw = term.raw(cmd(VERIFY, ref)).sw
    if sw == 0x9000:
        return -1
    assert sw & 0xFFF0 == 0x63C0 or sw == 0x6983, f"{sw:04X}"
    return 0 if sw == 0x6983 else sw & 0x0F


# -- VERIFY ---------------------------------------------------------------------------------------
def test_verify_counts_down_and_blocks(term):
    assert retries(term, PIN2) == 3
    assert term.raw(cmd(VERIFY, PIN2, pin("1234"))).sw_hex == "63C2"
    assert term.raw(cmd(VERIFY, PIN2, pin("1234"))).sw_hex == "63C1"
    assert term.raw(cmd(VERIFY, PIN2, pin("1234"))).sw_hex == "63C0"
    assert term.raw(cmd(VERIFY, PIN2, pin("9999"))).sw_hex == "6983"   # blocked: right PIN too
    assert term.raw(cmd(VERIFY, PIN2)).sw_hex == "6983"


def test_verify_success_resets_counter(term):
    assert term.raw(cmd(VERIFY, PIN2, pin("1234"))).sw_hex == "63C2"
    assert term.verify(PIN2, "9999") == 0x9000
    assert retries(term, PIN2) == -1
    assert term.raw(cmd(VERIFY, PIN2, pin("1234"))).sw_hex == "63C2"   # counter was 3 again
    assert retries(term, PIN2) == 2                                    # and no longer verified


def test_verify_counter_survives_reset(term, card):
    term.raw(cmd(VERIFY, PIN2, pin("1234")))
    card.reset()
    assert retries(term, PIN2) == 2


def test_verify_adm(term):
    assert retries(term, ADM1) == 10
    assert term.raw(cmd(VERIFY, ADM1, pin("12345678"))).sw_hex == "63C9"
    assert term.verify(ADM1, "55555555") == 0x9000


@pytest.mark.parametrize("data", [b"0000", pin("0000") + b"\xff", b"\x30" * 9])
def test_verify_wrong_length(term, data):
    assert term.raw(cmd(VERIFY, PIN2, data)).sw_hex == "6700"
    assert retries(term, PIN2) == 3


def test_verify_unknown_reference(term):
    assert term.raw(cmd(VERIFY, 0x02, pin("0000"))).sw_hex == "6A88"   # PIN Appl 2 not defined


def test_verify_bad_p1(term):
    assert term.raw(b"\x00\x20\x01\x81\x08" + pin("9999")).sw in (0x6A86, 0x6B00)
    assert retries(term, PIN2) == 3


# -- CHANGE ---------------------------------------------------------------------------------------
def test_change_pin(term, card):
    assert term.raw(cmd(CHANGE, PIN2, pin("9999") + pin("4321"))).sw == 0x9000
    card.reset()
    assert term.raw(cmd(VERIFY, PIN2, pin("9999"))).sw_hex == "63C2"
    assert term.verify(PIN2, "4321") == 0x9000


def test_change_pin_wrong_old(term):
    assert term.raw(cmd(CHANGE, PIN2, pin("0000") + pin("4321"))).sw_hex == "63C2"
    assert term.verify(PIN2, "9999") == 0x9000


def test_change_pin_wrong_length(term):
    assert term.raw(cmd(CHANGE, PIN2, pin("9999"))).sw_hex == "6700"


def test_change_disabled_pin_refused(term):
    # PIN1 is disabled: CHANGE PIN is not possible (TS 102 221 §11.1.10)
    r = term.raw(cmd(CHANGE, PIN1, pin("0000") + pin("1111")))
    assert r.sw != 0x9000
    assert term.raw(cmd(ENABLE, PIN1, pin("0000"))).sw == 0x9000   # the old value still holds


# -- DISABLE / ENABLE ------------------------------------------------------------------------------
def test_enable_and_disable_pin1(term, card):
    assert retries(term, PIN1) == -1                     # disabled: nothing to verify
    assert term.raw(cmd(ENABLE, PIN1, pin("0000"))).sw == 0x9000
    card.reset()
    assert retries(term, PIN1) == 3
    assert term.raw(cmd(ENABLE, PIN1, pin("0000"))).sw != 0x9000  # already enabled
    assert term.raw(cmd(DISABLE, PIN1, pin("1234"))).sw_hex == "63C2"
    assert term.raw(cmd(DISABLE, PIN1, pin("0000"))).sw == 0x9000
    card.reset()
    assert retries(term, PIN1) == -1
    assert term.raw(cmd(DISABLE, PIN1, pin("0000"))).sw != 0x9000  # already disabled


def test_enable_wrong_pin(term):
    assert term.raw(cmd(ENABLE, PIN1, pin("9999"))).sw_hex == "63C2"


def test_disable_pin2_not_allowed(term):
    r = term.raw(cmd(DISABLE, PIN2, pin("9999")))
    assert r.sw != 0x9000
    assert retries(term, PIN2) in (3, -1)


# -- UNBLOCK ------------------------------------------------------------------------------------
def _block_pin2(term):
    for _ in range(3):
        term.raw(cmd(VERIFY, PIN2, pin("1234")))
    assert retries(term, PIN2) == 0


def test_unblock_resets_counter_and_sets_new_pin(term, card):
    _block_pin2(term)
    assert term.raw(cmd(UNBLOCK, PIN2)).sw_hex == "63CA"           # PUK counter: 10
    assert term.raw(cmd(UNBLOCK, PIN2, pin("00000000") + pin("1357"))).sw_hex == "63C9"
    assert term.raw(cmd(UNBLOCK, PIN2)).sw_hex == "63C9"
    assert term.raw(cmd(UNBLOCK, PIN2, pin("22222222") + pin("1357"))).sw == 0x9000
    assert term.raw(cmd(UNBLOCK, PIN2)).sw_hex == "63CA"           # PUK counter reset too
    card.reset()
    assert retries(term, PIN2) == 3
    assert term.verify(PIN2, "1357") == 0x9000


def test_unblock_with_puk_blocked(term):
    for i in range(10):
        assert term.raw(cmd(UNBLOCK, PIN2, pin("00000000") + pin("1357"))).sw == 0x63C9 - i
    assert term.raw(cmd(UNBLOCK, PIN2, pin("22222222") + pin("1357"))).sw_hex == "6983"
    assert term.raw(cmd(UNBLOCK, PIN2)).sw_hex == "6983"


def test_unblock_wrong_length(term):
    assert term.raw(cmd(UNBLOCK, PIN1, pin("11111111"))).sw_hex == "6700"


def test_unblock_enables_pin1(term, card):
    # after UNBLOCK PIN the PIN is enabled (TS 102 221 §11.1.13)
    assert term.raw(cmd(UNBLOCK, PIN1, pin("11111111") + pin("2468"))).sw == 0x9000
    card.reset()
    assert retries(term, PIN1) == 3
    assert term.verify(PIN1, "2468") == 0x9000


# -- access conditions via EF.ARR -----------------------------------------------------------------
def test_pin1_protected_ef_needs_verify(term, card):
    assert term.raw(cmd(ENABLE, PIN1, pin("0000"))).sw == 0x9000
    card.reset()
    term.select_aid(USIM_AID, p2=0x0C)
    term.ok("00 A4 00 0C 02 6F07")                       # EF.IMSI: read PIN1, update ADM1
    assert term.raw("00 B0 00 00 09").sw_hex == "6982"
    assert term.verify(PIN1, "0000") == 0x9000
    imsi = term.ok("00 B0 00 00 09")
    assert imsi[0] == 8 and imsi[1] & 0x0F == 0x09       # TS 31.102 §4.2.2: length, parity '9'
    assert term.raw("00 D6 00 00 01 08").sw_hex == "6982"  # update stays ADM1
    assert term.verify(ADM1, "55555555") == 0x9000
    assert term.raw("00 D6 00 00 01 08").sw == 0x9000


def test_pin1_verification_is_per_session_not_per_channel(term, card):
    assert term.raw(cmd(ENABLE, PIN1, pin("0000"))).sw == 0x9000
    card.reset()
    term.ok("00 70 00 01")
    assert term.verify(PIN1, "0000") == 0x9000           # on the basic channel
    term.select_aid(USIM_AID, channel=1, p2=0x0C)
    term.ok("01 A4 00 0C 02 6F07")
    assert term.raw("01 B0 00 00 09").sw == 0x9000


def test_pin2_protected_update(term):
    term.select_aid(USIM_AID, p2=0x0C)
    term.ok("00 A4 00 0C 02 6F3B")                       # read PIN1, update PIN2
    data = bytes(30)
    assert term.raw(b"\x00\xDC\x01\x04\x1E" + data).sw_hex == "6982"
    assert term.verify(PIN2, "9999") == 0x9000
    assert term.raw(b"\x00\xDC\x01\x04\x1E" + data).sw == 0x9000

