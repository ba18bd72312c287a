"""Test plumbing for CAT_TP over real UDP sockets on loopback: a lossy relay (drops, duplicates
and reorders datagrams with a seeded RNG) and a BIP stand-in that drives a card-side
:class:`~euicc.cat.bip_port.ChannelUser` from a UDP socket, as the terminal's BIP channel would."""
from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field

from tools.udp_service import UdpService


def udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Impairment:
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    seed: int = 1


@dataclass
class LossyRelay:
    """Forwards between two UDP peers; what arrives from ``a`` goes to ``b`` and back."""

    a: tuple[str, int]
    b: tuple[str, int]
    impairment: Impairment
    sock: socket.socket = field(default_factory=udp_socket)
    stats: dict[str, int] = field(default_factory=lambda: {"in": 0, "dropped": 0, "duplicated": 0, "reordered": 0})

    def __post_init__(self) -> None:
        self._rng = random.Random(self.impairment.seed)
        self._held: tuple[bytes, tuple[str, int]] | None = None
        self._service = UdpService(self.sock, self._forward, poll=0.02, on_idle=self._flush)

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def start(self) -> LossyRelay:
        self._service.start()
        return self

    def stop(self) -> None:
        self._service.stop()

    def _forward(self, datagram: bytes, sender: tuple[str, int]) -> None:
        self.stats["in"] += 1
        target = self.b if sender == self.a else self.a
        self._impair(datagram, target)

    def _impair(self, datagram: bytes, target: tuple[str, int]) -> None:
        rng, imp = self._rng, self.impairment
        if rng.random() < imp.drop:
            self.stats["dropped"] += 1
            return
        if self._held is None and rng.random() < imp.reorder:
            self.stats["reordered"] += 1
            self._held = (datagram, target)      # sent after the next datagram
            return
        self.sock.sendto(datagram, target)
        if rng.random() < imp.duplicate:
            self.stats["duplicated"] += 1
            self.sock.sendto(datagram, target)
        self._flush()

    def _flush(self) -> None:
        if self._held is not None:
            self.sock.sendto(*self._held)
            self._held = None


class BipStandIn:
    """Plays the terminal's BIP UDP channel for a card-side ChannelUser: datagrams from the socket
    go to ``received`` (RECEIVE DATA), ``outgoing`` is drained into the socket (SEND DATA); the
    ChannelUser runs on this thread only."""

    def __init__(self, user, remote: tuple[str, int], sock: socket.socket | None = None) -> None:
        self.user, self.remote = user, remote
        self.sock = sock or udp_socket()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None
        self.calls: list = []             # callables to run on this thread (e.g. user.send)
        self._lock = threading.Lock()

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def start(self) -> BipStandIn:
        self._thread.start()
        return self

    def call(self, fn) -> None:
        with self._lock:
            self.calls.append(fn)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _run(self) -> None:
        try:
            self.user.connected()
            self.sock.settimeout(0.005)
            while not self._stop.is_set() and not self.user.finished:
                with self._lock:
                    calls, self.calls = self.calls, []
                for fn in calls:
                    fn()
                while data := self.user.outgoing():
                    self.sock.sendto(data, self.remote)
                try:
                    datagram, _ = self.sock.recvfrom(65535)
                except socket.timeout:
                    continue
                self.user.received(datagram)
        except BaseException as error:      # reported to the test, which fails on it
            self.error = error


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()
