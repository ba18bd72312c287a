"""The HTTPS administration server (GP Amd B §3; SGP.02 §2.4.4 ES5 over HTTPS) on a real socket.

PSK-TLS 1.2 (python-mbedtls ``ServerContext``; the PSK of each identity is the server's key
store), HTTP/1.1 from h11.  Per EID it keeps a queue of command scripts (TS 102 226 §5.2
expanded format, e.g. ES5 commands wrapped by :func:`script`); each card POST gets the next one
(``200``, ``X-Admin-Next-URI``, ``X-Admin-Targeted-Application``) or ``204`` when none is left
(with ``linger``: none came within that many seconds, or :meth:`AdminServer.release` was called;
in GP Amd B §3.2 / §3.5 (SPEC_NOTES §3.2) a session goes on while the server answers each POST
with a script and ends with its ``204``, so one session carries the SM-SR's successive scripts
without a new trigger and TLS handshake each).
A POST carrying ``msg=<hex>`` is an SGP.02 notification (§3.15): it is recorded and answered, in
the same session, with ES5.HandleNotificationConfirmation (DGI '3A08').  A session the card
resumes (``X-Admin-Resume: true``) gets first the script an interrupted session left unanswered.
A session's end (``204`` or a last script) is followed by the server's close_notify (a ``204``
in the same socket write, so that the card gets both in one piece), and the server then reads
until the card's (RFC 5246 §7.2.1; :attr:`SessionLog.card_close_notify`).

``fault`` makes one session misbehave on purpose (tests of the card's refusals): ``"close"``
sends close_notify instead of the first script, ``"garbage"`` a record that is no valid TLS
record, ``"truncate"`` cuts the first script's chunked body and closes the connection.
"""
from __future__ import annotations

import logging
import socket
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import h11
from mbedtls import tls
from mbedtls.exceptions import TLSError

from tools.ber_tlv import encode as ber
from tools.ber_tlv import split

log = logging.getLogger(__name__)
PROTOCOL = "globalplatform-remote-admin/1.0"
SCRIPT_TYPE = "application/vnd.globalplatform.card-content-mgt;version=1.0"
CIPHERS = ("TLS-PSK-WITH-AES-128-GCM-SHA256", "TLS-PSK-WITH-AES-128-CBC-SHA256")
ISDR_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
PEER_CLOSE_NOTIFY = 0x7880        # MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY


def script(*apdus: bytes) -> bytes:
    """An indefinite-length Command Scripting template 'AE 80 {22 C-APDU}* 00 00' (TS 102 226 §5.2.1,
    the form SGP.02 HTTPS bodies use, SPEC_NOTES §3.1)."""
    return b"\xAE\x80" + b"".join(ber(0x22, a) for a in apdus) + b"\x00\x00"


def confirmation(seq: int) -> bytes:
    """ES5.HandleNotificationConfirmation (SGP.02 §4.1.1.12): STORE DATA DGI '3A08' {'4E' seq}."""
    return bytes.fromhex("80E28900073A08044E02") + seq.to_bytes(2, "big") + b"\x00"


def eid_of(agent: str) -> str:
    """The EID of ``X-Admin-From: //se-id/eid/<EID>;//aa-id/aid/<RID>/<PIX>`` (Amd B §3.4.2)."""
    for part in agent.split(";"):
        if part.startswith("//se-id/eid/"):
            return part[len("//se-id/eid/"):].upper()
    return ""


@dataclass
class Exchange:
    """One command script sent and what the card answered."""

    eid: str
    script: bytes
    target: bytes | None
    status: str | None = None
    response: bytes | None = None
    last: bool = False          # sent without X-Admin-Next-URI: the session ends with it (Amd B)
    joined: bool = False        # queued while a session of its card was waiting for a script
    session: SessionLog | None = None       # the session that sent it
    notification: bytes = b""   # the 'E1' notification this script confirms (SGP.02 §3.15)


@dataclass
class SessionLog:
    eid: str = ""
    cipher: str | None = None
    error: str | None = None
    completed: bool = False
    card_close_notify: bool = False     # the card answered the end with its close_notify (RFC 5246 §7.2.1)
    resume: bool = False
    ended: bool = False
    exchanges: list[Exchange] = field(default_factory=list)


class TlsConnection:
    """A TLS server session on a blocking socket from mbedtls' sans-I/O buffer (every encrypted
    byte is flushed; python-mbedtls' socket wrapper sends only as many bytes as the plaintext)."""

    def __init__(self, buffer, raw: socket.socket) -> None:
        self.buffer, self.raw = buffer, raw

    def flush(self) -> None:
        while data := self.buffer.peek_outgoing(1 << 16):
            self.raw.sendall(data)
            self.buffer.consume_outgoing(len(data))

    def handshake(self) -> None:
        while self.buffer._handshake_state is not tls.HandshakeStep.HANDSHAKE_OVER:
            try:
                self.buffer.do_handshake()
            except tls.WantWriteError:
                pass
            except tls.WantReadError:
                self.flush()
                data = self.raw.recv(4096)
                if not data:
                    raise OSError("the card closed the connection during the handshake")
                self.buffer.receive_from_network(data)
            self.flush()

    def cipher(self) -> str | None:
        cipher = self.buffer.cipher()
        return cipher[0] if isinstance(cipher, tuple) else cipher

    def send(self, data: bytes, flush: bool = True) -> None:
        """Encrypt ``data``; ``flush`` False: small data left for the next flush (one socket write)."""
        while data:
            data = data[self.buffer.write(data):]
            if flush:
                self.flush()

    def recv(self, size: int) -> bytes:
        while True:
            try:
                data = self.buffer.read(size)
                if data:
                    return data
            except tls.WantReadError:
                pass
            encrypted = self.raw.recv(4096)
            if not encrypted:
                return b""
            self.buffer.receive_from_network(encrypted)

    def close_notify(self) -> None:
        self.buffer.shutdown()
        self.flush()

    def await_close_notify(self) -> bool:
        """After our close_notify, read until the card's own (RFC 5246 §7.2.1: the other party
        MUST respond with one); False when the connection ends otherwise."""
        try:
            while self.recv(4096):
                pass
        except TLSError as e:
            return e.err == PEER_CLOSE_NOTIFY
        except OSError:
            pass
        return False


class AdminServer:
    """The test SM-SR's HTTPS side on ``host``:``port`` (0: any free port)."""

    def __init__(self, keys: dict[bytes, bytes], host: str = "127.0.0.1", port: int = 0,
                 uri: str = "/gsma/adminagent", fault: str | None = None, ciphers: tuple[str, ...] = CIPHERS,
                 linger: float = 0.0) -> None:
        self.keys, self.uri, self.fault, self.ciphers, self.linger = keys, uri, fault, ciphers, linger
        self.queues: dict[str, deque[Exchange]] = defaultdict(deque)
        self.notifications: list[dict[int, bytes]] = []
        self.unanswered: dict[str, Exchange] = {}      # per EID: the script an interrupted session lost
        self.sessions: list[SessionLog] = []
        self.lock = threading.Lock()
        self.ready = threading.Condition(self.lock)         # a script queued, or sessions released
        self.waiting: dict[str, int] = defaultdict(int)     # per EID: sessions waiting for a script
        self._releases = 0
        self.done = threading.Event()
        self.sock = socket.create_server((host, port))
        self.address = self.sock.getsockname()[:2]
        self._thread: threading.Thread | None = None

    # -- the SM-SR's queue ---------------------------------------------------------------------
    def queue(self, eid: str, body: bytes, target: bytes | None = None, last: bool = False) -> Exchange:
        """Queue command script ``body`` for the card ``eid``; its exchange is filled in once the
        card answered (``last``: sent without a next URI, the card answers nothing)."""
        exchange = Exchange(eid.upper(), body, target, last=last)
        with self.ready:
            self.queues[exchange.eid].append(exchange)
            exchange.joined = self.waiting[exchange.eid] > 0
            self.ready.notify_all()
        return exchange

    def release(self) -> int:
        """End the sessions waiting for a script now (``204``); how many were waiting."""
        with self.ready:
            self._releases += 1
            self.ready.notify_all()
            return sum(self.waiting.values())

    def wait_ended(self, timeout: float) -> bool:
        """Wait until every session has ended; whether they have."""
        with self.ready:
            return self.ready.wait_for(lambda: all(s.ended for s in self.sessions), timeout)

    def _next(self, eid: str) -> Exchange | None:
        """The next script queued for ``eid``, waiting up to :attr:`linger` seconds for one."""
        with self.ready:
            if not self.queues[eid] and self.linger > 0:
                releases = self._releases
                self.waiting[eid] += 1
                try:
                    self.ready.wait_for(lambda: self.queues[eid] or self._releases != releases, self.linger)
                finally:
                    self.waiting[eid] -= 1
            return self.queues[eid].popleft() if self.queues[eid] else None

    def start(self) -> "AdminServer":
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: shutdown first, which wakes the accept thread (a bare close leaves the
        port bound on Linux while that thread sits in accept(), so the next server on the same
        ``port`` in this process could not bind it)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    # -- one session -----------------------------------------------------------------------------
    def _serve(self, raw: socket.socket) -> None:
        entry = SessionLog()
        with self.lock:
            self.sessions.append(entry)
        config = tls.TLSConfiguration(pre_shared_key_store={k.decode(): v for k, v in self.keys.items()},
                                      ciphers=self.ciphers, validate_certificates=False,
                                      lowest_supported_version=tls.TLSVersion.TLSv1_2,
                                      highest_supported_version=tls.TLSVersion.TLSv1_2)
        raw.settimeout(10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # no Nagle wait on small records
        sock = TlsConnection(tls.ServerContext(config).wrap_buffers(), raw)
        try:
            sock.handshake()
            entry.cipher = sock.cipher()
            self._http(sock, raw, entry)
        except (TLSError, OSError, h11.ProtocolError, ValueError) as e:
            entry.error = f"{type(e).__name__}: {e}"
            log.info("administration session failed: %s", entry.error)
            try:
                sock.flush()                 # the fatal alert mbedtls queued (RFC 5246 §7.2.2)
            except OSError:
                pass
        finally:
            raw.close()
            if entry.exchanges and entry.exchanges[-1].response is None:
                with self.lock:
                    self.unanswered[entry.eid] = entry.exchanges[-1]
            with self.ready:
                entry.ended = True
                self.ready.notify_all()
            self.done.set()

    def _http(self, sock: TlsConnection, raw: socket.socket, entry: SessionLog) -> None:
        conn = h11.Connection(h11.SERVER)
        pending: deque[Exchange] = deque()
        last: Exchange | None = None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(4096)
                if not data:
                    entry.error = entry.error or "card closed the connection"
                    return
                conn.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                return
            if not isinstance(event, h11.Request):
                continue
            request, headers = event, {k.decode().lower(): v.decode() for k, v in event.headers}
            body = b""
            while not isinstance(part := conn.next_event(), h11.EndOfMessage):
                if part is h11.NEED_DATA:
                    conn.receive_data(sock.recv(4096))
                elif isinstance(part, h11.Data):
                    body += part.data
            if headers.get("x-admin-protocol") != PROTOCOL:
                raise h11.RemoteProtocolError("no X-Admin-Protocol")
            entry.eid = eid_of(headers.get("x-admin-from", ""))
            if headers.get("x-admin-resume") == "true":         # Amd B: the server decides how to go on
                entry.resume = True
                with self.lock:
                    lost = self.unanswered.pop(entry.eid, None)
                if lost is not None:
                    pending.append(lost)                          # this one: send the lost script again
            if last is not None:
                last.status, last.response = headers.get("x-admin-script-status"), body
                last = None
            message = parse_qs(urlsplit(request.target.decode()).query).get("msg")
            if message:
                note = self._notification(bytes.fromhex(message[0]))
                seq = int.from_bytes(note.get(0x4E, b"\0\0"), "big")
                pending.append(Exchange(entry.eid, script(confirmation(seq)), ISDR_AID,
                                        notification=bytes.fromhex(message[0])))
            if not pending and (queued := self._next(entry.eid)) is not None:
                pending.append(queued)
            if not pending:
                entry.completed = True           # before the card can read the 204 and go on
                sock.send(conn.send(h11.Response(status_code=204, headers=[("X-Admin-Protocol", PROTOCOL)]))
                          + (conn.send(h11.EndOfMessage()) or b""), flush=False)
                sock.close_notify()                 # with the 204 in one write: one piece for the card
                entry.card_close_notify = sock.await_close_notify()
                return
            last = pending.popleft()
            last.session = entry
            entry.exchanges.append(last)
            if self._misbehave(sock, raw, conn, last.target, last.script):
                return
            entry.completed = last.last
            sock.send(self._script_response(conn, last.target, last.script, not last.last))
            if last.last:
                sock.close_notify()
                entry.card_close_notify = sock.await_close_notify()
                return
            conn.start_next_cycle()

    def _script_response(self, conn: h11.Connection, target: bytes | None, body: bytes, next_uri: bool = True) -> bytes:
        headers = [("X-Admin-Protocol", PROTOCOL), ("Content-Type", SCRIPT_TYPE), ("Transfer-Encoding", "chunked")]
        if next_uri:
            headers.append(("X-Admin-Next-URI", self.uri))
        if target is not None:
            headers.append(("X-Admin-Targeted-Application", f"//aid/{target[:5].hex().upper()}/{target[5:].hex().upper()}"))
        return (conn.send(h11.Response(status_code=200, headers=headers)) + conn.send(h11.Data(data=body))
                + conn.send(h11.EndOfMessage()))

    def _misbehave(self, sock: TlsConnection, raw: socket.socket, conn: h11.Connection, target: bytes | None, body: bytes) -> bool:
        fault, self.fault = self.fault, None
        if fault == "close":
            sock.close_notify()
        elif fault == "garbage":
            raw.sendall(bytes.fromhex("1703030010") + bytes(16))
        elif fault == "truncate":
            whole = self._script_response(conn, target, body)
            sock.send(whole[:len(whole) - len(body) // 2 - 7])
            sock.close_notify()
        else:
            return False
        return True

    def _notification(self, message: bytes) -> dict[int, bytes]:
        """The 'E1' notification (SGP.02 §3.15; SPEC_NOTES §2.8) as {tag: value}."""
        note = {}
        for tag, value in split(message):
            if tag == 0xE1:
                note = dict(split(value))
        with self.lock:
            self.notifications.append(note)
        return note
