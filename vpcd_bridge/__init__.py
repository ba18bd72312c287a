"""vpcd transport: presents a card to PC/SC through vsmartcard's virtual reader (ifd-vpcd).

Modules: :mod:`.framing` (wire frames), :mod:`.session` (control messages -> card calls),
:mod:`.connection` (TCP link, reconnect, socket tuning), :mod:`.runner` (threads, signals),
:mod:`.trace` (APDU trace).  The bridge moves bytes only; it knows nothing of the card's logic.
"""
from .connection import Backoff, Endpoint, VpcdConnection
from .framing import Control, FrameError, FrameReader, encode_frame
from .runner import BridgeRunner
from .session import CardLike, VpcdSession
from .trace import ApduTrace

__all__ = [
    "ApduTrace", "Backoff", "BridgeRunner", "CardLike", "Control", "Endpoint", "FrameError",
    "FrameReader", "VpcdConnection", "VpcdSession", "encode_frame",
]
