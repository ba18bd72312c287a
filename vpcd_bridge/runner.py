"""Run several vpcd connections (one card per slot) in one process until SIGINT/SIGTERM.

Each :class:`~vpcd_bridge.connection.VpcdConnection` gets its own thread; the main thread waits
and, on SIGINT or SIGTERM, stops every connection, joins the threads (an APDU being processed
finishes first) and only then returns so the caller can close (flush) the cards.
"""
from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Iterable

from .connection import VpcdConnection

log = logging.getLogger(__name__)


class BridgeRunner:
    """Owns the threads of a set of connections."""

    def __init__(self, connections: Iterable[VpcdConnection]) -> None:
        self.connections = list(connections)
        self._threads: list[threading.Thread] = []
        self.stopping = threading.Event()

    def start(self) -> None:
        for conn in self.connections:
            thread = threading.Thread(target=conn.run, name=f"vpcd-slot{conn.endpoint.slot}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop all connections (idempotent, any thread)."""
        self.stopping.set()
        for conn in self.connections:
            conn.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for every thread; True when all have ended."""
        for thread in self._threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    def serve_until_signalled(self) -> int:
        """Start, wait for SIGINT/SIGTERM (or all links ending), stop and join; returns the signal.

        Must run in the main thread (Python delivers signals there only).  Previous handlers
        are restored before returning.
        """
        received: list[int] = []

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            # Only flag it: the handler may interrupt this thread anywhere, even inside a lock
            # held by stop(), and a second signal (Ctrl-C twice) must not deadlock on it.
            received.append(signum)
            self.stopping.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            while not self.stopping.wait(0.5):
                if not any(t.is_alive() for t in self._threads):
                    break
            if received:
                log.info("received %s, shutting down", signal.Signals(received[0]).name)
            self.stop()
            self.join()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return received[0] if received else 0
