"""A UDP socket served on its own thread (host-side test plumbing: the test DNS server of the
terminal simulator, the lossy CAT_TP relay of the tests).

Each datagram goes to ``on_datagram(datagram, sender)``; ``on_idle()`` runs whenever ``poll``
seconds pass without one.  :meth:`UdpService.stop` ends the thread and closes the socket; a
socket closed under the thread ends it too.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable

Datagram = Callable[[bytes, tuple], None]


class UdpService:
    """Serves ``sock`` (bound by the caller) until stopped."""

    def __init__(self, sock: socket.socket, on_datagram: Datagram, poll: float = 0.05,
                 on_idle: Callable[[], None] | None = None, max_size: int = 65535) -> None:
        self.sock, self.on_datagram, self.on_idle = sock, on_datagram, on_idle
        self.poll, self.max_size = poll, max_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> UdpService:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _run(self) -> None:
        self.sock.settimeout(self.poll)
        while not self._stop.is_set():
            try:
                datagram, sender = self.sock.recvfrom(self.max_size)
            except socket.timeout:
                if self.on_idle is not None:
                    self.on_idle()
                continue
            except OSError:
                return
            self.on_datagram(datagram, sender)
