"""GSMTAP (version 2, type SIM) messages and the UDP sender of ``euicc-emu run --gsmtap``.

The format is defined in Osmocom libosmocore ``include/osmocom/core/gsmtap.h`` (``struct
gsmtap_hdr``) and decoded by Wireshark's ``packet-gsmtap.c``, which hands type SIM to the
``gsm_sim`` dissector.  The header is 16 bytes, multi-byte fields in network byte order:

======  ====  ============  ========================================================
offset  size  field         value sent here
======  ====  ============  ========================================================
0       1     version       ``GSMTAP_VERSION`` = 2
1       1     hdr_len       header length in 32-bit words = 4
2       1     type          ``GSMTAP_TYPE_SIM`` = 0x04 ("ISO 7816 smart card interface")
3       1     timeslot      0
4       2     arfcn         0 (no radio; no uplink flag, a SIM message carries both directions)
6       1     signal_dbm    0
7       1     snr_db        0
8       4     frame_number  0
12      1     sub_type      ``GSMTAP_SIM_APDU`` = 0x00 or ``GSMTAP_SIM_ATR`` = 0x01
13      1     antenna_nr    0
14      1     sub_slot      the vpcd slot of the card (our choice: gsmtap.h gives SIM no use
                            for it, and SIMtrace2 leaves it 0, which is slot 0 here)
15      1     res           0 (reserved)
======  ====  ============  ========================================================

Payload of ``GSMTAP_SIM_APDU`` ("APDU data (complete APDU)"): the command APDU exactly as the
card received it, followed by the response (data and SW1 SW2), in one message, as Osmocom
SIMtrace2 sends it.  Wireshark's ``gsm_sim`` reads CLA INS P1 P2 P3, then P3 bytes of command
data for the instructions that carry some, and takes the last two bytes as the status word.
``GSMTAP_SIM_ATR`` carries the ATR, sent after a power-on and after a reset (the two events on
which a card answers to reset).  gsmtap.h has no sub-type for power-off or a lost link, so
those appear in the text trace only.  Wireshark 4.0 (Debian 12, checked with its tshark) decodes
every type SIM message as an APDU, whatever the sub-type, so an ATR message shows there as a
meaningless APDU; an ATR display was proposed upstream in 2024 (Wireshark merge request 16896,
not checked here).

UDP port 4729 is ``GSMTAP_UDP_PORT`` (IANA-assigned).  The sender uses an unconnected,
non-blocking socket: errors are not reported back to it, and a full socket buffer drops the
message instead of stalling the card.  When the destination is a local address that nothing
listens on (Wireshark capturing on ``lo`` does not bind the port), the sink binds it itself, as
libosmocore's ``gsmtap_source_add_sink()`` does (``gsmtap_util.c``: a local receiving socket,
``SO_REUSEADDR``): the kernel then drops the messages there instead of answering each with an
ICMP port unreachable, which halves the cost of a message.  The sink socket is never read and
has the smallest buffer.  A receiver started later with ``SO_REUSEADDR`` gets the messages (Linux
gives a unicast datagram to the socket bound last); one already listening is left alone (the
probe bind fails, so no sink is made).
"""
from __future__ import annotations

import logging
import socket
import struct
import threading

from .sink import CardEvent

log = logging.getLogger(__name__)

GSMTAP_UDP_PORT = 4729
GSMTAP_VERSION = 0x02
GSMTAP_HDR_LEN_WORDS = 4
GSMTAP_TYPE_SIM = 0x04
GSMTAP_SIM_APDU = 0x00
GSMTAP_SIM_ATR = 0x01
# version, hdr_len, type, timeslot, arfcn, signal_dbm, snr_db, frame_number,
# sub_type, antenna_nr, sub_slot, res
HEADER = struct.Struct(">BBBBHbbIBBBB")
# The largest UDP payload over IPv4 (RFC 791 total length 65535 - 20 IP - 8 UDP header bytes).
MAX_MESSAGE = 65535 - 20 - 8


def gsmtap_message(sub_type: int, payload: bytes, slot: int = 0) -> bytes:
    """A GSMTAP type SIM message: the 16-byte header (see the module table) and `payload`."""
    return HEADER.pack(GSMTAP_VERSION, GSMTAP_HDR_LEN_WORDS, GSMTAP_TYPE_SIM, 0, 0, 0, 0, 0,
                       sub_type, 0, slot & 0xFF, 0) + payload


def apdu_message(slot: int, apdu: bytes, rapdu: bytes) -> bytes:
    """One command/response pair as a ``GSMTAP_SIM_APDU`` message."""
    return gsmtap_message(GSMTAP_SIM_APDU, apdu + rapdu, slot)


def event_message(slot: int, event: CardEvent, atr: bytes) -> bytes | None:
    """The ``GSMTAP_SIM_ATR`` message of a power-on or reset; ``None`` for events with no sub-type."""
    return gsmtap_message(GSMTAP_SIM_ATR, atr, slot) if event.answers_to_reset else None


def parse_target(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[IPV6]`` or ``[IPV6]:PORT`` -> (host, port); port 4729 by default.

    Raises ``ValueError`` on an empty host, a bad port, or a host that does not resolve.
    """
    host, port_text = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"bad address {text!r}: expected [IPV6] or [IPV6]:PORT")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    port = GSMTAP_UDP_PORT
    if port_text or text.endswith(":"):
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise ValueError(f"bad port in {text!r}: expected 1..65535")
        port = int(port_text)
    if not host:
        raise ValueError(f"no host in {text!r}")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise ValueError(f"cannot resolve {host!r}: {exc.strerror}") from None
    return host, port


class GsmtapMessageSink:
    """A trace sink that turns pairs and events into GSMTAP messages for :meth:`emit`."""

    def command(self, slot: int, apdu: bytes) -> None:
        """Nothing: the pair is sent once the response is known."""

    def response(self, slot: int, apdu: bytes, rapdu: bytes) -> None:
        self.emit(apdu_message(slot, apdu, rapdu))

    def event(self, slot: int, event: CardEvent, atr: bytes) -> None:
        message = event_message(slot, event, atr)
        if message is not None:
            self.emit(message)

    def emit(self, message: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sink holds (idempotent)."""

    def __enter__(self) -> GsmtapMessageSink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class GsmtapSink(GsmtapMessageSink):
    """Sends each message as one UDP datagram to (host, port); never blocks, never raises."""

    def __init__(self, host: str, port: int = GSMTAP_UDP_PORT) -> None:
        family, _, _, _, self.address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self.local_sink = _local_sink(family, self.address)
        self.dropped = 0
        self._lock = threading.Lock()  # guards `dropped` only; sendto itself is atomic per datagram

    def emit(self, message: bytes) -> None:
        if len(message) > MAX_MESSAGE:
            self._drop(f"message of {len(message)} bytes exceeds one UDP datagram")
            return
        try:
            self._sock.sendto(message, self.address)
        except OSError as exc:  # buffer full (EAGAIN), no route, socket closed: drop, never stall the card
            self._drop(str(exc))

    def _drop(self, why: str) -> None:
        with self._lock:
            self.dropped += 1
            first = self.dropped == 1
        if first:
            log.warning("GSMTAP to %s: message dropped (%s); further drops are counted silently", self.address, why)

    def close(self) -> None:
        if self.dropped:
            log.info("GSMTAP to %s: %d messages dropped", self.address, self.dropped)
        self._sock.close()
        if self.local_sink is not None:
            self.local_sink.close()


def _local_sink(family: int, address: tuple) -> socket.socket | None:
    """A never-read socket bound to `address` when it is local and free (see the module docstring)."""
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(address)  # fails when someone listens there, or the address is not ours
        except OSError:
            return None
    sink = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # rounded up to the kernel's minimum
        sink.bind(address)
    except OSError:
        sink.close()
        return None
    log.info("GSMTAP: nothing listens on %s; bound a local sink there (receivers need SO_REUSEADDR)", address)
    return sink
