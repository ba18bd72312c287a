"""Fault rules applied by the instrument to a real card, in process (known answers from the specs)."""
from __future__ import annotations

import io

import pytest

from euicc.card import Card, CardConfig
from euicc.composition import open_card
from tests.instrument.helpers import GET_EID, SELECT_ISD_R, es10, exchange, sgp22, store_data, tlv
from vpcd_bridge.faults import FaultTable, RuleError, parse_rule
from vpcd_bridge.instrument import NO_ANSWER, InstrumentedCard
from vpcd_bridge.trace import ApduTrace

TID = bytes.fromhex("0102030405060708090A0B0C0D0E0F10")


class FakeLink:
    def __init__(self) -> None:
        self.ejected: list[float] = []

    def eject(self, absent: float) -> None:
        self.ejected.append(absent)


@pytest.fixture
def rig(tmp_path):
    """(instrumented card, fault table, trace text, sleeps, link) around a new minimal card."""
    card = open_card(tmp_path / "card.state", first_profile="minimal")
    stream, sleeps, link = io.StringIO(), [], FakeLink()
    table = FaultTable()
    inst = InstrumentedCard(card, faults=table, trace=ApduTrace(stream, timestamps=False), link=link,
                            sleep=sleeps.append)
    yield inst, table, stream, sleeps, link
    card.close()


def test_forced_sw_on_select_by_aid_once(rig):
    inst, table, trace, _, _ = rig
    table.add({"match": {"aid": "A0000005591010FFFFFFFF89"}, "action": "sw", "sw": "6A82"})
    assert inst.transmit(SELECT_ISD_R) == bytes.fromhex("6A82")
    assert inst.transmit(SELECT_ISD_R)[0] == 0x61            # count 1: the card answers again
    assert "!! fault 1 (sw): forced SW 6A82" in trace.getvalue()
    assert table.listing()[0]["fired"] == 1


def test_skip_and_count(rig):
    inst, table, _, _, _ = rig
    table.add({"match": {"ins": "A4"}, "action": "sw", "sw": "6F00", "skip": 2, "count": 2})
    answers = [inst.transmit(SELECT_ISD_R)[:1].hex() for _ in range(5)]
    assert answers == ["61", "61", "6f", "6f", "61"]


def test_aid_rule_matches_commands_on_the_selected_channel(rig):
    inst, table, _, _, _ = rig
    table.add({"match": {"aid": "A0000005591010FFFFFFFF8900000100", "ins": "CA"}, "action": "sw", "sw": "6985"})
    assert inst.transmit(SELECT_ISD_R)[0] == 0x61
    assert inst.transmit(GET_EID) == bytes.fromhex("6985")


def test_forced_es10_error_over_several_blocks_t0(rig):
    """AuthenticateServer (BF38) answered authenticateResponseError invalidCertificate(1) with the
    request's transactionId; the card sees none of the blocks."""
    inst, table, trace, _, _ = rig
    table.add({"match": {"es10": "BF38"}, "action": "es10_error", "error": "invalidCertificate"})
    request = tlv(0xBF38, tlv(0x30, tlv(0x80, TID) + bytes(300)))
    data, sw, raw = es10(inst.transmit, request, block=200)
    assert raw[0][0] == 0x61 and sw == 0x9000                 # T=0: 61xx, then GET RESPONSE
    choice, value = sgp22().decode("AuthenticateServerResponse", data)
    assert choice == "authenticateResponseError"
    assert value == {"transactionId": TID, "authenticateErrorCode": 1}
    assert "armed by ES10 BF38" in trace.getvalue()


def test_forced_load_bpp_error_is_a_profile_installation_result(rig):
    inst, table, _, _, _ = rig
    table.add({"match": {"es10": "BF36"}, "action": "es10_error",
               "error": "installFailedDueToInsufficientMemoryForProfile", "bpp_command": "configureISDP"})
    segment = tlv(0xBF36, tlv(0xBF23, tlv(0x80, TID)))
    data, sw, _ = es10(inst.transmit, segment)
    pir = sgp22().decode("ProfileInstallationResult", data)
    result = pir["profileInstallationResultData"]
    assert result["transactionId"] == TID
    assert result["finalResult"] == ("errorResult", {"bppCommandId": 1, "errorReason": 10})


def test_es10_error_direct_delivery(tmp_path):
    card = open_card(tmp_path / "c", CardConfig(t0=False), first_profile="minimal")
    table = FaultTable()
    inst = InstrumentedCard(card, t0=False, faults=table)
    table.add({"match": {"es10": "BF31"}, "action": "es10_error", "error": "profileNotInDisabledState"})
    answer = inst.transmit(bytes.fromhex("80E2910003BF310000"))
    assert sgp22().decode("EnableProfileResponse", answer[:-2]) == {"enableResult": 2}
    assert answer[-2:] == b"\x90\x00"
    card.close()


def test_delay(rig):
    inst, table, _, sleeps, _ = rig
    table.add({"match": {"ins": "A4"}, "action": "delay", "ms": 250})
    assert inst.transmit(SELECT_ISD_R)[0] == 0x61
    assert sleeps == [0.25]


def test_drop_processes_the_command_answers_nothing_and_closes_the_link(rig):
    inst, table, trace, sleeps, link = rig
    table.add({"match": {"ins": "A4"}, "action": "drop", "hold_ms": 1500, "absent_ms": 800})
    assert inst.transmit(SELECT_ISD_R) == NO_ANSWER
    assert sleeps == [1.5] and link.ejected == [0.8]
    assert "no answer" in trace.getvalue()


def test_wrong_length_case2_and_case4(rig):
    inst, table, _, _, _ = rig
    inst.transmit(SELECT_ISD_R)
    right = inst.transmit(GET_EID)
    assert len(right) == 18 + 2
    table.add({"match": {"ins": "CA"}, "action": "wrong_length", "delta": -1})
    assert inst.transmit(GET_EID) == right[:17] + right[-2:]        # Le = 18, 17 bytes come
    table.add({"match": {"ins": "E2"}, "action": "wrong_length", "delta": 2})
    first = inst.transmit(bytes.fromhex("80E2910006BF3E035C015A00"))
    assert first == bytes.fromhex("6115")                            # 21 bytes announced ...
    answer = inst.transmit(bytes.fromhex("00C0000015"))
    assert len(answer) == 21 + 2 + 2 and answer[-4:] == bytes.fromhex("00009000")   # ... 23 come


def test_wrong_length_on_a_bare_status_word_keeps_one_byte(rig):
    inst, table, _, _, _ = rig
    table.add({"match": {"ins": "A4", "p1": "00"}, "action": "wrong_length", "delta": -5})
    assert inst.transmit(bytes.fromhex("00A4000C023F00")) == b"\x90"


def test_chain_where_none_is_needed(rig):
    inst, table, _, _, _ = rig
    inst.transmit(SELECT_ISD_R)
    right = inst.transmit(GET_EID)
    table.add({"match": {"ins": "CA"}, "action": "chain", "chunk": 5})
    data, sw, raw = exchange(inst.transmit, GET_EID)
    assert raw[0] == right[:5] + bytes.fromhex("610D")               # 5 bytes, 13 more to get
    assert [len(r) for r in raw] == [7, 7, 7, 5] and data + sw.to_bytes(2, "big") == right


def test_unexpected_proactive_command(rig):
    inst, table, trace, _, _ = rig
    inst.transmit(SELECT_ISD_R)
    table.add({"match": {"ins": "CA"}, "action": "proactive"})
    answer = inst.transmit(GET_EID)
    assert answer[-2] == 0x91
    size = answer[-1]
    command = inst.transmit(bytes((0x80, 0x12, 0, 0, size)))
    # TS 102 223 §6.6.1 DISPLAY TEXT: D0, command details 81 03 01 21 80, device identities 82 02 81 02
    assert command[0] == 0xD0 and command[2:7] == bytes.fromhex("8103012180") and command[-2:] == b"\x90\x00"
    assert len(command) - 2 == size
    tr = bytes.fromhex("801400000C" "810301218082028281830100")
    assert inst.transmit(tr) == b"\x90\x00"
    assert "TERMINAL RESPONSE to the injected command" in trace.getvalue()


def test_removal_loses_volatile_state_only(rig):
    inst, table, _, _, link = rig
    inst.transmit(SELECT_ISD_R)
    table.add({"match": {"ins": "CA"}, "action": "remove", "absent_ms": 500})
    assert inst.transmit(GET_EID) == NO_ANSWER and link.ejected == [0.5]
    assert inst.transmit(GET_EID)[:2] != bytes.fromhex("5A10")       # ISD-R no longer selected


def test_power_cut_during_a_write_leaves_persistent_state_as_before(rig, tmp_path):
    """SetNickname (SGP.22 §5.7.21, BF29) cut at its first NVM write: the nickname is unchanged."""
    inst, table, _, _, link = rig
    iccid = bytes.fromhex("98880100000000000013")                    # 89881000000000000031, BCD swapped
    set_nickname = tlv(0xBF29, tlv(0x5A, iccid) + tlv(0x90, b"cut"))
    inst.transmit(SELECT_ISD_R)
    table.add({"match": {"es10": "BF29"}, "action": "power_cut", "write": 1})
    assert es10(inst.transmit, set_nickname)[2] == [NO_ANSWER] and link.ejected == [1.0]
    assert inst.card.describe()["profiles"][0]["nickname"] == ""
    inst.power_on()
    inst.transmit(SELECT_ISD_R)
    data, sw, _ = es10(inst.transmit, set_nickname)
    assert sgp22().decode("SetNicknameResponse", data) == {"setNicknameResult": 0}
    assert inst.card.describe()["profiles"][0]["nickname"] == "cut"


@pytest.mark.parametrize("rule, message", [
    ({"action": "nope"}, "action"),
    ({"action": "sw"}, "'sw' is required"),
    ({"action": "sw", "sw": "6A"}, "2 byte"),
    ({"action": "sw", "sw": "6A82", "match": {"ins": "XYZ"}}, "not hex"),
    ({"action": "sw", "sw": "6A82", "match": {"lc": "01"}}, "unknown field"),
    ({"action": "sw", "sw": "6A82", "count": 0}, "count"),
    ({"action": "es10_error", "error": "invalidCertificate"}, "needs 'es10'"),
    ({"action": "es10_error", "error": "noSuchCode", "match": {"es10": "BF38"}}, "has no error code"),
    ({"action": "es10_error", "error": "invalidCertificate", "match": {"es10": "BF31"}}, "has no error code"),
    ({"action": "es10_error", "error": "undefinedError", "match": {"es10": "BF3E"}}, "has no error code"),
    ({"action": "es10_error", "error": 1, "match": {"es10": "BF56"}}, "no single ES10 response type"),
    ({"action": "es10_error", "error": 10, "bpp_command": "nope", "match": {"es10": "BF36"}}, "BppCommandId"),
    ({"action": "es10_error", "error": 1, "transaction_id": "00" * 17, "match": {"es10": "BF38"}}, "1..16"),
    ({"action": "sw", "sw": "6A 82", "count": "sometimes"}, "count"),
    ({"action": "proactive", "command": "D0" * 256}, "255 bytes"),
    ({"action": "delay", "ms": -1}, "ms"),
    ({"action": "wrong_length", "delta": 0}, "right length"),
    ({"action": "proactive", "terminal_response": "eat"}, "swallow"),
    ([], "JSON object"),
])
def test_bad_rules_are_refused_with_a_reason(rule, message):
    with pytest.raises(RuleError, match=message):
        parse_rule(rule, 1)


def test_es10_rule_that_does_not_forge_lets_the_card_see_every_block(rig):
    """A delay armed by the first block of GetEuiccData (BF3E) acts on the last one; the card
    assembles and answers the whole command (EID in '5A', SGP.22 §5.7.20)."""
    inst, table, _, sleeps, _ = rig
    inst.transmit(SELECT_ISD_R)
    table.add({"match": {"es10": "BF3E"}, "action": "delay", "ms": 100})
    blocks = store_data(tlv(0xBF3E, tlv(0x5C, b"\x5a")), block=3)
    assert len(blocks) == 2
    assert inst.transmit(blocks[0]) == b"\x90\x00" and sleeps == []
    data, sw, _ = exchange(inst.transmit, blocks[1])
    assert sleeps == [0.1] and sw == 0x9000
    assert data[:5] == bytes.fromhex("BF3E125A10") and len(data) == 5 + 16
