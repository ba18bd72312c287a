"""Test helpers for the BIP layer: a trivial echo engine (euicc.cat.bip_port.ChannelUser), echo
servers on loopback, and a test trigger that opens a channel from an SMS-PP download envelope
(the way the SCP81 / CAT_TP engines are started by an SM-SR's push)."""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from euicc import tlv
from euicc.cat.bip_port import ChannelRequest

TRIGGER_TAG = 0xD1       # SMS-PP download (TS 102 223 §7.1) carries the test trigger


@dataclass
class EchoUser:
    """Sends `greeting` when connected; finished once `expect` bytes came back."""

    greeting: bytes
    expect: int = -1
    events: list[str] = field(default_factory=list)
    received_data: bytes = b""
    reasons: list[str] = field(default_factory=list)
    _out: bytes = b""

    def connected(self) -> None:
        self.events.append("connected")
        self._out += self.greeting

    def received(self, data: bytes) -> None:
        self.events.append(f"received {len(data)}")
        self.received_data += data

    def outgoing(self) -> bytes:
        out, self._out = self._out, b""
        return out

    def closed(self, reason: str) -> None:
        self.events.append("closed")
        self.reasons.append(reason)

    @property
    def finished(self) -> bool:
        return len(self.received_data) >= (len(self.greeting) if self.expect < 0 else self.expect)


class Trigger:
    """An envelope handler that opens `request` for `user` and records what open() said."""

    def __init__(self, card, request: ChannelRequest, user) -> None:
        self.request, self.user, self.opened = request, user, []
        card.services.envelope_handlers[TRIGGER_TAG] = self

    def __call__(self, ctx, tag: int, value: bytes) -> bytes:
        self.opened.append(ctx.services.bip.open(ctx, self.request, self.user))
        return b""


def trigger_apdu() -> bytes:
    data = tlv.tlv(TRIGGER_TAG, bytes.fromhex("820283810B00"))
    return bytes([0x80, 0xC2, 0, 0, len(data)]) + data


class EchoServer:
    """A TCP or UDP echo server on 127.0.0.1 (a thread); `close_after_accept` drops each client."""

    def __init__(self, kind: str = "tcp", close_after_accept: bool = False) -> None:
        self.kind, self.close_after_accept = kind, close_after_accept
        stype = socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM
        self.sock = socket.socket(socket.AF_INET, stype)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        if kind == "tcp":
            self.sock.listen(4)
        self.datagrams: list[bytes] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self.kind == "udp":
                while True:
                    data, peer = self.sock.recvfrom(65536)
                    self.datagrams.append(data)
                    self.sock.sendto(data, peer)
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    if self.close_after_accept:
                        continue
                    while data := conn.recv(65536):
                        conn.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        self.sock.close()


def tcp_client(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
