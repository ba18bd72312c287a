"""SIGINT/SIGTERM stop every connection; the runner returns only after the threads ended."""
import os
import signal
import threading

import pytest

from tests.bridge.helpers import ATR, FakeVpcd, RecordingCard
from vpcd_bridge import BridgeRunner, Endpoint, VpcdConnection, VpcdSession


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_all_slots(signum):
    servers = [FakeVpcd(), FakeVpcd()]
    try:
        conns = [VpcdConnection(VpcdSession(RecordingCard(), slot=i), Endpoint("127.0.0.1", s.port))
                 for i, s in enumerate(servers)]
        runner = BridgeRunner(conns)

        def vpcd_side():
            for server in servers:
                server.accept()
                assert server.exchange(b"\x04") == ATR
            os.kill(os.getpid(), signum)

        helper = threading.Thread(target=vpcd_side)
        helper.start()
        before = signal.getsignal(signum)
        assert runner.serve_until_signalled() == signum
        helper.join(2)
        assert all(not t.is_alive() for t in runner._threads)
        assert signal.getsignal(signum) is before  # handlers restored
    finally:
        for server in servers:
            server.close()


def test_runner_returns_when_every_link_ended():
    conn = VpcdConnection(VpcdSession(RecordingCard()), Endpoint(port=1))
    conn.stop()  # stopped before start: run() returns at once
    assert BridgeRunner([conn]).serve_until_signalled() == 0


def test_signal_twice_in_a_row_still_stops():
    """Ctrl-C twice / SIGTERM repeated: the handler only flags, so a second signal arriving while
    the first is being handled cannot deadlock on a connection's lock."""
    server = FakeVpcd()
    try:
        runner = BridgeRunner([VpcdConnection(VpcdSession(RecordingCard()), Endpoint("127.0.0.1", server.port))])

        def vpcd_side():
            server.accept()
            assert server.exchange(b"\x04") == ATR
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)

        helper = threading.Thread(target=vpcd_side)
        helper.start()
        assert runner.serve_until_signalled() == signal.SIGTERM
        helper.join(2)
        assert runner.join(0) and runner.stopping.is_set()
    finally:
        server.close()
