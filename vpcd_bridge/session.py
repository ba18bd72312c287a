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
from typing import Protocol

from .framing import Control
from .trace import ApduTrace

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
    """Dispatches vpcd payloads for one card on one slot."""

    def __init__(self, card: CardLike, slot: int = 0, trace: ApduTrace | None = None) -> None:
        self.card = card
        self.slot = slot
        self._trace = trace

    def handle(self, payload: bytes) -> bytes | None:
        """Process one payload; return the answer payload, or ``None`` for no answer."""
        if len(payload) == 1:
            return self._control(payload[0])
        if not payload:
            log.warning("slot %d: ignoring empty vpcd frame", self.slot)
            return None
        if self._trace is not None:
            self._trace.command(self.slot, payload)
        try:
            response = self.card.transmit(payload)
        except Exception:  # the card must not raise; never let one APDU kill the link
            log.exception("slot %d: card raised on APDU %s", self.slot, payload.hex().upper())
            response = SW_TECHNICAL_PROBLEM
        if self._trace is not None:
            self._trace.response(self.slot, response)
        return response

    def link_lost(self) -> None:
        """The reader link dropped: like a card pulled from its reader, remove power."""
        self.card.power_off()
        if self._trace is not None:
            self._trace.event(self.slot, "link lost, power off", self.card.atr)

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
        if self._trace is not None:
            self._trace.event(self.slot, Control(code).name.replace("_", " ").lower(), self.card.atr)
        return None
