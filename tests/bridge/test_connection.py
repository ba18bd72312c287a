"""The TCP link: exchange with a vpcd stand-in, socket tuning, reconnect, stop, reversed mode."""
import logging
import socket
import sys
import threading
import time

import pytest

from tests.bridge.helpers import ATR, FakeVpcd, RecordingCard
from vpcd_bridge import Backoff, Endpoint, VpcdConnection, VpcdSession
from vpcd_bridge.connection import TCP_QUICKACK

SELECT_MF = bytes.fromhex("00A40004023F00")


def test_quickack_is_linux_option_12():
    assert TCP_QUICKACK == 12


def test_exchange_with_vpcd(vpcd, running):
    card = RecordingCard({SELECT_MF: bytes.fromhex("6122")})
    running(card, vpcd.port)
    vpcd.accept()
    vpcd.send(b"\x01")                      # power on: no answer
    assert vpcd.exchange(b"\x04") == ATR    # get ATR
    assert vpcd.exchange(SELECT_MF) == bytes.fromhex("6122")
    vpcd.send(b"\x02")                      # reset: no answer
    assert vpcd.exchange(b"\x04") == ATR
    assert [c for c, _ in card.calls] == ["power_on", "transmit", "reset"]


def test_socket_options_on_real_link(vpcd, running):
    conn = running(RecordingCard(), vpcd.port)
    vpcd.accept()
    assert vpcd.exchange(b"\x04") == ATR
    assert conn.connected.is_set()
    sock = conn._sock
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_slot_selects_port(vpcd, running):
    running(RecordingCard(), vpcd.port - 2, slot=2)
    vpcd.accept()
    assert vpcd.exchange(b"\x04") == ATR


class ScriptedSocket:
    """Mock socket: returns scripted chunks from recv, records every call in order."""

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.log = []

    def recv(self, size):
        self.log.append("recv")
        return self.chunks.pop(0) if self.chunks else b""

    def setsockopt(self, level, option, value):
        self.log.append(("setsockopt", level, option, value))

    def sendall(self, data):
        self.log.append(("send", data))

    def settimeout(self, value):
        self.timeout = value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_QUICKACK is Linux-only")
def test_quickack_rearmed_after_every_receive():
    # three frames in four chunks: the second frame is split over two receives
    sock = ScriptedSocket([bytes.fromhex("000104"), bytes.fromhex("0005"), bytes.fromhex("00B0000000"),
                           bytes.fromhex("000101")])
    VpcdConnection(VpcdSession(RecordingCard()), Endpoint()).serve(sock)
    quickack = ("setsockopt", socket.IPPROTO_TCP, 12, 1)
    nodelay = ("setsockopt", socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    assert sock.log[:2] == [nodelay, quickack]
    receives = [i for i, entry in enumerate(sock.log) if entry == "recv"]
    assert len(receives) == 5  # four chunks + end of stream
    for i in receives:
        assert sock.log[i + 1] == quickack, f"no QUICKACK re-arm after receive #{i}"
    sends = [entry[1] for entry in sock.log if entry[0] == "send"]
    assert sends == [b"\x00\x17" + ATR, bytes.fromhex("00029000")]


def test_truncated_stream_ends_serve_quietly(caplog):
    sock = ScriptedSocket([bytes.fromhex("000500B0")])
    with caplog.at_level(logging.INFO):
        VpcdConnection(VpcdSession(RecordingCard()), Endpoint()).serve(sock)
    assert "stream ended inside a frame" in caplog.text


def test_reconnects_after_vpcd_drops(vpcd, running):
    card = RecordingCard()
    conn = running(card, vpcd.port)
    vpcd.accept()
    assert vpcd.exchange(b"\x04") == ATR
    vpcd.drop()                             # pcscd went away
    vpcd.accept()                           # ... and is back: the card reconnects by itself
    assert vpcd.exchange(SELECT_MF) == b"\x90\x00"
    assert ("power_off", b"") in card.calls  # the link loss removed power, like a card pull
    assert conn.connected.is_set()


def test_reconnects_after_listener_restart(running):
    first = FakeVpcd()
    port = first.port
    conn = running(RecordingCard(), port)
    first.accept()
    assert first.exchange(b"\x04") == ATR
    first.close()                           # pcscd restart: listener gone for a while
    time.sleep(0.2)
    second = socket.create_server(("127.0.0.1", port))
    second.settimeout(5)
    try:
        client, _ = second.accept()
        client.sendall(b"\x00\x01\x04")
        client.settimeout(5)
        assert client.recv(2 + len(ATR), socket.MSG_WAITALL) == b"\x00\x17" + ATR
        assert conn.connected.is_set()
        client.close()
    finally:
        second.close()


def test_refused_connect_backs_off_and_logs_once(caplog):
    attempts = []

    def refuse(address, timeout):
        attempts.append(time.monotonic())
        raise ConnectionRefusedError(111, "Connection refused")

    conn = VpcdConnection(VpcdSession(RecordingCard()), Endpoint(port=1), backoff=Backoff(0.01, 0.04), connect=refuse)
    thread = threading.Thread(target=conn.run)
    with caplog.at_level(logging.INFO, logger="vpcd_bridge"):
        thread.start()
        time.sleep(0.3)
        conn.stop()
        thread.join(2)
    assert not thread.is_alive()
    assert len(attempts) >= 4
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert gaps[0] >= 0.009 and max(gaps) < 0.2
    assert sum("not reachable" in r.message for r in caplog.records if r.levelno >= logging.INFO) == 1


def test_backoff_doubles_to_maximum_and_resets():
    backoff = Backoff(0.1, 0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert backoff.failures == 5
    backoff.reset()
    assert (backoff.next(), backoff.failures) == (0.1, 1)


def test_stop_unblocks_a_waiting_receive(vpcd):
    conn = VpcdConnection(VpcdSession(RecordingCard()), Endpoint("127.0.0.1", vpcd.port))
    thread = threading.Thread(target=conn.run)
    thread.start()
    vpcd.accept()
    assert conn.connected.wait(2)
    started = time.monotonic()
    conn.stop()
    thread.join(2)
    assert not thread.is_alive() and time.monotonic() - started < 1


def test_listen_mode_vpcd_connects_to_card(running):
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    running(RecordingCard(), port, listen=True)
    deadline = time.monotonic() + 3
    while True:
        try:
            client = socket.create_connection(("127.0.0.1", port), timeout=2)
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "card never listened"
            time.sleep(0.02)
    with client:
        client.sendall(bytes.fromhex("0007") + SELECT_MF)
        assert client.recv(4, socket.MSG_WAITALL) == bytes.fromhex("00029000")


def test_silent_vpcd_after_connect_means_reconnect(monkeypatch):
    """vpcd that only polls the ATR after we connect (its slot still held by a card killed with
    -9) never powers us on: after the greeting timeout the connection is dropped to reconnect."""
    from vpcd_bridge import connection

    class SilentSocket(ScriptedSocket):
        def recv(self, size):
            self.log.append("recv")
            if self.chunks:
                return self.chunks.pop(0)
            raise socket.timeout("timed out")

    monkeypatch.setattr(connection, "GREETING_TIMEOUT", 0.01)
    sock = SilentSocket([bytes.fromhex("000104")])          # GET ATR only
    conn = VpcdConnection(VpcdSession(RecordingCard()), Endpoint())
    conn.serve(sock)                                          # returns instead of blocking
    assert ("send", b"\x00" + bytes((len(RecordingCard().atr),)) + RecordingCard().atr) in sock.log
    assert sock.timeout is not None                           # still waiting for a greeting

    greeted = SilentSocket([bytes.fromhex("000101"), bytes.fromhex("000104")])   # POWER ON first
    conn.serve(greeted)
    assert greeted.timeout is None                            # greeted: no timeout any more


def test_trace_sinks_get_the_pair_after_the_answer_is_sent(vpcd):
    """The sinks' response() runs after vpcd has the answer (tracing is off the round trip)."""
    release, reported = threading.Event(), []

    class SlowSink:
        def command(self, slot, apdu):
            pass

        def response(self, slot, apdu, rapdu):
            release.wait(5)
            reported.append((apdu, rapdu))

        def event(self, slot, event, atr):
            pass

    conn = VpcdConnection(VpcdSession(RecordingCard(), sinks=[SlowSink()]), Endpoint("127.0.0.1", vpcd.port))
    thread = threading.Thread(target=conn.run)
    thread.start()
    try:
        vpcd.accept()
        vpcd.send(b"\x01")
        started = time.monotonic()
        assert vpcd.exchange(SELECT_MF) == b"\x90\x00"
        assert time.monotonic() - started < 2 and reported == []  # answered while the sink still waits
        release.set()
        deadline = time.monotonic() + 5
        while not reported and time.monotonic() < deadline:
            time.sleep(0.01)
        assert reported == [(SELECT_MF, b"\x90\x00")]
    finally:
        release.set()
        conn.stop()
        thread.join(5)
