"""Response fuzzing: each mutator with a known answer, determinism, rate 0, replay from a trace."""
from __future__ import annotations

import io
import random
import shutil

import pytest

from euicc.card import Card
from euicc.composition import open_card
from tests.instrument.helpers import GET_EID, SELECT_ISD_R, store_data, tlv
from vpcd_bridge.instrument import InstrumentedCard
from vpcd_bridge.response_fuzz import ReplayError, ResponseFuzzer, apply, applicable, parse_tree, read_replay
from vpcd_bridge.trace import ApduTrace

# TS 102 221 §11.1.1.3 FCP template '62' with a file descriptor ('82') and a file identifier ('83').
FCP = bytes.fromhex("6208" "82027821" "83023F00")


class Scripted(random.Random):
    """A generator whose draws are given by the test: each choice/randrange/randint takes the next
    pick (an index for choice, the value otherwise); randbytes(n) is A0 A1 ..."""

    def __init__(self, *picks: int) -> None:
        super().__init__(0)
        self.picks = list(picks)

    def choice(self, seq):
        return seq[self.picks.pop(0)]

    def randrange(self, *args):
        return self.picks.pop(0)

    def randint(self, a, b):
        value = self.picks.pop(0)
        assert a <= value <= b
        return value

    def randbytes(self, n):
        return bytes(range(0xA0, 0xA0 + n))


@pytest.mark.parametrize("name, picks, data, sw, expected", [
    ("sw", [0], FCP, 0x9000, (FCP, 0x6200)),
    ("sw_procedure", [1, 0x10], FCP, 0x9000, (FCP, 0x6C10)),
    ("truncate", [4], FCP, 0x9000, (FCP[:4], 0x9000)),
    ("extend", [3], FCP, 0x9000, (FCP + bytes.fromhex("A0A1A2"), 0x9000)),
    ("empty", [], FCP, 0x6283, (b"", 0x6283)),
    ("bitflip", [9], FCP, 0x9000, (bytes.fromhex("6248820278218302 3F00"), 0x9000)),
    # node 1 ('82', length 2): candidates 0, 1, 3, 2+10, 127 -> index 2: 3; '62' still counts its bytes
    ("tlv_length", [1, 10, 2], FCP, 0x9000, (bytes.fromhex("6208 82037821 83023F00"), 0x9000)),
    # node 0 ('62', length 8) in 2 length octets: 81 08 -> index 1 of sizes 1..4 is 2 octets: 82 0008
    ("tlv_long_form", [0, 1], FCP, 0x9000, (bytes.fromhex("62820008 82027821 83023F00"), 0x9000)),
    # node 2 ('83'): choices A3 (constructed bit), 85, 00 -> index 0
    ("tlv_tag", [2, 5, 0, 0, 0], FCP, 0x9000, (bytes.fromhex("6208 82027821 A3023F00"), 0x9000)),
    ("tlv_drop", [1], FCP, 0x9000, (bytes.fromhex("6204 83023F00"), 0x9000)),
    ("tlv_duplicate", [2], FCP, 0x9000, (bytes.fromhex("620C 82027821 83023F00 83023F00"), 0x9000)),
    ("tlv_value", [1, 3], FCP, 0x9000, (bytes.fromhex("6209 8203A0A1A2 83023F00"), 0x9000)),
])
def test_mutator_known_answers(name, picks, data, sw, expected):
    rng = Scripted(*picks)
    result = apply(name, rng, data, sw)
    assert (result[0], result[1]) == expected
    assert not rng.picks, "every scripted draw used"


def test_delivery_mutators_known_answers():
    data = bytes.fromhex("5A10" "89049032123451234512345678901235")
    _, _, _, answers, announce = apply("wrong_length", Scripted(2), data, 0x9000)   # [-3,-2,-1,...][2]
    assert answers == [data[:-1] + b"\x90\x00"] and announce == 18
    _, _, _, answers, announce = apply("chain", Scripted(8), data, 0x9000)
    assert answers == [data[:8] + b"\x61\x0A", data[8:16] + b"\x61\x02", data[16:] + b"\x90\x00"]
    assert announce is None


def test_which_mutators_apply():
    assert set(applicable(b"")) == {"sw", "sw_procedure", "extend"}
    assert "tlv_drop" not in applicable(b"\x01\x02\x03")          # not BER-TLV end to end
    assert "tlv_drop" in applicable(FCP)
    assert parse_tree(b"\x62\x05\x82") is None


def test_rate_is_checked():
    with pytest.raises(ValueError, match="rate"):
        ResponseFuzzer(1, 1.5)


# -- through the instrument -----------------------------------------------------------------------
def session() -> list[bytes]:
    """A host's commands: SELECT by AID (61xx), GET RESPONSE with a wrong Le (6Cxx) and the right
    one, a case-2 GET DATA, an ES10 GetEuiccData in two blocks, an unknown INS."""
    get_eid = store_data(tlv(0xBF3E, tlv(0x5C, b"\x5a")), block=3)
    return [SELECT_ISD_R, bytes.fromhex("00C0000000"), bytes.fromhex("00C0000053"), GET_EID,
            bytes.fromhex("80CA005A00"), *get_eid, bytes.fromhex("00C0000015"), bytes.fromhex("80FF000000"),
            bytes.fromhex("00A40004023F00"), bytes.fromhex("00C000001E")] * 3


@pytest.fixture
def state(tmp_path):
    """A card's initial state; each run opens a copy, so every run starts the same."""
    path = tmp_path / "initial.state"
    open_card(path, first_profile="minimal").close()
    copies = iter(range(100))

    def fresh():
        copy = tmp_path / f"run{next(copies)}.state"
        shutil.copy(path, copy)
        return open_card(copy)
    return fresh


def run(card: Card, fuzzer: ResponseFuzzer | None, trace: io.StringIO | None = None) -> list[bytes]:
    inst = InstrumentedCard(card, fuzzer=fuzzer, trace=ApduTrace(trace, timestamps=False) if trace else None)
    try:
        return [inst.transmit(apdu) for apdu in session()]
    finally:
        card.close()


def test_rate_zero_is_byte_identical(state):
    assert run(state(), ResponseFuzzer(7, 0.0)) == run(state(), None)


def test_same_seed_same_mutations_other_seed_others(state):
    plain = run(state(), None)
    first, second = run(state(), ResponseFuzzer(42, 0.5)), run(state(), ResponseFuzzer(42, 0.5))
    assert first == second and first != plain
    assert run(state(), ResponseFuzzer(43, 0.5)) != first


def test_every_mutation_is_traced_and_replayed(state, tmp_path):
    trace = io.StringIO()
    fuzzed = run(state(), ResponseFuzzer(1234, 0.4), trace)
    lines = [line for line in trace.getvalue().splitlines() if "!! fuzz" in line]
    assert lines and all("seed=1234" in line for line in lines)
    log = tmp_path / "trace.txt"
    log.write_text(trace.getvalue())
    replay = read_replay(log)
    assert set(replay) == {0} and len(replay[0]) == len(lines)
    assert run(state(), ResponseFuzzer.replaying(replay[0])) == fuzzed

    index, entry = sorted(replay[0].items())[-1]               # one mutation alone
    plain = run(state(), None)
    alone = run(state(), ResponseFuzzer.replaying({index: entry}))
    differs = [i + 1 for i, (a, b) in enumerate(zip(plain, alone)) if a != b]
    assert differs and differs[0] == index


def test_replay_of_a_trace_without_mutations_is_refused(tmp_path):
    log = tmp_path / "t.txt"
    log.write_text("[0] >> 00A40004023F00  ; SELECT (CLA 00)\n")
    with pytest.raises(ReplayError):
        read_replay(log)


@pytest.mark.parametrize("answer", [
    bytes.fromhex("D01B8103012180820281028D1004") + b"euicc-emu fault",    # TS 102 223 DISPLAY TEXT
    bytes.fromhex("BF3E125A10") + bytes(16),                                # SGP.22 GetEuiccData
    bytes.fromhex("6F108408A000000151000000A5049F6501FF"),                 # GP FCI
])
def test_tlv_mutators_reach_proactive_es10_and_fci_answers(answer):
    names = applicable(answer)
    assert {"tlv_length", "tlv_long_form", "tlv_tag", "tlv_drop", "tlv_duplicate", "tlv_value"} <= set(names)
    for seed in range(20):
        mutated = apply("tlv_drop", random.Random(seed), answer, 0x9000)[0]
        assert mutated != answer and len(mutated) < len(answer)
