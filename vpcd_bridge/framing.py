"""vpcd wire framing: vsmartcard ``virtualsmartcard/doc/api.txt`` and ``src/vpcd/vpcd.c``.

Every message in either direction is a 2-byte big-endian length (``htons`` in ``sendToVICC``)
followed by that many bytes.  A 1-byte payload from vpcd is a control message
(:class:`Control`); any other payload is a command APDU.  The only control message that is
answered is GET ATR; the answer to an APDU is the response APDU.

This module knows bytes only: :func:`encode_frame` builds a frame, :class:`FrameReader`
splits a received byte stream into payloads.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Callable

LENGTH_SIZE = 2
MAX_PAYLOAD = 0xFFFF


class Control(IntEnum):
    """One-byte control messages sent by vpcd (``VPCD_CTRL_*`` in vsmartcard ``vpcd.h``)."""

    POWER_OFF = 0x00
    POWER_ON = 0x01
    RESET = 0x02
    GET_ATR = 0x04


class FrameError(Exception):
    """The byte stream broke the framing (truncated frame, oversize payload).

    The connection loop treats it like a dropped socket: close and reconnect.
    """


def encode_frame(payload: bytes) -> bytes:
    """Length-prefix `payload` (vsmartcard ``sendToVICC``: 2-byte network-order length)."""
    if len(payload) > MAX_PAYLOAD:
        raise FrameError(f"payload of {len(payload)} bytes does not fit a vpcd frame")
    return len(payload).to_bytes(LENGTH_SIZE, "big") + payload


class FrameReader:
    """Reassembles frames from a stream of received chunks.

    `receive` is called for more bytes (e.g. a socket's ``recv``); it returns ``b""`` at end of
    stream.  Several frames arriving in one chunk, and one frame split over many chunks, are
    both handled; only whole payloads are returned.
    """

    def __init__(self, receive: Callable[[], bytes]) -> None:
        self._receive = receive
        self._buffer = bytearray()

    def read_frame(self) -> bytes | None:
        """Next payload, or ``None`` on a clean end of stream (between frames).

        Raises :class:`FrameError` when the stream ends inside a frame.
        """
        while True:
            payload = self._take()
            if payload is not None:
                return payload
            chunk = self._receive()
            if not chunk:
                if self._buffer:
                    raise FrameError(f"stream ended inside a frame ({len(self._buffer)} bytes pending)")
                return None
            self._buffer += chunk

    def _take(self) -> bytes | None:
        if len(self._buffer) < LENGTH_SIZE:
            return None
        size = int.from_bytes(self._buffer[:LENGTH_SIZE], "big")
        end = LENGTH_SIZE + size
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[LENGTH_SIZE:end])
        del self._buffer[:end]
        return payload
