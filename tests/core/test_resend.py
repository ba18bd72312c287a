"""T=0 case-2 commands with a wrong Le run once (ISO/IEC 7816-3 §10.3.3, TS 102 221 §7.3.1.1.4).

The card answers '6Cxx' to a case-2 command whose P3 is not the length of its answer, and the
terminal re-sends the same header with P3 = 'xx'.  The command has already run, so the re-send must
get its answer without running it again.  Each command is run on two fresh cards: once with a wrong
Le followed by the re-send, once with the right Le; the answers, what the card does next (probes)
and the persistent changes must be the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest

from euicc.card import Card
from euicc.composition import open_card
from euicc.cat.proactive import refresh
from euicc.apdu import Command
from euicc.channels import Channel
from tests.core.helpers import ISD_R_AID, USIM_AID, Response, Terminal, h, store_snapshot
from tests.extensions import need, requires
from tests.usim.test_authenticate import EXAMPLES, personalise

SELECT_ISD_R = "00 A4 04 00 10" + ISD_R_AID.hex() + "00"
PRELOADED_ISDP = "A0000005591010FFFFFFFF8900001000"          # the default card's enabled profile
# SGP.22 §5.7.17 DisableProfileRequest [50] { profileIdentifier [0] { isdpAid '4F' }, refreshFlag [1] }
DISABLE = "BF32 17 A0 12 4F 10" + PRELOADED_ISDP + "81 01 00"
# TS 102 223 §6.6.13 REFRESH as fetched (command number 01, qualifier 09, device identities UICC -> ME)
REFRESH = h("D0 09 81 03 01 01 09 82 02 81 82")


def queue_refresh(card: Card) -> None:
    """A proactive command waiting to be fetched (TS 102 221 §7.4.2)."""
    assert card.transmit(h("80 10 00 00 03 FFFFFF")) == h("9000")
    assert card.session.cat.submit(refresh())


@dataclass
class Case:
    """`command` is a short case-2 APDU with a wrong P3; `setup` and `probes` are exchanged like a
    terminal does (61xx / 6Cxx followed)."""

    name: str
    command: str
    setup: list[str] = field(default_factory=list)
    probes: list[str] = field(default_factory=list)
    prepare: Callable[[Card], None] | None = None
    expected: bytes | None = None      # a known answer, where the command has one


CASES = [
    # MANAGE CHANNEL open, channel assigned by the card (TS 102 221 §11.1.17): one channel, not two
    Case("manage_channel_open", "00 70 00 00 00", probes=["00 70 00 00 01", "02 70 80 00"],
         expected=h("01 9000")),
    # READ RECORD next / previous move the record pointer (TS 102 221 §11.1.5): no record skipped
    Case("read_record_next", "00 B2 00 02 00", setup=["00 A4 00 0C 02 2F00"],
         probes=["00 B2 00 02 28", "00 B2 00 02 28"]),
    Case("read_record_previous", "00 B2 00 03 00", setup=["00 A4 00 0C 02 2F00"],
         probes=["00 B2 00 03 28", "00 B2 00 03 28"]),
    # FETCH (TS 102 221 §11.2.3) of a queued REFRESH; then TERMINAL RESPONSE closes it
    Case("fetch", "80 12 00 00 00", prepare=queue_refresh,
         probes=["80 14 00 00 0C 810301010982028281830100", "80 F2 00 0C 00"],
         expected=REFRESH + h("9000")),
    # READ BINARY, STATUS: no state effect, the kept answer is the answer
    Case("read_binary_iccid", "00 B0 00 00 00", setup=["00 A4 00 0C 02 2FE2"]),
    Case("status_fcp", "80 F2 00 00 00", setup=["00 A4 00 0C 02 7F10"]),
]


def fresh(case: Case) -> tuple[Card, Terminal, dict]:
    card = open_card(None)
    if case.prepare is not None:
        case.prepare(card)
    term = Terminal(card)
    for apdu in case.setup:
        assert term.send(apdu).sw in (0x9000, 0x6283), apdu
    return card, term, store_snapshot(card.store)


def changes(before: dict, after: dict) -> dict:
    return {k: after.get(k) for k in before.keys() | after.keys() if before.get(k) != after.get(k)}


def chained(term: Terminal, first: Response, cla: int) -> Response:
    """Fetch the rest of a '61xx' answer (TS 102 221 §7.3.1.1.4)."""
    data, r = first.data, first
    while r.sw >> 8 == 0x61:
        r = term.raw(bytes((cla, 0xC0, 0, 0, r.sw & 0xFF)))
        data += r.data
    return Response(data, r.sw)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_wrong_le_then_resend_runs_the_command_once(case):
    a, ta, a0 = fresh(case)
    b, tb, b0 = fresh(case)
    try:
        refused = ta.raw(case.command)
        assert refused.data == b"" and refused.sw >> 8 == 0x6C
        resend = h(case.command)[:4] + bytes((refused.sw & 0xFF,))
        got, ref = ta.raw(resend), tb.raw(resend)
        assert (got.data, got.sw) == (ref.data, ref.sw) and got.sw == 0x9000
        assert len(got.data) == (refused.sw & 0xFF)
        if case.expected is not None:
            assert got.data + got.sw.to_bytes(2, "big") == case.expected
        for probe in case.probes:
            pa, pb = ta.send(probe), tb.send(probe)
            assert (pa.data, pa.sw) == (pb.data, pb.sw), probe
        ca, cb = changes(a0, store_snapshot(a.store)), changes(b0, store_snapshot(b.store))
        assert ca.keys() == cb.keys()
        assert {k: v for k, v in ca.items() if a0.get(k) == b0.get(k)} == \
            {k: v for k, v in cb.items() if a0.get(k) == b0.get(k)}
    finally:
        a.close()
        b.close()


@requires("rsp")
def test_es10_last_block_with_p3_00_is_refused_before_it_runs():
    """The last block of an ES10 STORE DATA sent with P3 = '00' (no data, so case 2) used to run
    the ES10 command and answer '6Cxx'.  A STORE DATA without data is now '6700' (GP Card Spec
    §11.11.2.3: Lc is the length of a present data field) and runs nothing: the profile stays
    enabled and the LPA sees the error instead of losing a result."""
    card = open_card(None)
    try:
        term = Terminal(card)
        assert term.send(SELECT_ISD_R).sw == 0x9000
        assert term.send("80 E2 11 00 1A" + DISABLE).sw == 0x9000
        before = store_snapshot(card.store)
        assert term.raw("80 E2 91 01 00").sw == 0x6700
        assert changes(before, store_snapshot(card.store)) == {}
    finally:
        card.close()


# -- the rules around the kept answer ----------------------------------------------------------
def records(term: Terminal, apdus: list[str]) -> list[tuple[bytes, str]]:
    return [(r.data, r.sw_hex) for r in map(term.raw, apdus)]


@pytest.fixture
def dir_records(term) -> list[bytes]:
    """EF.DIR's records, read by absolute number; EF.DIR stays selected, no current record."""
    term.ok("00 A4 00 0C 02 2F00")
    recs = [term.ok(f"00 B2 {n:02X} 04 28") for n in (1, 2, 3, 4)]
    term.ok("00 A4 00 0C 02 2F00")
    return recs


def test_resend_with_another_wrong_p3_gets_6cxx_again_without_running(term, dir_records):
    assert records(term, ["00 B2 00 02 00", "00 B2 00 02 05", "00 B2 00 02 28", "00 B2 00 02 28"]) == [
        (b"", "6C28"), (b"", "6C28"), (dir_records[0], "9000"), (dir_records[1], "9000")]


def test_any_other_command_on_the_channel_discards_the_kept_answer(term, dir_records):
    # the command ran (the pointer is on record 1); a later READ RECORD next is a new command
    assert records(term, ["00 B2 00 02 00", "80 F2 00 0C 00", "00 B2 00 02 28"]) == [
        (b"", "6C28"), (b"", "9000"), (dir_records[1], "9000")]


def test_get_response_discards_the_kept_answer(term, dir_records):
    assert records(term, ["00 B2 00 02 00", "00 C0 00 00 28", "00 B2 00 02 28"]) == [
        (b"", "6C28"), (b"", "6985"), (dir_records[1], "9000")]


def test_a_case3_or_extended_command_with_the_same_header_is_not_the_resend(term, dir_records):
    assert term.raw("00 B2 00 02 00").sw_hex == "6C28"
    assert term.raw("00 B2 00 02 00 0028").sw_hex == "6128"        # extended Le: another command
    assert term.raw("00 C0 00 00 28").data == dir_records[1]
    assert term.raw("00 B2 00 02 00").sw_hex == "6C28"
    assert term.raw("00 B2 00 02 01 00").sw_hex == "6700"          # with data: another command
    assert term.raw("00 B2 00 02 28").data == dir_records[3]       # runs: record 4, not 3 kept


def test_kept_answer_is_per_logical_channel(term, dir_records):
    term.ok("00 70 00 01")
    term.ok("01 A4 00 0C 02 2F00")
    assert term.raw("01 B2 00 02 00").sw_hex == "6C28"
    # the same INS P1 P2 P3 on the basic channel is another command, run there (EF.DIR current)
    assert records(term, ["00 B2 00 02 28"]) == [(dir_records[0], "9000")]
    # ... and leaves channel 1's kept answer for its re-send
    assert records(term, ["01 B2 00 02 28", "01 B2 00 02 28"]) == [
        (dir_records[0], "9000"), (dir_records[1], "9000")]


def test_closing_the_channel_or_reset_drops_the_kept_answer(card, term, dir_records):
    term.ok("00 70 00 01")
    assert term.raw("00 70 00 00 00").sw_hex == "6C01"        # opens channel 2
    card.reset()
    assert term.raw("00 70 00 00 01").data == b"\x01"          # a new command after the reset
    assert term.raw("01 70 00 00 00").sw_hex == "6C01"         # opens channel 2 from channel 1
    assert term.raw("00 70 80 01").sw == 0x9000                # close channel 1 (on channel 0)
    term.ok("00 70 00 01")                                     # channel 1 again, nothing kept
    assert term.raw("01 70 00 00 01").data == b"\x03"          # runs: channel 3


def test_proactive_status_is_decided_when_the_kept_answer_is_sent(card, term):
    term.ok("00 A4 00 0C 02 2FE2")
    queue_refresh(card)
    assert term.raw("00 B0 00 00 00").sw_hex == "6C0A"
    assert term.raw("00 B0 00 00 0A").sw_hex == "910B"         # REFRESH waits: '91xx'
    assert term.raw("00 B0 00 00 00").sw_hex == "6C0A"
    assert term.raw("00 70 00 01").sw_hex == "910B"            # fetched and answered on channel 1
    assert term.raw("81 12 00 00 0B").data == REFRESH
    assert term.raw("81 14 00 00 0C 810301010982028281830100").sw == 0x9000
    assert term.raw("00 B0 00 00 0A").sw == 0x9000             # nothing waits any more


def test_extended_case2_gets_61xx_not_6cxx(term):
    term.ok("00 A4 00 0C 02 2FE2")
    r = term.raw("00 B0 00 00 00 0014")   # T=0 carries an extended case 2 as a case 4 (§12.2.1)
    assert r.sw_hex == "610A" and term.raw("00 C0 00 00 0A").sw == 0x9000


# -- the delivery mechanism with answers no command of the default card gives --------------------
def identity(sw: int) -> int:
    return sw


def test_answer_over_256_bytes_is_kept_and_chained():
    # '6C00' announces 256 (ISO 7816-3 §10.3.3); the re-send gets 256 bytes then '61xx'
    ch, data = Channel(0), bytes(range(256)) + bytes(44)
    first = Command.parse(h("80 CA 00 FE 10"))
    assert ch.deliver(first, data, 0x9000, True, identity) == h("6C00")
    resend = Command.parse(h("80 CA 00 FE 00"))
    kept = ch.kept_answer(resend)
    assert kept is not None
    ch.clear()
    assert ch.deliver(resend, kept.data, kept.sw, True, identity) == data[:256] + h("612C")
    assert ch.get_response(Command.parse(h("00 C0 00 00 2C")), True) == bytes(44) + h("9000")


def test_warning_with_data_is_kept_with_its_status():
    # data with '62xx'/'63xx' (ISO 7816-4 §5.6): the re-send gets the data and the warning
    ch = Channel(0)
    assert ch.deliver(Command.parse(h("00 B0 00 00 00")), h("0102"), 0x6282, True, identity) == h("6C02")
    kept = ch.kept_answer(Command.parse(h("00 B0 00 00 02")))
    assert (kept.data, kept.sw) == (h("0102"), 0x6282)
    assert ch.kept_answer(Command.parse(h("00 B0 00 01 02"))) is None   # another P2: another command


def test_direct_delivery_never_answers_6cxx(dterm):
    dterm.ok("00 A4 00 0C 02 2FE2")
    r = dterm.raw("00 B0 00 00 00")
    assert r.sw == 0x9000 and len(r.data) == 10


# -- case-4 commands with state effects: '61xx' whatever Le, run once ---------------------------
CASE4 = [
    # SEARCH RECORD moves the record pointer to the first match (TS 102 221 §11.1.7)
    Case("search_record", "00 A2 01 04 01 4F", setup=["00 A4 00 0C 02 2F00"],
         probes=["00 B2 00 02 28"]),
    # INCREASE adds to a cyclic EF (TS 102 221 §11.1.8)
    Case("increase", "80 32 00 00 03 000005",
         setup=["00 A4 04 0C 10" + USIM_AID.hex(), "00 A4 00 0C 02 6F39", "00 DC 00 03 03 000010"],
         probes=["00 B2 01 04 03", "00 B2 02 04 03"]),
    # SELECT with the FCP (TS 102 221 §11.1.1) changes the current file
    Case("select_fcp", "00 A4 00 04 02 7F10", probes=["80 F2 00 00 00"]),
    # ES10 STORE DATA with data (SGP.22 §5.7.2): DisableProfile
    Case("es10_disable_profile", "80 E2 91 00 1A" + DISABLE, setup=[SELECT_ISD_R],
         probes=["80 E2 91 00 03 BF2D00"], expected=h("BF32 03 80 01 00")),
    # ENVELOPE (TS 102 221 §11.2.2) event download
    Case("envelope", "80 C2 00 00 03 D60100", probes=["80 F2 00 0C 00"]),
]


@pytest.mark.parametrize("case", CASE4, ids=lambda c: c.name)
def test_case4_with_any_le_gets_61xx_and_runs_once(case):
    if case.name.startswith("es10"):
        need("rsp")
    cmd = h(case.command)
    a, ta, a0 = fresh(case)
    b, tb, b0 = fresh(case)
    try:
        first = ta.raw(cmd + b"\x01")              # Le = 1, too short for any answer here
        assert first.sw >> 8 in (0x61, 0x90) and first.data == b""
        got = chained(ta, first, cmd[0])
        ref = tb.send(cmd)                          # the case-3 form, as T=0 terminals send it
        assert (got.data, got.sw) == (ref.data, ref.sw) and got.sw == 0x9000
        if case.expected is not None:
            assert got.data == case.expected
        for probe in case.probes:
            pa, pb = ta.send(probe), tb.send(probe)
            assert (pa.data, pa.sw) == (pb.data, pb.sw), probe
        ca, cb = changes(a0, store_snapshot(a.store)), changes(b0, store_snapshot(b.store))
        assert ca.keys() == cb.keys()
    finally:
        a.close()
        b.close()


def test_authenticate_with_a_wrong_le_gets_61xx_and_runs_once():
    # USIM AUTHENTICATE (TS 31.102 §7.1.2), case 4: '61xx' whatever Le, the RES of the osmo-auc-gen
    # example; the same challenge again is then a replay (synchronisation failure 'DC')
    case = next(c for c in EXAMPLES["cases"] if int(c["SQN"], 16))
    card = open_card(None)
    try:
        personalise(card, case["K"], case["OPc"], ind_bits=0)
        term = Terminal(card)
        term.ok("00 A4 04 0C 07 A0000000871002")
        challenge = b"\x10" + h(case["RAND"]) + b"\x10" + h(case["AUTN"])
        first = term.raw(bytes((0x00, 0x88, 0x00, 0x81, len(challenge))) + challenge + b"\x01")
        assert first.data == b"" and first.sw >> 8 == 0x61
        got = chained(term, first, 0x00)
        assert got.sw == 0x9000 and got.data[:10] == h("DB08" + case["RES"])
        assert term.send(bytes((0x00, 0x88, 0x00, 0x81, len(challenge))) + challenge).data[:2] == h("DC0E")
    finally:
        card.close()
