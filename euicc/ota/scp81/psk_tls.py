"""The PSK-TLS 1.2 client of an administration session (GP Amd B §3.3; SGP.02 §2.4.4), driven
sans-I/O: python-mbedtls' :class:`mbedtls.tls.TLSWrappedBuffer` does the record layer and the
handshake; this class only feeds it the bytes the channel received and drains what it wants sent.

The received bytes are handed to mbedtls one whole record at a time (only the RFC 5246 §6.2.1
header is looked at, for its length): python-mbedtls' ``read`` loses the plaintext of a record
that arrived in pieces, and an error after data in one ``read`` (the close_notify following the
last response) discards that data.  :meth:`PskTlsClient.records` reads the next record only when
its caller asks for it, so that the caller acts on a response (and closes, :meth:`close`) before
the server's close_notify that follows it is read: python-mbedtls resets its context on reading
the peer's close_notify, after which no close_notify of ours (RFC 5246 §7.2.1) can be sent.

Any TLS failure (bad record MAC from a wrong PSK, an unknown identity refused by the server, an
alert, a malformed record) raises :class:`TlsFailure`; the session then ends without running
anything more.
"""
from __future__ import annotations

from collections.abc import Iterator

from mbedtls import tls
from mbedtls.exceptions import TLSError

_READ_CHUNK = 0x4800
RECORD_HEADER = 5                    # RFC 5246 §6.2.1: type, version (2), length (2)
MAX_RECORD = 0x4000 + 2048           # RFC 5246 §6.2.3: TLSCiphertext.length limit
_PEER_CLOSE_NOTIFY = 0x7880          # MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY


class TlsFailure(Exception):
    """The TLS session failed (the reason is mbedtls' message)."""


class PskTlsClient:
    """One TLS 1.2 client session with a pre-shared key (RFC 4279 / RFC 5487 / RFC 5288 suites)."""

    def __init__(self, identity: bytes, key: bytes, cipher_suites: tuple[str, ...]) -> None:
        try:
            name = identity.decode("ascii")
        except UnicodeDecodeError:
            raise TlsFailure("the PSK identity is not printable") from None
        config = tls.TLSConfiguration(
            pre_shared_key=(name, key), ciphers=cipher_suites, validate_certificates=False,
            lowest_supported_version=tls.TLSVersion.TLSv1_2, highest_supported_version=tls.TLSVersion.TLSv1_2)
        self._buffer = tls.ClientContext(config).wrap_buffers(None)
        self._established = False
        self._closed = False
        self.peer_closed = False         # close_notify received (RFC 5246 §7.2.1)
        self._records = bytearray()

    @property
    def established(self) -> bool:
        return self._established

    @property
    def cipher_suite(self) -> str | None:
        cipher = self._buffer.cipher() if self._established else None
        return cipher[0] if isinstance(cipher, tuple) else cipher

    def start(self) -> None:
        """Send the ClientHello."""
        self._step()

    def feed(self, data: bytes) -> None:
        """Bytes from the network, read by :meth:`records`."""
        if not self._closed:
            self._records += data

    def records(self) -> Iterator[bytes]:
        """Read the whole records fed so far, one at a time, each when the caller asks for the
        next: yields each record's application data (b"" for a handshake record or an alert).
        Stops after the peer's close_notify or once :meth:`close` was called (what follows is not
        read).  Raises :class:`TlsFailure`."""
        while len(self._records) >= RECORD_HEADER and not self.peer_closed and not self._closed:
            length = int.from_bytes(self._records[3:5], "big")
            if length > MAX_RECORD:
                raise TlsFailure("record_overflow: record longer than 2^14 + 2048")
            if len(self._records) < RECORD_HEADER + length:
                return
            record = bytes(self._records[:RECORD_HEADER + length])
            del self._records[:RECORD_HEADER + length]
            self._buffer.receive_from_network(record)
            if not self._established:
                self._step()
                yield b""
            else:
                yield self._read()

    def write(self, data: bytes) -> None:
        """Queue application data (the handshake must be complete)."""
        try:
            written = 0
            while written < len(data):
                written += self._buffer.write(data[written:])
        except TLSError as e:
            raise TlsFailure(str(e)) from None

    def outgoing(self) -> bytes:
        """The TLS records waiting to be sent (drained); a handshake blocked on its output buffer
        goes on as the buffer empties."""
        out = bytearray()
        while True:
            data = self._buffer.peek_outgoing(1 << 20)
            if not data:
                return bytes(out)
            self._buffer.consume_outgoing(len(data))
            out += data
            if not self._established and not self._closed:
                self._step()

    def close(self) -> None:
        """Send close_notify (RFC 5246 §7.2.1) once."""
        if not self._closed:
            self._closed = True
            try:
                self._buffer.shutdown()
            except TLSError:
                pass

    def _step(self) -> None:
        """Run handshake steps until it needs the network (mbedtls steps one message at a time;
        its own socket wrapper loops on the same state)."""
        while self._buffer._handshake_state is not tls.HandshakeStep.HANDSHAKE_OVER:
            try:
                self._buffer.do_handshake()
            except (tls.WantReadError, tls.WantWriteError):
                return
            except TLSError as e:
                raise TlsFailure(str(e)) from None
        self._established = True

    def _read(self) -> bytes:
        out = bytearray()
        while True:
            try:
                chunk = self._buffer.read(_READ_CHUNK)
            except (tls.WantReadError, tls.WantWriteError):
                break
            except tls.RaggedEOF:
                raise TlsFailure("connection closed without close_notify") from None
            except TLSError as e:
                if e.err == _PEER_CLOSE_NOTIFY:
                    self.peer_closed = True
                    break
                raise TlsFailure(str(e)) from None
            if not chunk:
                break
            out += chunk
        return bytes(out)
