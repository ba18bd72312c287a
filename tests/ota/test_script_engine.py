"""The remote APDU script engine alone (ETSI TS 102 226 §5), with known answers written by hand from
the spec: compact format §5.1.1/§5.1.2, expanded format §5.2.1 (tables 5.3-5.6: 'AA'/'AE' Command
Scripting template, '22' C-APDU) and §5.2.2 (tables 5.9-5.12: 'AB'/'AF' Response Scripting template,
'80' number of executed commands, '23' R-APDU, '90' bad format).

The executor is a stand-in that answers from a table, so the bytes checked are the engine's alone.
"""
from __future__ import annotations

from euicc.card import Card
from euicc.composition import open_card
from euicc.ota.routing import FileSystemScripts
from euicc.ota.script import ItemResult, run_script
from euicc.context import Context, Origin
from tools.ota.transport import decode_expanded_response

h = bytes.fromhex

SELECT_MF = h("00A40004023F00")         # SELECT by FID, FCP returned (TS 102 221 §11.1.1)
READ_BINARY = h("00B0000004")           # READ BINARY 4 bytes (outgoing: P3 is Le)
FCP = h("6203820138")                   # a (short) FCP answer: data of the SELECT
ANSWERS = {SELECT_MF: FCP + h("9000"), READ_BINARY: h("01020304") + h("9000")}


class TableExecutor:
    """Answers each C-APDU from a table; stops after the first failing one (TS 102 226 §5.1.1)."""

    def __init__(self, answers: dict[bytes, bytes]) -> None:
        self.answers = answers
        self.batches: list[list[bytes]] = []

    def execute(self, ctx, commands: list[bytes]) -> list[bytes]:
        self.batches.append(list(commands))
        out = []
        for command in commands:
            out.append(self.answers.get(command, h("6D00")))
            if out[-1][-2:] not in (h("9000"),):
                break
        return out


def test_compact_script_known_answer():
    # §5.1.1: commands in TPDU form back to back; §5.1.2: count || last SW || last data
    executor = TableExecutor(ANSWERS)
    assert run_script(None, executor, h("00A40004023F00" "00B0000004")) == h("02" "9000" "01020304")
    assert executor.batches == [[SELECT_MF, READ_BINARY]]


def test_compact_script_stops_at_the_first_error():
    executor = TableExecutor(ANSWERS)
    assert run_script(None, executor, h("00A40004023F00" "00DE000000" "00B0000004")) == h("02" "6D00")


def test_truncated_compact_script_runs_nothing():
    executor = TableExecutor(ANSWERS)
    assert run_script(None, executor, h("00A40004023F")) == b""
    assert executor.batches == []


def test_expanded_definite_known_answer():
    # AA L { 22 07 SELECT, 22 05 READ BINARY } -> AB L { 80 01 02, 23 07 FCP 9000, 23 06 data 9000 }
    script = h("AA10" "2207" "00A40004023F00" "2205" "00B0000004")
    expected = h("AB14" "800102" "2307" "6203820138" "9000" "2306" "01020304" "9000")
    assert run_script(None, TableExecutor(ANSWERS), script) == expected


def test_expanded_indefinite_known_answer():
    # AE 80 { 22 05 READ BINARY } 00 00 -> AF 80 { 23 06 data 9000 } 00 00 (table 5.10a: no count)
    script = h("AE80" "2205" "00B0000004" "0000")
    assert run_script(None, TableExecutor(ANSWERS), script) == h("AF80" "2306" "01020304" "9000" "0000")


def test_expanded_error_ends_the_script():
    # the second command fails: its R-APDU is the last one, the count says 2
    script = h("AA17" "2207" "00A40004023F00" "2205" "00DE000000" "2205" "00B0000004")
    expected = h("AB10" "800102" "2307" "6203820138" "9000" "2302" "6D00")
    assert run_script(None, TableExecutor(ANSWERS), script) == expected


def test_expanded_bad_format_after_what_ran():
    # §5.2.2 table 5.12: unknown tag 'A0' -> '90 01 01' after the R-APDUs of the items before it
    script = h("AA09" "2205" "00B0000004" "A000")
    expected = h("AB0E" "800101" "2306" "01020304" "9000" "900101")
    assert run_script(None, TableExecutor(ANSWERS), script) == expected


def test_registered_item_handler_runs_in_order():
    """An extension's item (here tag '84', as SGP.02 registers SCP03t) runs after the C-APDUs
    before it; its response TLV takes its place in the Response Scripting template."""
    seen = []

    def item(ctx, tag, value):
        seen.append((tag, value))
        return ItemResult(h("8401") + bytes([len(value)]))

    executor = TableExecutor(ANSWERS)
    script = h("AA12" "2205" "00B0000004" "8402" "ABCD" "2205" "00B0000004")
    expected = h("AB16" "800103" "2306" "01020304" "9000" "840102" "2306" "01020304" "9000")
    assert run_script(None, executor, script, {0x84: item}) == expected
    assert seen == [(0x84, h("ABCD"))] and executor.batches == [[READ_BINARY], [READ_BINARY]]
    # without the handler, '84' is a tag the engine does not know (table 5.12 '01')
    assert run_script(None, TableExecutor(ANSWERS), script) == h("AB0E" "800101" "2306" "01020304" "9000" "900101")


def test_item_that_stops_the_script():
    def item(ctx, tag, value):
        return ItemResult(h("9F450102"), stops=True)

    script = h("AA0B" "8400" "2205" "00B0000004" "8400")
    executor = TableExecutor(ANSWERS)
    assert run_script(None, executor, script, {0x84: item}) == h("AB07" "800101" "9F450102")
    assert executor.batches == []


def test_get_response_inside_a_script():
    """TS 102 226 §5.1.1: a GET RESPONSE in the script returns the previous command's data again
    (run on a real card session's file system: SELECT MF with FCP, then GET RESPONSE); the
    response is decoded by the host tools."""
    card = open_card(None)
    card.power_on()
    ctx = Context(card.session, card.session.channels[0])
    script = h("AA10" "2207" "00A40004023F00" "2205" "00C0000000")
    with card.store.transaction():
        response = decode_expanded_response(run_script(ctx, FileSystemScripts(), script))
    assert response.executed == 2 and len(response.responses) == 2
    select, get_response = response.responses
    assert select[:1] == h("62") and select[-2:] == h("9000")      # FCP template, TS 102 221 §11.1.1.3
    assert get_response == select
