"""Stateful model test: random command sequences against a small reference model (hypothesis).

The model is written from the specifications, not from the card code: logical channels
(TS 102 221 §11.1.17: lowest free number, basic channel 0 always open, reset closes all),
selection per channel (§8.4), READ/UPDATE BINARY and RECORD with the access conditions of the
default profile's EF.ARR rules (§9.2), and PIN1/PIN2 (§11.1.9-§11.1.13: 3 tries, PUK 10 tries,
63Cx, 6983 when blocked, CHANGE/DISABLE need an enabled PIN, UNBLOCK enables the PIN).  After
every step the PIN counters (VERIFY with no data) and the set of open channels (STATUS) are
compared with the model; a re-open from the state file checks that persistent state survives.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from euicc.card import Card
from euicc.composition import open_card

USIM = "A0000000871002FFFFFFFF8907090000"
ALW, PIN1, PIN2, ADM = "ALW", 0x01, 0x81, "ADM"


@dataclass(frozen=True)
class EfSpec:
    path: tuple[str, ...]      # SELECT commands from the MF (FID hex or "AID:..")
    records: int               # 0: transparent
    size: int                  # transparent size or record length
    read: object
    update: object
    initial: bytes


FILES = {
    "EF.PL": EfSpec(("2F05",), 0, 10, ALW, PIN1, b"en" + b"\xff" * 8),
    # ICCID 8988100000000000003 + Luhn digit 1 (ITU-T E.118), nibble-swapped (TS 102 221 §13.2)
    "EF.ICCID": EfSpec(("2FE2",), 0, 10, ALW, ADM, bytes.fromhex("98880100000000000013")),
    "EF.ADN": EfSpec(("7F10", "6F3A"), 10, 30, PIN1, PIN1, b"\xff" * 30),
    "EF.LOCI": EfSpec(("AID:" + USIM, "6F7E"), 0, 11, PIN1, PIN1, bytes.fromhex("ffffffff00f110fffeff01")),
    "EF.AD": EfSpec(("AID:" + USIM, "6FAD"), 0, 4, ALW, ADM, bytes.fromhex("00000002")),
    "EF.6F3B": EfSpec(("AID:" + USIM, "6F3B"), 5, 30, PIN1, PIN2, b"\xff" * 30),
}
PINS = ["0000", "9999", "1234"]
PUKS = ["11111111", "22222222", "00000000"]


def pad(digits: str) -> str:
    return (digits.encode().hex() + "FF" * 8)[:16].upper()


@dataclass
class PinModel:
    value: str
    enabled: bool
    puk: str
    can_disable: bool
    retries: int = 3
    puk_retries: int = 10

    def verify(self, value: str) -> str:
        """Status word of a check of `value` (TS 102 221 §11.1.9: 3 attempts, '63CX' left, '6983'
        blocked); the retry counter follows."""
        if self.retries == 0:
            return "6983"
        if value != self.value:
            self.retries -= 1
            return f"63C{self.retries:X}"
        self.retries = 3
        return "9000"

    def unblock(self, puk: str, new: str) -> str:
        """Status word of UNBLOCK PIN with `puk` (§11.1.13: 10 attempts); a right PUK sets `new`,
        resets both counters and enables the PIN."""
        if self.puk_retries == 0:
            return "6983"
        if puk != self.puk:
            self.puk_retries -= 1
            return f"63C{self.puk_retries:X}"
        self.value, self.retries, self.puk_retries, self.enabled = new, 3, 10, True
        return "9000"


@dataclass
class Model:
    pins: dict[int, PinModel] = field(default_factory=lambda: {
        PIN1: PinModel("0000", False, "11111111", True), PIN2: PinModel("9999", True, "22222222", False)})
    verified: set[int] = field(default_factory=set)
    channels: dict[int, str | None] = field(default_factory=lambda: {0: None})   # channel -> EF name
    contents: dict[str, object] = field(default_factory=lambda: {
        n: ([f.initial] * f.records if f.records else f.initial) for n, f in FILES.items()})

    def satisfied(self, cond: object) -> bool:
        if cond == ALW:
            return True
        if cond == ADM:
            return False
        return not self.pins[cond].enabled or cond in self.verified

    def attempt(self, ref: int, value: str) -> str:
        want = self.pins[ref].verify(value)
        if want == "9000":
            self.verified.add(ref)
        elif want != "6983":
            self.verified.discard(ref)
        return want


class CardMachine(RuleBasedStateMachine):
    """Card under test vs Model, both fed the same commands."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="euicc-sm-"))
        self.card = open_card(self.dir / "card.state")
        self.model = Model()

    def teardown(self) -> None:
        self.card.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def tx(self, apdu: str) -> str:
        return self.card.transmit(bytes.fromhex(apdu)).hex().upper()

    @staticmethod
    def cla(ch: int, proprietary: bool = False) -> str:
        base = 0x80 if proprietary else 0x00
        return f"{(base | ch) if ch < 4 else (base | 0x40 | (ch - 4)):02X}"

    # -- channels ------------------------------------------------------------------------------
    @initialize()
    def start(self) -> None:
        assert self.tx("00A40004023F00")[:2] == "61"

    @rule()
    def open_channel(self) -> None:
        free = [n for n in range(1, 20) if n not in self.model.channels]
        got = self.tx("0070000001")
        if not free:
            assert got == "6A81"
            return
        assert got == f"{free[0]:02X}9000"
        self.model.channels[free[0]] = None

    @rule(ch=st.integers(1, 19))
    def close_channel(self, ch: int) -> None:
        got = self.tx(f"007080{ch:02X}00")
        if ch in self.model.channels:
            assert got == "9000"
            del self.model.channels[ch]
        else:
            assert got == "6881"

    @rule()
    def reset(self) -> None:
        self.card.reset()
        self.model.channels, self.model.verified = {0: None}, set()

    @rule()
    def reopen(self) -> None:
        """Power off, close the state file, open it again: persistent state must be intact."""
        self.card.close()
        self.card = open_card(self.dir / "card.state")
        self.model.channels, self.model.verified = {0: None}, set()

    # -- selection and files ---------------------------------------------------------------------
    def _channel(self, data) -> int:
        return data.draw(st.sampled_from(sorted(self.model.channels)))

    @rule(data=st.data(), name=st.sampled_from(sorted(FILES)))
    def select(self, data, name: str) -> None:
        ch = self._channel(data)
        c = self.cla(ch)
        assert self.tx(c + "A4000C023F00") == "9000"
        for step in FILES[name].path:
            if step.startswith("AID:"):
                aid = step[4:]
                got = self.tx(c + f"A4040C{len(aid) // 2:02X}" + aid)
            else:
                got = self.tx(c + "A4000C02" + step)
            assert got == "9000", (name, step, got)
        self.model.channels[ch] = name

    @rule(data=st.data(), fid=st.sampled_from(["6F00", "2F99", "7F20", "4F01"]))
    def select_missing(self, data, fid: str) -> None:
        ch = self._channel(data)
        assert self.tx(self.cla(ch) + "A4000C02" + fid) == "6A82"   # selection is unchanged

    def _selected(self, data) -> tuple[int, str | None]:
        ch = self._channel(data)
        return ch, self.model.channels[ch]

    @rule(data=st.data())
    def read(self, data) -> None:
        ch, name = self._selected(data)
        c = self.cla(ch)
        if name is None:
            assert self.tx(c + "B0000001") == "6986"
            return
        f, content = FILES[name], self.model.contents[name]
        if f.records:
            n = data.draw(st.integers(1, f.records))
            got = self.tx(c + f"B2{n:02X}04{f.size:02X}")
            want = (content[n - 1].hex().upper() + "9000") if self.model.satisfied(f.read) else "6982"
        else:
            got = self.tx(c + f"B00000{f.size:02X}")
            want = (content.hex().upper() + "9000") if self.model.satisfied(f.read) else "6982"
        assert got == want, (name, got, want)

    @rule(data=st.data(), fill=st.binary(min_size=1, max_size=30))
    def update(self, data, fill: bytes) -> None:
        ch, name = self._selected(data)
        c = self.cla(ch)
        if name is None:
            assert self.tx(c + "D6000001FF") == "6986"
            return
        f = FILES[name]
        allowed = self.model.satisfied(f.update)
        if f.records:
            n = data.draw(st.integers(1, f.records))
            value = (fill * 30)[:f.size]
            got = self.tx(c + f"DC{n:02X}04{f.size:02X}" + value.hex())
            if allowed:
                self.model.contents[name][n - 1] = value
        else:
            value = fill[:f.size]
            got = self.tx(c + f"D60000{len(value):02X}" + value.hex())
            if allowed:
                self.model.contents[name] = value + self.model.contents[name][len(value):]
        assert got == ("9000" if allowed else "6982"), (name, got)

    # -- PINs --------------------------------------------------------------------------------------
    @rule(ref=st.sampled_from([PIN1, PIN2]), value=st.sampled_from(PINS))
    def verify(self, ref: int, value: str) -> None:
        assert self.tx(f"002000{ref:02X}08" + pad(value)) == self.model.attempt(ref, value)

    @rule(ref=st.sampled_from([PIN1, PIN2]), old=st.sampled_from(PINS), new=st.sampled_from(PINS))
    def change(self, ref: int, old: str, new: str) -> None:
        pin = self.model.pins[ref]
        got = self.tx(f"002400{ref:02X}10" + pad(old) + pad(new))
        if not pin.enabled:
            want = "6985"
        else:
            want = self.model.attempt(ref, old)
            if want == "9000":
                pin.value = new
        assert got == want

    @rule(ref=st.sampled_from([PIN1, PIN2]), value=st.sampled_from(PINS), enable=st.booleans())
    def enable_or_disable(self, ref: int, value: str, enable: bool) -> None:
        pin = self.model.pins[ref]
        got = self.tx(f"00{'28' if enable else '26'}00{ref:02X}08" + pad(value))
        if not enable and not pin.can_disable:
            want = "6A86"
        elif pin.enabled == enable:
            want = "6985"
        else:
            want = self.model.attempt(ref, value)
            if want == "9000":
                pin.enabled = enable
        assert got == want

    @rule(ref=st.sampled_from([PIN1, PIN2]), puk=st.sampled_from(PUKS), new=st.sampled_from(PINS))
    def unblock(self, ref: int, puk: str, new: str) -> None:
        pin = self.model.pins[ref]
        got = self.tx(f"002C00{ref:02X}10" + puk.encode().hex() + pad(new))
        want = pin.unblock(puk, new)
        if want == "9000":
            self.model.verified.add(ref)
        assert got == want

    @precondition(lambda self: self.model.pins[PIN1].retries == 0 or self.model.pins[PIN2].retries == 0)
    @rule()
    def blocked_pin_refuses_the_right_value(self) -> None:
        for ref, pin in self.model.pins.items():
            if pin.retries == 0:
                assert self.tx(f"002000{ref:02X}08" + pad(pin.value)) == "6983"

    # -- checked after every step ------------------------------------------------------------------
    @invariant()
    def pin_states_match(self) -> None:
        for ref, pin in self.model.pins.items():
            got = self.tx(f"002000{ref:02X}")
            if ref in self.model.verified or not pin.enabled:
                want = "9000"
            else:
                want = "6983" if pin.retries == 0 else f"63C{pin.retries:X}"
            assert got == want, (hex(ref), got, want)
            got = self.tx(f"002C00{ref:02X}")
            assert got == ("6983" if pin.puk_retries == 0 else f"63C{pin.puk_retries:X}")

    @invariant()
    def open_channels_match(self) -> None:
        for ch in (0, 1, 2, 5, 19):
            got = self.tx(self.cla(ch, proprietary=True) + "F2000C00")
            assert got == ("9000" if ch in self.model.channels else "6881"), (ch, got)


CardMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestCardStateMachine = CardMachine.TestCase
