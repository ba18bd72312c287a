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

import contextlib
import sys
from enum import Enum
from pathlib import Path
from typing import Protocol, TextIO


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


def open_sinks(stack: contextlib.ExitStack, trace: str | None = None, gsmtap: tuple[str, int] | None = None,
               pcap: Path | None = None) -> list[TraceSink]:
    """The sinks selected by ``euicc-emu run --trace/--gsmtap/--pcap``; `stack` closes them.

    `trace`: ``"-"`` for stdout or a file to append to; `gsmtap`: the (host, port) to send to
    (:func:`vpcd_bridge.gsmtap.parse_target`); `pcap`: a file to (over)write.
    """
    from .gsmtap import GsmtapSink  # imported here: these modules import CardEvent from this one
    from .pcap import PcapSink
    from .trace import ApduTrace

    sinks: list[TraceSink] = []
    if trace is not None:
        stream: TextIO = sys.stdout if trace == "-" else stack.enter_context(open(trace, "a", encoding="utf-8"))
        sinks.append(ApduTrace(stream))
    if gsmtap is not None:
        sinks.append(stack.enter_context(GsmtapSink(*gsmtap)))
    if pcap is not None:
        sinks.append(stack.enter_context(PcapSink(pcap)))
    return sinks
