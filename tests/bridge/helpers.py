"""Test helpers: a recording fake card and a minimal vpcd written from vsmartcard's api.txt."""
from __future__ import annotations

import socket
import struct

ATR = bytes.fromhex("3B9F96803F87828031E073FE211F574543753130136502")


class RecordingCard:
    """Fake card: records calls, answers APDUs from a table (default 9000)."""

    def __init__(self, answers: dict[bytes, bytes] | None = None, atr: bytes = ATR) -> None:
        self.atr = atr
        self.answers = answers or {}
        self.calls: list[tuple[str, bytes]] = []

    def power_on(self) -> bytes:
        self.calls.append(("power_on", b""))
        return self.atr

    def power_off(self) -> None:
        self.calls.append(("power_off", b""))

    def reset(self) -> bytes:
        self.calls.append(("reset", b""))
        return self.atr

    def transmit(self, apdu: bytes) -> bytes:
        self.calls.append(("transmit", apdu))
        return self.answers.get(apdu, b"\x90\x00")


class FakeVpcd:
    """The reader side of the protocol (ifd-vpcd's role), independent of vpcd_bridge.framing:
    ``struct`` '>H' length prefix, MSG_WAITALL receives, as in vsmartcard ``vpcd.c``."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]
        self.client: socket.socket | None = None

    def accept(self) -> None:
        self.client, _ = self.server.accept()
        self.client.settimeout(5)

    def send(self, payload: bytes) -> None:
        assert self.client is not None
        self.client.sendall(struct.pack(">H", len(payload)) + payload)

    def recv(self) -> bytes:
        assert self.client is not None
        (size,) = struct.unpack(">H", self.client.recv(2, socket.MSG_WAITALL))
        return self.client.recv(size, socket.MSG_WAITALL) if size else b""

    def exchange(self, payload: bytes) -> bytes:
        self.send(payload)
        return self.recv()

    def drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def close(self) -> None:
        self.drop()
        self.server.close()
