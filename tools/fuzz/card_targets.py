"""Fuzz targets that drive the card through its one door, ``Card.transmit`` (DESIGN.md).

Each target is a callable object taking one fuzz input; it raises :class:`InvariantViolation`
(or lets an unexpected exception escape) when something is wrong.  State between inputs is
explicit: the volatile state is reset every ``reset_every`` inputs and a fresh card replaces
the old one every ``fresh_every`` inputs, so that a crash found late still reproduces from a
short run of inputs.
"""
from __future__ import annotations

from euicc.card import Card, CardConfig
from euicc.composition import open_card
from euicc.ota import remote_apdu
from euicc.ota.errors import OtaFormatError
from euicc.ports import SINGLE, PortLayout
from tools.fuzz.invariants import InvariantViolation, LogWatch, MemoryWatch, StateWatch, check_response
from vpcd_bridge.framing import FrameError, FrameReader
from vpcd_bridge.session import VpcdSession

RESET = b""   # an empty chunk in a sequence input means "warm reset"


def split_chunks(data: bytes) -> list[bytes]:
    """Split a sequence input: each chunk is a 2-byte big-endian length then that many bytes."""
    chunks, i = [], 0
    while i + 2 <= len(data):
        n = int.from_bytes(data[i:i + 2], "big")
        chunks.append(bytes(data[i + 2:i + 2 + n]))
        i += 2 + n
    return chunks


def join_chunks(chunks: list[bytes]) -> bytes:
    return b"".join(len(c).to_bytes(2, "big") + c for c in chunks)


class CardDriver:
    """One in-memory card with the per-response invariants of tools.fuzz.invariants."""

    def __init__(self, fresh_every: int, t0: bool = True, ports: PortLayout = SINGLE) -> None:
        self.fresh_every = fresh_every
        self.config = CardConfig(t0=t0, ports=ports)
        self.logs = LogWatch()
        self.memory = MemoryWatch()
        self.inputs = 0
        self._fresh()

    def _fresh(self) -> None:
        self.card = open_card(None, self.config)
        self.state = StateWatch(self.card.store)

    def next_input(self) -> None:
        self.inputs += 1
        self.memory.tick()
        if self.inputs % self.fresh_every == 0:
            self.card.close()
            self._fresh()

    def transmit(self, apdu: bytes) -> bytes:
        response = self.card.transmit(apdu)
        self.logs.check()
        sw = check_response(apdu, response)
        self.state.after(apdu, sw)
        session = self.card.session
        if session is not None and len(session.channels) > self.config.channels:
            raise InvariantViolation(f"{apdu.hex()}: {len(session.channels)} channels open")
        return response


class TransmitTarget:
    """One APDU per input; volatile reset every `reset_every` inputs."""

    def __init__(self, reset_every: int = 64, fresh_every: int = 1024, t0: bool = True) -> None:
        self.driver = CardDriver(fresh_every, t0)
        self.reset_every = reset_every

    def __call__(self, data: bytes) -> None:
        self.driver.next_input()
        if self.driver.inputs % self.reset_every == 0:
            self.driver.card.reset()
        self.driver.transmit(bytes(data))


class SequenceTarget:
    """A sequence of APDUs per input (see `split_chunks`), after a warm reset; empty chunk = reset.
    `ports`: the card's logical SE interfaces (euicc.ports; e.g. an SGP.22 MEP option)."""

    def __init__(self, fresh_every: int = 256, t0: bool = True, ports: PortLayout = SINGLE) -> None:
        self.driver = CardDriver(fresh_every, t0, ports)

    def __call__(self, data: bytes) -> None:
        self.driver.next_input()
        self.driver.card.reset()
        for apdu in split_chunks(bytes(data))[:64]:
            if apdu == RESET:
                self.driver.card.reset()
            else:
                self.driver.transmit(apdu)


class RemoteApduTarget:
    """A remote APDU script (TS 102 226 §5.1 compact / §5.2 expanded) parsed and run on the card."""

    def __init__(self, fresh_every: int = 256) -> None:
        self.driver = CardDriver(fresh_every)

    def __call__(self, data: bytes) -> None:
        self.driver.next_input()
        self.driver.card.reset()
        data = bytes(data)
        try:
            if remote_apdu.is_expanded(data):
                script = remote_apdu.parse_expanded(data)
                commands, indefinite, bad = script.commands, script.indefinite, script.bad_format
            else:
                commands, indefinite, bad = remote_apdu.parse_compact(data), False, None
        except OtaFormatError as e:
            if e.sw >> 8 not in (0x67, 0x6A):
                raise InvariantViolation(f"OtaFormatError with SW {e.sw:04X}") from None
            return
        if len(commands) > remote_apdu.MAX_COMMANDS:
            raise InvariantViolation(f"{len(commands)} commands exceed the parser bound")
        responses = []
        for apdu in commands:
            response = self.driver.transmit(apdu)
            responses.append(response)
            if remote_apdu.stops_script(int.from_bytes(response[-2:], "big")):
                break
        if remote_apdu.is_expanded(data):
            remote_apdu.expanded_response(responses, indefinite, bad)
        elif responses:
            remote_apdu.compact_response(len(responses), responses[-1])


class VpcdTarget:
    """vpcd byte stream (vsmartcard api.txt): first byte = receive chunk size, the rest the stream."""

    def __init__(self, fresh_every: int = 256) -> None:
        self.driver = CardDriver(fresh_every)

    def __call__(self, data: bytes) -> None:
        self.driver.next_input()
        data = bytes(data)
        if not data:
            return
        size, stream = data[0] or 1, data[1:]
        chunks = [stream[i:i + size] for i in range(0, len(stream), size)]
        reader = FrameReader(lambda: chunks.pop(0) if chunks else b"")
        session = VpcdSession(self.driver.card)
        for _ in range(64):
            try:
                payload = reader.read_frame()
            except FrameError:
                return
            if payload is None:
                return
            answer = session.handle(payload)
            self.driver.logs.check()
            if len(payload) > 1:
                if answer is None:
                    raise InvariantViolation(f"APDU {payload.hex()} got no answer")
                self.driver.state.after(payload, check_response(payload, answer))
            elif answer is not None and payload[0] != 0x04:
                raise InvariantViolation(f"control {payload.hex()} answered {answer.hex()}")
