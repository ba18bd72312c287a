"""Trace sinks: where a :class:`~vpcd_bridge.session.VpcdSession` reports what crosses the link.

A sink receives every command APDU (before the card sees it), every command/response pair (after
the card answered) and every power event with the ATR in force.  The text trace
(:class:`~vpcd_bridge.trace.ApduTrace`), the GSMTAP sender (:class:`~vpcd_bridge.gsmtap.GsmtapSink`)
and the pcap writer (:class:`~vpcd_bridge.pcap.PcapSink`) are interchangeable sinks; a session
holds a list of them, so several can be active at once, and an empty list costs one check per APDU.

Sinks must not raise into the session (a trace must never break the card link) and must be safe
to call from several slots' threads at once.
"""
from __future__ import annotations

from enum import Enum
from typing import Protocol


class CardEvent(Enum):
    """Power events on the reader link (vsmartcard ``api.txt`` control messages, and a lost link)."""

    POWER_ON = "power on"
    POWER_OFF = "power off"
    RESET = "reset"
    LINK_LOST = "link lost, power off"

    @property
    def answers_to_reset(self) -> bool:
        """True when the card sends its ATR after this event (ISO/IEC 7816-3 §6.2: cold and warm reset)."""
        return self in (CardEvent.POWER_ON, CardEvent.RESET)


class TraceSink(Protocol):
    """What a session calls; see the module docstring."""

    def command(self, slot: int, apdu: bytes) -> None: ...

    def response(self, slot: int, apdu: bytes, rapdu: bytes) -> None: ...

    def event(self, slot: int, event: CardEvent, atr: bytes) -> None: ...
