"""One vpcd slot's message dispatch: vsmartcard ``doc/api.txt`` (the vpcd/vpicc command table).

A :class:`VpcdSession` turns each received payload into card calls and returns the payload to
send back (or ``None`` when vpcd expects no answer):

====================  =======================  ==================
payload               card call                answer
====================  =======================  ==================
``00`` power off      ``card.power_off()``     none
``01`` power on       ``card.power_on()``      none
``02`` reset          ``card.reset()``         none
``04`` get ATR        ``card.atr``             the ATR
other 1-byte value    (ignored, logged)        none
empty payload         (ignored, logged)        none
anything else         ``card.transmit(apdu)``  the response APDU
====================  =======================  ==================
"""
from __future__ import annotations

import logging
from typing import Iterable, Protocol

from .framing import Control
from .sink import CardEvent, TraceSink

log = logging.getLogger(__name__)

SW_TECHNICAL_PROBLEM = b"\x6f\x00"  # ISO 7816-4 §5.6: "no precise diagnosis"


class CardLike(Protocol):
    """What the bridge needs from a card (``euicc.card.Card`` satisfies it)."""

    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> bytes: ...

    def power_off(self) -> None: ...

    def reset(self) -> bytes: ...

    def transmit(self, apdu: bytes) -> bytes: ...


class VpcdSession:
    """Dispatches vpcd payloads for one card on one slot, reporting to its trace sinks
    (:mod:`vpcd_bridge.sink`; none by default, which costs one check per APDU).

    A sink sees each command before the card does, and the command/response pair in
    :meth:`report`, which the connection calls once the answer is on its way to vpcd: a trace
    then costs the round trip (almost) nothing, its work overlapping pcscd's and the client's.
    """

    _EVENTS = {Control.POWER_ON: CardEvent.POWER_ON, Control.POWER_OFF: CardEvent.POWER_OFF,
               Control.RESET: CardEvent.RESET}

    def __init__(self, card: CardLike, slot: int = 0, sinks: Iterable[TraceSink] = ()) -> None:
        self.card = card
        self.slot = slot
        self.sinks = tuple(sinks)
        self._pending: tuple[bytes, bytes] | None = None

    def handle(self, payload: bytes) -> bytes | None:
        """:meth:`answer` then :meth:`report`: one call for callers without a link to send on."""
        reply = self.answer(payload)
        self.report()
        return reply

    def answer(self, payload: bytes) -> bytes | None:
        """Process one payload; return the answer payload, or ``None`` for no answer."""
        if len(payload) == 1:
            return self._control(payload[0])
        if not payload:
            log.warning("slot %d: ignoring empty vpcd frame", self.slot)
            return None
        sinks = self.sinks
        if sinks:
            for sink in sinks:
                sink.command(self.slot, payload)
        try:
            response = self.card.transmit(payload)
        except Exception:  # the card must not raise; never let one APDU kill the link
            log.exception("slot %d: card raised on APDU %s", self.slot, payload.hex().upper())
            response = SW_TECHNICAL_PROBLEM
        if sinks:
            self._pending = (payload, response)
        return response

    def report(self) -> None:
        """Give the sinks the command/response pair of the last :meth:`answer`, if not yet given."""
        pending, self._pending = self._pending, None
        if pending is not None:
            for sink in self.sinks:
                sink.response(self.slot, *pending)

    def link_lost(self) -> None:
        """The reader link dropped: like a card pulled from its reader, remove power."""
        self.report()  # a pair answered but never delivered is still traced
        self.card.power_off()
        self._event(CardEvent.LINK_LOST)

    def _control(self, code: int) -> bytes | None:
        if code == Control.GET_ATR:
            return self.card.atr
        if code == Control.POWER_ON:
            self.card.power_on()
        elif code == Control.POWER_OFF:
            self.card.power_off()
        elif code == Control.RESET:
            self.card.reset()
        else:
            log.warning("slot %d: ignoring unknown vpcd control byte %02X", self.slot, code)
            return None
        self._event(self._EVENTS[Control(code)])
        return None

    def _event(self, event: CardEvent) -> None:
        for sink in self.sinks:
            sink.event(self.slot, event, self.card.atr)
