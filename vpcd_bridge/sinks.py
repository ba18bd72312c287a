"""The trace sinks ``euicc-emu run`` selects (--trace, --gsmtap, --pcap); see :mod:`vpcd_bridge.sink`."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TextIO

from .gsmtap import GsmtapSink
from .pcap import PcapSink
from .sink import TraceSink
from .trace import ApduTrace


def open_sinks(stack: contextlib.ExitStack, trace: str | None = None, gsmtap: tuple[str, int] | None = None,
               pcap: Path | None = None) -> list[TraceSink]:
    """The sinks selected by ``euicc-emu run --trace/--gsmtap/--pcap``; `stack` closes them.

    `trace`: ``"-"`` for stdout or a file to append to; `gsmtap`: the (host, port) to send to
    (:func:`vpcd_bridge.gsmtap.parse_target`); `pcap`: a file to (over)write.
    """
    sinks: list[TraceSink] = []
    if trace is not None:
        stream: TextIO = sys.stdout if trace == "-" else stack.enter_context(open(trace, "a", encoding="utf-8"))
        sinks.append(ApduTrace(stream))
    if gsmtap is not None:
        sinks.append(stack.enter_context(GsmtapSink(*gsmtap)))
    if pcap is not None:
        sinks.append(stack.enter_context(PcapSink(pcap)))
    return sinks
