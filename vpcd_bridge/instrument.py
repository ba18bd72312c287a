"""The test instrument: a card wrapper that misbehaves on purpose toward the host.

:class:`InstrumentedCard` has the interface the bridge uses (:class:`~vpcd_bridge.session.CardLike`)
and sits between the transport and a card (``euicc.card.Card``); the card knows nothing of it.
It applies the fault rules of a :class:`~vpcd_bridge.faults.FaultTable` and, when set, the response
mutations of a :class:`~vpcd_bridge.response_fuzz.ResponseFuzzer`; each applied fault or mutation is
written to the APDU trace as a ``!!`` line (:meth:`ApduTrace.note`).

Response delivery.  When the instrument changes an answer it first takes the card's whole response
(following ``61xx`` with GET RESPONSE, ISO 7816-4 §7.6.1) and delivers the changed one itself the way
the card would (``euicc.channels.Channel``: T=0 ``61xx``/``6Cxx`` per TS 102 221 §7.3.1.1.4, or
direct), so a forged ES10 answer reaches a T=0 host through its GET RESPONSE like a real one.
Without rules or fuzzing every APDU goes to the card untouched.

Faults that concern the link (``drop``, ``remove``, ``power_cut``) need the vpcd connection
(:meth:`attach`, anything with ``eject(absent_seconds)``): ifd-vpcd has no receive timeout
(vsmartcard ``vpcd.c`` ``vicc_transmit`` blocks in ``recv``), so an unanswered APDU blocks the host
until the card closes the link; the host's transmit then fails and the reader reports the card
absent until the card reconnects (a cold reset: volatile state lost, persistent state as committed).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from euicc import tlv
from euicc.apdu import Command, SwError, encode_cla, sw_bytes
from euicc.channels import Channel
from euicc.nvm import PowerCut

from . import answers as wire
from .faults import CommandView, FaultTable, Rule, hex_bytes
from .trace import ApduTrace

log = logging.getLogger(__name__)

NO_ANSWER = b""          # returned when the link is being closed: nothing reaches vpcd
SW_OK = 0x9000
#: TS 102 223 §6.6.1 DISPLAY TEXT, command number 1, qualifier 80 (wait for user to clear),
#: device identities UICC -> display, text "euicc-emu fault" in 8-bit default alphabet (DCS 04).
DEFAULT_PROACTIVE = tlv.tlv(0xD0, bytes.fromhex("810301218082028102") + tlv.tlv(0x8D, b"\x04euicc-emu fault"))
INS_GET_RESPONSE, INS_FETCH, INS_TERMINAL_RESPONSE, INS_STORE_DATA = 0xC0, 0x12, 0x14, 0xE2
INS_SELECT, INS_MANAGE_CHANNEL = 0xA4, 0x70
SELECT_OK_SW1 = (0x90, 0x61, 0x91, 0x62)   # a SELECT that selected (ISO 7816-4 §5.6 / TS 102 221 §10.2)


class Link(Protocol):
    """What the instrument needs of the transport (:class:`~vpcd_bridge.connection.VpcdConnection`)."""

    def eject(self, absent: float) -> None: ...


@dataclass
class _Es10Sequence:
    """The STORE DATA blocks of one ES10 command on one channel (SGP.22 §5.7.2)."""

    tag: int | None
    request: bytes          # the first block's data
    rule: Rule | None = None


class InstrumentedCard:
    """A :class:`CardLike` that applies faults and response mutations to a wrapped card."""

    def __init__(self, card: Any, *, t0: bool = True, faults: FaultTable | None = None,
                 fuzzer: Any = None, trace: ApduTrace | None = None, slot: int = 0,
                 link: Link | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.card = card
        self.t0 = t0
        self.faults = faults if faults is not None else FaultTable()
        self.fuzzer = fuzzer
        self.trace = trace
        self.slot = slot
        self.link = link
        self._sleep = sleep
        self._lock = threading.RLock()
        self.commands = 0          # command APDUs received since start (the fuzzer's index)
        self._reset_volatile()

    def attach(self, link: Link) -> None:
        self.link = link

    # -- CardLike --------------------------------------------------------------------------
    @property
    def atr(self) -> bytes:
        return self.card.atr

    def power_on(self) -> bytes:
        with self._lock:
            self._reset_volatile()
            return self.card.power_on()

    def reset(self) -> bytes:
        with self._lock:
            self._reset_volatile()
            return self.card.reset()

    def power_off(self) -> None:
        with self._lock:
            self._reset_volatile()
            self.card.power_off()

    def transmit(self, apdu: bytes) -> bytes:
        with self._lock:
            self.commands += 1
            return self._transmit(bytes(apdu))

    # -- control (any thread) --------------------------------------------------------------
    def eject(self, absent: float) -> bool:
        """Remove the card now and reinsert it after `absent` seconds; False without a link."""
        with self._lock:
            self.note(f"card removed for {absent * 1000:.0f} ms")
            return self._eject(absent)

    def set_fuzzer(self, fuzzer: Any) -> None:
        """Start (or with None stop) mutating responses."""
        with self._lock:
            self.fuzzer = fuzzer

    def note(self, text: str) -> None:
        log.info("slot %d: %s", self.slot, text)
        if self.trace is not None:
            self.trace.note(self.slot, text)

    # -- internals -------------------------------------------------------------------------
    def _reset_volatile(self) -> None:
        self._channels: dict[int, Channel] = {}           # the instrument's GET RESPONSE buffers
        self._scripted: dict[int, list[bytes]] = {}       # answers for the next GET RESPONSEs
        self._es10: dict[int, _Es10Sequence] = {}
        self._selected: dict[int, bytes] = {}
        self._proactive: tuple[bytes, bool] | None = None  # (command, swallow TR) to announce
        self._fetchable: tuple[bytes, bool] | None = None  # announced with 91xx, for FETCH
        self._swallow_tr = False

    def _eject(self, absent: float) -> bool:
        self._reset_volatile()
        self.card.power_off()
        if self.link is None:
            log.warning("slot %d: no link to eject the card from", self.slot)
            return False
        self.link.eject(absent)
        return True

    def _transmit(self, apdu: bytes) -> bytes:
        try:
            cmd: Command | None = Command.parse(apdu)
        except SwError:
            cmd = None
        ch = cmd.channel if cmd is not None else 0
        if cmd is not None and cmd.ins == INS_GET_RESPONSE:
            served = self._serve_get_response(cmd, ch)
            if served is not None:
                return served
        self._scripted.pop(ch, None)
        if ch in self._channels:
            self._channels[ch].clear()
        if cmd is not None and cmd.proprietary:
            special = self._cat(cmd, ch)
            if special is not None:
                return special
        seq, first, last = self._es10_block(cmd, ch)
        if seq is not None and seq.rule is not None and not first:
            if not last:                  # a middle block of an ES10 command a rule waits for
                return sw_bytes(SW_OK) if seq.rule.forging else self._normal(apdu, cmd, ch)
            rule: Rule | None = seq.rule
        else:
            rule = self._select_rule(apdu, cmd, ch, seq, first)
            if rule is not None and seq is not None and rule.match.es10 is not None and not last:
                seq.rule = rule           # acts on the last block
                self.note(f"fault {rule.id} ({rule.action}) armed by ES10 {seq.tag:X}")
                return sw_bytes(SW_OK) if rule.forging else self._normal(apdu, cmd, ch)
        if last:
            self._es10.pop(ch, None)
        response = self._apply(rule, apdu, cmd, ch, seq) if rule is not None else self._normal(apdu, cmd, ch)
        self._track_selection(cmd, ch, response)
        return response

    def _select_rule(self, apdu: bytes, cmd: Command | None, ch: int, seq: _Es10Sequence | None,
                     first: bool) -> Rule | None:
        header = (apdu[:4] + bytes(4))[:4]
        view = CommandView(header, cmd.data if cmd else b"", seq.tag if seq else None, first,
                           self._selected.get(ch))
        return self.faults.select(view)

    def _serve_get_response(self, cmd: Command, ch: int) -> bytes | None:
        script = self._scripted.get(ch)
        if script:
            answer = script.pop(0)
            if not script:
                del self._scripted[ch]
            return answer
        layer = self._channels.get(ch)
        if layer is not None and layer.pending:
            try:
                return layer.get_response(cmd, self.t0)
            except SwError as e:
                return sw_bytes(e.sw)
        return None

    def _cat(self, cmd: Command, ch: int) -> bytes | None:
        """FETCH of an injected proactive command, and the TERMINAL RESPONSE to it (TS 102 221 §11.2)."""
        if cmd.ins == INS_FETCH and self._fetchable is not None:
            command, swallow = self._fetchable
            answer = self._deliver(cmd, ch, command, SW_OK)
            if answer[0] != 0x6C:          # wrong Le: the host asks again
                self._fetchable, self._swallow_tr = None, swallow
                self.note(f"FETCH: injected proactive command {command.hex().upper()}")
            return answer
        if cmd.ins == INS_TERMINAL_RESPONSE and self._swallow_tr:
            self._swallow_tr = False
            self.note("TERMINAL RESPONSE to the injected command answered 9000, not passed to the card")
            return sw_bytes(SW_OK)
        return None

    def _es10_block(self, cmd: Command | None, ch: int) -> tuple[_Es10Sequence | None, bool, bool]:
        """(sequence, first block, last block) of a STORE DATA (GP §11.11.2.1: P1 b8 = last)."""
        if cmd is None or cmd.ins != INS_STORE_DATA or not cmd.proprietary:
            return None, False, False
        first, last = cmd.p2 == 0, bool(cmd.p1 & 0x80)
        if first:
            tag = wire.first_tag(cmd.data)
            self._es10[ch] = _Es10Sequence(tag, cmd.data)
        return self._es10.get(ch), first, last

    def _track_selection(self, cmd: Command | None, ch: int, response: bytes) -> None:
        if cmd is None or len(response) < 2:
            return
        if cmd.ins == INS_SELECT and response[-2] in SELECT_OK_SW1:
            if cmd.p1 == 0x04:
                self._selected[ch] = cmd.data
            else:
                self._selected.pop(ch, None)
        elif cmd.ins == INS_MANAGE_CHANNEL and cmd.p1 == 0x80:
            self._selected.pop(cmd.p2, None)

    # -- answers ---------------------------------------------------------------------------
    def _normal(self, apdu: bytes, cmd: Command | None, ch: int) -> bytes:
        """The card's answer, through the fuzzer and a pending proactive injection, if any."""
        if cmd is None or (self.fuzzer is None and self._proactive is None):
            return self.card.transmit(apdu)
        data, sw = self._collect(apdu, cmd, ch)
        return self._finish(cmd, ch, data, sw)

    def _finish(self, cmd: Command, ch: int, data: bytes, sw: int) -> bytes:
        if self._proactive is not None and sw == SW_OK:
            command, swallow = self._proactive
            self._proactive, self._fetchable = None, (command, swallow)
            sw = 0x9100 | (len(command) & 0xFF)
            self.note(f"SW 9000 -> {sw:04X}: proactive command pending")
        if self.fuzzer is not None:
            mutated = self.fuzzer.mutate(self.commands, cmd, data, sw)
            if mutated is not None:
                self.note(mutated.describe())
                if mutated.answers is not None:
                    return self._script(cmd, ch, mutated.answers, mutated.announce)
                data, sw = mutated.data, mutated.sw
        return self._deliver(cmd, ch, data, sw)

    def _collect(self, apdu: bytes, cmd: Command, ch: int) -> tuple[bytes, int]:
        """The card's whole response: data and final SW, GET RESPONSE followed (ISO 7816-4 §7.6.1)."""
        response = self.card.transmit(apdu)
        data = response[:-2]
        while len(response) >= 2 and response[-2] == 0x61:
            get = bytes((encode_cla(0x00, ch), INS_GET_RESPONSE, 0, 0, response[-1]))
            response = self.card.transmit(get)
            data += response[:-2]
        return data, int.from_bytes(response[-2:], "big") if len(response) >= 2 else 0x6F00

    def _deliver(self, cmd: Command | None, ch: int, data: bytes, sw: int) -> bytes:
        if cmd is None:
            return data + sw_bytes(sw)
        layer = self._channels.setdefault(ch, Channel(ch))
        return layer.deliver(cmd, data, sw, self.t0, _as_is)

    def _via_get_response(self, cmd: Command) -> bool:
        """A T=0 card announces this command's data with 61xx (TS 102 221 §7.3.1.1.4 case 4)."""
        return self.t0 and cmd.case != 2

    def _script(self, cmd: Command, ch: int, answers: list[bytes], announce: int | None = None) -> bytes:
        """Answer with `answers[0]`; the rest go to the following GET RESPONSEs, whatever their Le.
        Where a T=0 card announces its data (case 4), ``61xx`` comes first, announcing `announce`
        bytes (default: all the data in `answers`)."""
        total = sum(max(len(a) - 2, 0) for a in answers) if announce is None else announce
        if self._via_get_response(cmd) and total:
            answers = [sw_bytes(0x6100 | (min(total, wire.MAX_SHORT) & 0xFF)), *answers]
        if len(answers) > 1:
            self._scripted[ch] = list(answers[1:])
        return answers[0]

    def _apply(self, rule: Rule, apdu: bytes, cmd: Command | None, ch: int,
               seq: _Es10Sequence | None) -> bytes:
        p, action = rule.params, rule.action
        tag = f"fault {rule.id} ({action})"
        if action == "sw":
            data, sw = hex_bytes(p["data"], "data"), int.from_bytes(hex_bytes(p["sw"], "sw", 2), "big")
            self.note(f"{tag}: forced SW {sw:04X}" + (f" with data {data.hex().upper()}" if data else ""))
            return self._deliver(cmd, ch, data, sw)
        if action == "es10_error":
            from .es10_errors import build
            der = build(seq.tag, seq.request, p) if seq is not None and seq.tag is not None else b""
            self.note(f"{tag}: forged ES10 error {p['error']}: {der.hex().upper()}")
            return self._deliver(cmd, ch, der, SW_OK)
        if action == "delay":
            self.note(f"{tag}: answer delayed {p['ms']} ms")
            self._sleep(p["ms"] / 1000)
            return self._normal(apdu, cmd, ch)
        if action == "drop":
            self.card.transmit(apdu)
            self.note(f"{tag}: command processed, no answer; link closed after {p['hold_ms']} ms, "
                      f"card back after {p['absent_ms']} ms")
            self._sleep(p["hold_ms"] / 1000)
            self._eject(p["absent_ms"] / 1000)
            return NO_ANSWER
        if action in ("remove", "power_cut"):
            return self._power_loss(rule, apdu, tag)
        if cmd is None:
            self.note(f"{tag}: command does not parse, answered by the card")
            return self.card.transmit(apdu)
        if action == "proactive":
            self._proactive = (hex_bytes(p["command"], "command") or DEFAULT_PROACTIVE,
                               p["terminal_response"] == "swallow")
            self.note(f"{tag}: proactive command announced on the next 9000")
            return self._normal(apdu, cmd, ch)
        data, sw = self._collect(apdu, cmd, ch)
        if action == "wrong_length":
            answer = wire.resize(data, sw, p["delta"])
            self.note(f"{tag}: {len(data)} data bytes answered with {p['delta']:+d} ({len(answer)} bytes with SW)")
            return self._script(cmd, ch, [answer], announce=len(data))
        answers = wire.chain(data, sw, p["chunk"])
        self.note(f"{tag}: {len(data)} data bytes chained in {len(answers)} answer(s) of {p['chunk']} byte(s)")
        return self._script(cmd, ch, answers)

    def _power_loss(self, rule: Rule, apdu: bytes, tag: str) -> bytes:
        absent = rule.params["absent_ms"] / 1000
        write = rule.params.get("write", 0)
        store = getattr(self.card, "store", None)
        if write and store is None:
            self.note(f"{tag}: this card has no NVM store to cut a write of; power cut before the command")
        elif write:
            start = store.writes

            def hook(writes: int) -> None:
                if writes - start >= write:
                    raise PowerCut(f"power cut at write {write} of the command")
            store.fault_hook = hook
            try:
                response = self.card.transmit(apdu)
            except PowerCut:
                self.note(f"{tag}: power lost at NVM write {write} of the command; card back after "
                          f"{rule.params['absent_ms']} ms")
                self._eject(absent)
                return NO_ANSWER
            finally:
                store.fault_hook = None
            self.note(f"{tag}: the command made {store.writes - start} NVM write(s), fewer than {write}: "
                      "no power cut")
            return response
        what = "card removed" if rule.action == "remove" else "power lost"
        self.note(f"{tag}: {what} before the command; card back after {rule.params['absent_ms']} ms")
        self._eject(absent)
        return NO_ANSWER


def _as_is(sw: int) -> int:
    """The status word to send: the card's own (its proactive '91xx' is already in it)."""
    return sw
