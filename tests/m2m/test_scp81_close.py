"""The card's end of an administration session's TLS (GP Amd B §3.2: a ``204``, or a last script
without ``X-Admin-Next-URI``, ends the session; RFC 5246 §7.2.1: each party sends close_notify
before closing its write side; §7.2.2: nothing after a fatal alert), driven in memory against an
mbedtls server context (the test SM-SR's TLS library) with hand-written HTTP responses, so that
the server's last response and its close_notify reach the card in one piece — the case where the
card used to read the server's close_notify before answering the 204 and then could not send its
own."""
from __future__ import annotations

from mbedtls import tls
from mbedtls.exceptions import TLSError

from euicc.ota.scp81.admin_http import ScriptStatus
from euicc.ota.scp81.session import AdminSession, PskCredentials
from euicc.ota.scp81.settings import Scp81Settings
from euicc.ota.scp81.trigger import AdminSessionRequest, parse_trigger
from tests.m2m.tls_wire import ALERT, record_types
from tools.ber_tlv import split
from tools.smsr_https.push import trigger
from tools.smsr_https.server import CIPHERS, PEER_CLOSE_NOTIFY

PSK, IDENTITY = bytes(range(16)), b"Client_identity"
PROTOCOL = b"X-Admin-Protocol: globalplatform-remote-admin/1.0\r\n"
NO_CONTENT = b"HTTP/1.1 204 No Content\r\n" + PROTOCOL + b"\r\n"
LAST_SCRIPT = (b"HTTP/1.1 200 OK\r\n" + PROTOCOL + b"Content-Type: application/vnd.globalplatform.card-content-mgt;"
               b"version=1.0\r\nContent-Length: 8\r\n\r\n" + bytes.fromhex("AE80220180000000"))


class Runner:
    """The session's card side: the card access (no card context here) and the script run."""

    def __init__(self) -> None:
        self.scripts: list[bytes] = []

    def access(self, work):
        return work(None)

    def run(self, ctx, target: bytes | None, script: bytes) -> tuple[ScriptStatus, bytes]:
        self.scripts.append(script)
        return ScriptStatus.OK, bytes.fromhex("AF80230290000000")


def request() -> AdminSessionRequest:
    (value,) = [v for tag, v in split(trigger("smsr.test", 443, "/gsma/adminagent")) if tag == 0x81]
    return parse_trigger(value, Scp81Settings())


def server() -> tls.TLSWrappedBuffer:
    config = tls.TLSConfiguration(pre_shared_key_store={IDENTITY.decode(): PSK}, ciphers=CIPHERS,
                                  validate_certificates=False, lowest_supported_version=tls.TLSVersion.TLSv1_2,
                                  highest_supported_version=tls.TLSVersion.TLSv1_2)
    return tls.ServerContext(config).wrap_buffers()


def drain(buffer: tls.TLSWrappedBuffer) -> bytes:
    data = buffer.peek_outgoing(1 << 20)
    buffer.consume_outgoing(len(data))
    return data


def handshake(srv: tls.TLSWrappedBuffer) -> bytes:
    """The server's handshake steps until it waits for the client; what it sends."""
    out = bytearray()
    while srv._handshake_state is not tls.HandshakeStep.HANDSHAKE_OVER:
        try:
            srv.do_handshake()
        except tls.WantReadError:
            break
        except tls.WantWriteError:
            pass
        out += drain(srv)
    return bytes(out + drain(srv))


def established() -> tuple[AdminSession, tls.TLSWrappedBuffer, Runner]:
    """A session past its handshake whose first POST the server has read."""
    runner, srv = Runner(), server()
    session = AdminSession(request(), PskCredentials(IDENTITY, PSK), "//se-id/eid/00", runner.access, runner.run,
                           Scp81Settings())
    session.connected()
    for _ in range(3):                        # the handshake flights, then the first POST
        srv.receive_from_network(session.outgoing())
        session.received(handshake(srv))
    assert session.posted and srv._handshake_state is tls.HandshakeStep.HANDSHAKE_OVER
    assert srv.read(4096).startswith(b"POST /gsma/adminagent HTTP/1.1")
    return session, srv, runner


def server_reads(srv: tls.TLSWrappedBuffer, data: bytes) -> int | None:
    """The mbedtls error the server gets reading ``data`` (PEER_CLOSE_NOTIFY: the card's close_notify)."""
    srv.receive_from_network(data)
    try:
        srv.read(4096)
    except TLSError as e:
        return e.err
    return None


def test_204_with_the_servers_close_notify_in_one_piece_gets_the_cards_close_notify():
    session, srv, _ = established()
    srv.write(NO_CONTENT)
    srv.shutdown()
    session.received(drain(srv))
    assert session.outcome is not None and session.outcome.ok
    out = session.outgoing()
    assert record_types(out) == [ALERT]
    assert server_reads(srv, out) == PEER_CLOSE_NOTIFY


def test_last_script_with_the_servers_close_notify_in_one_piece_gets_the_cards_close_notify():
    session, srv, runner = established()
    srv.write(LAST_SCRIPT)
    srv.shutdown()
    session.received(drain(srv))
    assert session.outcome is not None and session.outcome.ok and runner.scripts == [bytes.fromhex("AE80220180000000")]
    out = session.outgoing()
    assert record_types(out) == [ALERT] and server_reads(srv, out) == PEER_CLOSE_NOTIFY


def test_204_alone_gets_the_cards_close_notify():
    session, srv, _ = established()
    srv.write(NO_CONTENT)
    session.received(drain(srv))
    out = session.outgoing()
    assert session.outcome.ok and record_types(out) == [ALERT] and server_reads(srv, out) == PEER_CLOSE_NOTIFY


def test_no_close_notify_after_a_fatal_alert():
    """The server refuses a corrupted record with a fatal alert (RFC 5246 §7.2.2): the card ends
    the session and sends nothing more."""
    session, srv, _ = established()
    srv.receive_from_network(bytes.fromhex("1703030020") + bytes(32))
    try:
        srv.read(4096)
    except TLSError:
        pass
    alert = drain(srv)
    assert record_types(alert) == [ALERT]
    session.received(alert)
    assert session.outcome is not None and not session.outcome.ok and session.outgoing() == b""
