"""Fixtures of the bridge tests."""
from __future__ import annotations

import threading

import pytest

from tests.bridge.helpers import FakeVpcd
from vpcd_bridge import Backoff, Endpoint, VpcdConnection, VpcdSession


@pytest.fixture
def vpcd():
    server = FakeVpcd()
    yield server
    server.close()


@pytest.fixture
def running():
    """Start a VpcdConnection in a thread; stops and joins it at the end of the test."""
    started: list[tuple[VpcdConnection, threading.Thread]] = []

    def start(card, port: int, **endpoint_args) -> VpcdConnection:
        conn = VpcdConnection(VpcdSession(card), Endpoint("127.0.0.1", port, **endpoint_args),
                              backoff=Backoff(initial=0.01, maximum=0.05))
        thread = threading.Thread(target=conn.run, daemon=True)
        thread.start()
        started.append((conn, thread))
        return conn

    yield start
    for conn, thread in started:
        conn.stop()
        thread.join(5)
        assert not thread.is_alive(), "connection thread did not stop"
