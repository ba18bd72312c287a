"""Fuzz target for the card's BIP layer (ETSI TS 102 223 §6.4.27-§6.4.31, §7.5.10, §7.5.11): the
fuzzer plays the terminal.  Each input is a sequence of chunks (tools.fuzz.card_targets): a chunk
starting with 'D6' is sent as an EVENT DOWNLOAD envelope (Data Available, Channel Status, or any
other event), any other chunk is what follows the command details and device identities in the
TERMINAL RESPONSE to the proactive command the card has pending (the general result and the
command's objects: channel status, buffer size, channel data, channel data length...).

Before the input: a reset, TERMINAL PROFILE of a BIP modem (tools.terminal.cat.MODEM_PROFILE),
SET UP EVENT LIST acknowledged, and one TCP client channel asked for by an echo engine.  Checked
beyond tools.fuzz.invariants (valid status words, no internal error logged): the engine is told
``connected`` at most once before ``closed``, never gets data before ``connected``, and the card
never has more channels than it asked for.
"""
from __future__ import annotations

from euicc.cat.bip import BipState
from euicc.cat.bip_port import ChannelRequest
from euicc.context import Context
from tools.fuzz.card_targets import CardDriver, join_chunks, split_chunks
from tools.fuzz.invariants import InvariantViolation
from tools.terminal import cat

MAX_CHUNKS = 64
TERMINAL = bytes([cat.DEV_TERMINAL, cat.DEV_UICC])


class Engine:
    """An echo engine that checks the order of the port's calls (euicc.cat.bip_port)."""

    def __init__(self) -> None:
        self.state, self.out, self.total = "new", b"ping", 0

    def connected(self) -> None:
        if self.state != "new":
            raise InvariantViolation(f"connected() while {self.state}")
        self.state = "connected"

    def received(self, data: bytes) -> None:
        if self.state != "connected":
            raise InvariantViolation(f"received() while {self.state}")
        self.out += data[:64]
        self.total += len(data)

    def outgoing(self) -> bytes:
        out, self.out = (self.out, b"") if self.state == "connected" else (b"", self.out)
        return out

    def closed(self, reason: str) -> None:
        self.state = "closed"

    @property
    def finished(self) -> bool:
        return self.total > 512


class BipTarget:
    """Terminal responses and events from the fuzzer to a card with one BIP channel."""

    def __init__(self, fresh_every: int = 512) -> None:
        self.driver = CardDriver(fresh_every)

    def __call__(self, data: bytes) -> None:
        self.driver.next_input()
        self.start()
        for chunk in split_chunks(data)[:MAX_CHUNKS]:
            if chunk[:1] == b"\xD6":
                self.driver.transmit(bytes([0x80, 0xC2, 0, 0, len(chunk[:255])]) + chunk[:255])
            else:
                self.answer(chunk)
            state = self.driver.card.session.volatile.get(BipState)
            if state is not None and len(state.channels) > 1:
                raise InvariantViolation(f"{len(state.channels)} channels for one request")

    def start(self) -> Engine:
        card = self.driver.card
        card.reset()
        sw = self.status(self.driver.transmit(cat.terminal_profile_apdu(cat.MODEM_PROFILE)))
        while sw >> 8 == 0x91:                                 # SET UP EVENT LIST (and timers): OK
            sw = self.answer(bytes([cat.T_RESULT | 0x80, 1, 0]))
        engine = Engine()
        session = card.session
        if not card.services.bip.open(Context(session, session.channels[0]),
                                      ChannelRequest("tcp", bytes([127, 0, 0, 1]), 4000), engine):
            raise InvariantViolation("a BIP terminal was refused a channel")
        return engine

    def answer(self, objects: bytes) -> int:
        """FETCH the pending command (if any) and answer it with `objects` after its details."""
        fetched = self.driver.transmit(cat.fetch_apdu(0))
        if fetched[-2] == 0x6C:
            fetched = self.driver.transmit(cat.fetch_apdu(fetched[-1]))
        if fetched[-2:] != b"\x90\x00":
            return self.status(fetched)
        try:
            command = cat.parse_proactive_command(fetched[:-2])
        except cat.CatFormatError as exc:
            raise InvariantViolation(f"the card issued an unparsable command: {exc}") from None
        body = cat.ctlv(cat.T_COMMAND_DETAILS, command.details) + cat.ctlv(cat.T_DEVICE_IDENTITIES, TERMINAL) + objects
        body = body[:255]
        return self.status(self.driver.transmit(bytes([0x80, cat.TERMINAL_RESPONSE, 0, 0, len(body)]) + body))

    @staticmethod
    def status(response: bytes) -> int:
        return int.from_bytes(response[-2:], "big")


def bip_seeds() -> list[bytes]:
    """A well-behaved terminal: OPEN CHANNEL granted (or with a smaller buffer, or refused), SEND
    DATA accepted, Data Available then RECEIVE DATA, Channel Status 'link dropped', CLOSE CHANNEL."""
    ok = bytes.fromhex("830100")
    opened = ok + bytes.fromhex("B8028100 B50103 B9020578".replace(" ", ""))
    modified = bytes.fromhex("830107 B8028100 B50103 B9020010".replace(" ", ""))
    sent = ok + bytes.fromhex("B701FF")
    available = bytes.fromhex("D60E 990109 82028281 B8028100 B70104".replace(" ", ""))
    received = ok + bytes.fromhex("B604 70696E67 B70100".replace(" ", ""))
    dropped = bytes.fromhex("D60B 99010A 82028281 B8020105".replace(" ", ""))
    refused = bytes.fromhex("83023A07")
    return [join_chunks(s) for s in (
        [opened, sent, available, received, sent, ok],
        [modified, sent, dropped, ok],
        [refused],
        [opened, sent, available, received, available, received, sent, dropped, ok],
    )]
