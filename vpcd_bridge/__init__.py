"""vpcd transport: presents a card to PC/SC through vsmartcard's virtual reader (ifd-vpcd).

Modules: :mod:`.framing` (wire frames), :mod:`.session` (control messages -> card calls),
:mod:`.connection` (TCP link, reconnect, socket tuning), :mod:`.runner` (threads, signals),
:mod:`.sink` (the trace sink port), :mod:`.sinks` (the sinks run selects), :mod:`.trace` (text APDU trace), :mod:`.gsmtap` (GSMTAP sender), :mod:`.pcap`
(pcap file).  The bridge moves bytes only; it knows nothing of the card's logic.
"""
from .connection import Backoff, Endpoint, VpcdConnection
from .framing import Control, FrameError, FrameReader, encode_frame
from .runner import BridgeRunner
from .session import CardLike, VpcdSession
from .sink import CardEvent, TraceSink
from .sinks import open_sinks
from .trace import ApduTrace

__all__ = [
    "ApduTrace", "Backoff", "BridgeRunner", "CardEvent", "CardLike", "Control", "Endpoint", "FrameError",
    "FrameReader", "TraceSink", "VpcdConnection", "VpcdSession", "encode_frame", "open_sinks",
]
