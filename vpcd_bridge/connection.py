"""The TCP link to one vpcd slot, kept up across pcscd restarts (vsmartcard ``src/vpcd/vpcd.c``).

ifd-vpcd listens on ``port + slot`` (``IFDHCreateChannel``: ``Channel+slot``) and the card
connects as a client; in vpcd's reversed mode (a hostname in ``reader.conf``) vpcd connects to
the card instead, selected here with ``Endpoint(listen=True)``.  One :class:`VpcdConnection`
serves one slot until :meth:`VpcdConnection.stop`; a refused connect or a dropped link is
retried with exponential back-off, logged once at INFO and then quietly at DEBUG.

Latency: ``TCP_NODELAY`` is set on the socket and ``TCP_QUICKACK`` (Linux option 12) is re-armed
after every receive, because the kernel clears it again after each delayed-ACK decision; without
it every APDU through pcscd costs a ~40-48 ms delayed-ACK stall.
"""
from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .framing import Control, FrameError, FrameReader, encode_frame
from .session import VpcdSession

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963  # 0x8C7B, CHANNELID in vsmartcard's reader.conf for slot 0
TCP_QUICKACK = getattr(socket, "TCP_QUICKACK", 12)  # linux/tcp.h
RECV_SIZE = 65536 + 2
CONNECT_TIMEOUT = 2.0
# pcscd powers a newly connected card on within a few hundred milliseconds.  When the slot still
# belongs to a card that died without closing its link (kill -9), vpcd only polls the new one
# for its ATR and never powers it on: no power-on or APDU this long after connecting means
# "reconnect" (the second connection is served normally).
GREETING_TIMEOUT = 3.0


@dataclass(frozen=True)
class Endpoint:
    """Where slot `slot` of vpcd is: ``host:port+slot``; `listen` for vpcd's reversed mode."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    slot: int = 0
    listen: bool = False

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port + self.slot


class Backoff:
    """Exponential retry delay: `initial`, doubling up to `maximum`; :meth:`reset` on success."""

    def __init__(self, initial: float = 0.05, maximum: float = 2.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._next = initial
        self.failures = 0

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self._next = self.initial
        self.failures = 0


def tune_socket(sock: socket.socket) -> bool:
    """Set TCP_NODELAY and arm TCP_QUICKACK; return whether QUICKACK is available here."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not sys.platform.startswith("linux"):
        return False
    try:
        sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
    except OSError:
        return False
    return True


class VpcdConnection:
    """Serves one :class:`VpcdSession` on one vpcd slot, reconnecting until stopped."""

    def __init__(
        self,
        session: VpcdSession,
        endpoint: Endpoint,
        backoff: Backoff | None = None,
        connect: Callable[[tuple[str, int], float], socket.socket] = socket.create_connection,
    ) -> None:
        self.session = session
        self.endpoint = endpoint
        self.backoff = backoff or Backoff()
        self._connect = connect
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._listener: socket.socket | None = None
        self._absent = 0.0
        self.connected = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------
    def run(self) -> None:
        """Connect, serve, reconnect; return once :meth:`stop` was called."""
        where = "%s:%d" % self.endpoint.address
        while not self._stop.is_set():
            try:
                sock = self._open()
            except OSError as exc:
                self._wait_retry(f"slot {self.endpoint.slot}: vpcd at {where} not reachable ({exc})")
                continue
            if sock is None:
                break
            self.backoff.reset()
            log.info("slot %d: connected to vpcd at %s", self.endpoint.slot, where)
            try:
                self.serve(sock)
            finally:
                self._drop(sock)
            if not self._stop.is_set():
                with self._lock:
                    absent, self._absent = self._absent, 0.0
                log.info("slot %d: vpcd link lost; reconnecting", self.endpoint.slot)
                self._stop.wait(max(self.backoff.next(), absent))
        self._close_listener()

    def stop(self) -> None:
        """Ask :meth:`run` to return; unblocks a pending receive (callable from any thread)."""
        self._stop.set()
        with self._lock:
            for sock in (self._sock, self._listener):
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

    def eject(self, absent: float) -> None:
        """Close the link now and reconnect `absent` seconds later (any thread): to PC/SC the card
        is removed and reinserted.  ifd-vpcd reports no card while the link is down
        (``vicc_present`` fails) and an APDU it is waiting for fails (``vicc_transmit``).
        Without a link (between reconnects) there is nothing to remove."""
        with self._lock:
            if self._sock is not None:
                self._absent = absent
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    # -- one connected socket --------------------------------------------------------------
    def serve(self, sock: socket.socket) -> None:
        """Answer frames on `sock` until the peer closes it, it breaks, or we are stopped."""
        quickack = tune_socket(sock)

        def receive() -> bytes:
            data = sock.recv(RECV_SIZE)
            if quickack:
                sock.setsockopt(socket.IPPROTO_TCP, TCP_QUICKACK, 1)
            return data

        reader = FrameReader(receive)
        answer = self.session.answer
        traced = bool(self.session.sinks)
        deadline = None if self.endpoint.listen else time.monotonic() + GREETING_TIMEOUT
        try:
            while True:
                if deadline is not None:
                    sock.settimeout(max(deadline - time.monotonic(), 0.001))
                payload = reader.read_frame()
                if payload is None:
                    return
                if deadline is not None and payload != bytes((Control.GET_ATR,)):
                    deadline = None
                    sock.settimeout(None)
                reply = answer(payload)
                if reply is not None:
                    sock.sendall(encode_frame(reply))
                if traced:  # after the answer is sent: tracing stays off the round trip
                    self.session.report()
        except (OSError, FrameError) as exc:
            if not self._stop.is_set():
                log.info("slot %d: vpcd link error: %s", self.endpoint.slot, exc)

    # -- helpers ---------------------------------------------------------------------------
    def _open(self) -> socket.socket | None:
        if self.endpoint.listen:
            sock = self._accept()
        else:
            sock = self._connect(self.endpoint.address, CONNECT_TIMEOUT)
            sock.settimeout(None)
        with self._lock:
            if self._stop.is_set():
                sock.close()
                return None
            self._sock = sock
        self.connected.set()
        return sock

    def _accept(self) -> socket.socket:
        with self._lock:
            if self._listener is None:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind(self.endpoint.address)
                listener.listen(1)
                self._listener = listener
            listener = self._listener
        log.info("slot %d: waiting for vpcd to connect to %s:%d", self.endpoint.slot, *self.endpoint.address)
        sock, _ = listener.accept()
        return sock

    def _drop(self, sock: socket.socket) -> None:
        self.connected.clear()
        with self._lock:
            self._sock = None
        sock.close()
        self.session.link_lost()

    def _wait_retry(self, message: str) -> None:
        level = logging.INFO if self.backoff.failures == 0 else logging.DEBUG
        log.log(level, "%s; retrying", message)
        self._stop.wait(self.backoff.next())

    def _close_listener(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
