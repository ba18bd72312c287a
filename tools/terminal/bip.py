"""The modem's side of the Bearer Independent Protocol (ETSI TS 102 223 §6.4.27-§6.4.31, §7.5.10,
§7.5.11): each channel the card opens is a real socket (TCP client, UDP client, or a TCP server
socket for "UICC server mode") on the host, as a modem's IP stack would carry it.

OPEN CHANNEL connects (or listens) at once; the buffer the card asks for is granted up to
``max_buffer`` (more: result '07', "performed with modification", and the smaller size).  When
OPEN CHANNEL asks for DNS server addresses (qualifier b4, §8.6) and the terminal declared that it
gives them, its TERMINAL RESPONSE carries one "DNS server address" object per ``dns_servers``
entry (tag '40', type of address '21' / '57' as §8.58, the address).  SEND DATA
in store mode fills the Tx buffer, immediate mode sends it (one datagram on UDP).  Received bytes
wait in the Rx buffer; :meth:`BipTerminal.poll` reads the sockets and returns the events due: Data
Available when data arrives in an empty Rx buffer (one datagram at a time on UDP), Channel Status
when the link drops or, in server mode, a client connects or leaves.  Written from the
specification, independently of the card's BIP layer.
"""
from __future__ import annotations

import logging
import select
import socket
import time
from collections import deque
from dataclasses import dataclass, field

from tools.terminal import cat

log = logging.getLogger(__name__)

UDP_CLIENT, TCP_CLIENT, TCP_SERVER = 0x01, 0x02, 0x03      # §8.59
LINK_UP, LISTEN, ESTABLISHED, LINK_DROPPED = 0x80, 0x40, 0x80, 0x05   # §8.56
MAX_READ = 65536


@dataclass
class ModemChannel:
    """One channel: its socket(s), Tx and Rx buffers and what the card was told."""

    number: int
    transport: int
    buffer_size: int
    sock: socket.socket | None = None          # the connected (or UDP) socket
    listener: socket.socket | None = None      # server mode
    tx: bytearray = field(default_factory=bytearray)
    rx: deque = field(default_factory=deque)   # bytes chunks (TCP) or datagrams (UDP)
    notified: bool = False                     # Data Available sent for the current Rx data
    dropped: bool = False                      # peer closed / link lost, not yet reported
    partial: bool = False                      # the head of ``rx`` was partly read
    bearer: bytes = b""
    network_access_name: bytes = b""

    def status(self) -> bytes:
        """Channel status (§8.56)."""
        if self.transport == TCP_SERVER:
            return bytes([self.number | (ESTABLISHED if self.sock else LISTEN), 0x00])
        if self.sock is None:
            return bytes([self.number, LINK_DROPPED])
        return bytes([self.number | LINK_UP, 0x00])

    def rx_length(self) -> int:
        """Bytes the card may read now: on UDP the (rest of the) current datagram only."""
        return len(self.rx[0]) if self.transport == UDP_CLIENT and self.rx else sum(map(len, self.rx))

    def close(self) -> None:
        for s in (self.sock, self.listener):
            if s is not None:
                s.close()
        self.sock = self.listener = None


class BipTerminal:
    """The channels of one modem; ``host`` is where UICC-server-mode channels listen."""

    def __init__(self, channels: int = 7, max_buffer: int = 1500, host: str = "127.0.0.1",
                 connect_timeout: float = 3.0, dns_servers: tuple[str, ...] = ()) -> None:
        self.max_channels, self.max_buffer, self.host = channels, max_buffer, host
        self.connect_timeout = connect_timeout
        self.dns_servers = tuple(dns_servers)
        self.channels: dict[int, ModemChannel] = {}

    # -- proactive commands (each returns the general result and the TERMINAL RESPONSE objects) --
    def open_channel(self, command: cat.ProactiveCommand, gives_dns: bool = False) -> tuple[int, bytes]:
        """``gives_dns``: the terminal declared the DNS server address request (TERMINAL PROFILE)."""
        o = command.objects
        level, size = o.get(cat.T_TRANSPORT_LEVEL, b""), o.get(cat.T_BUFFER_SIZE, b"")
        if len(level) != 3 or len(size) != 2 or level[0] not in (UDP_CLIENT, TCP_CLIENT, TCP_SERVER):
            return cat.RESULT_NOT_UNDERSTOOD, b""
        number = next((n for n in range(1, self.max_channels + 1) if n not in self.channels), 0)
        if not number:
            return cat.RESULT_BIP_ERROR, bytes([cat.BIP_NO_CHANNEL])
        asked = int.from_bytes(size, "big")
        granted = min(asked, self.max_buffer)
        channel = ModemChannel(number, level[0], granted, bearer=o.get(cat.T_BEARER, b""),
                               network_access_name=o.get(cat.T_NETWORK_ACCESS_NAME, b""))
        port = int.from_bytes(level[1:], "big")
        try:
            if level[0] == TCP_SERVER:
                channel.listener = socket.create_server((self.host, port))
                channel.listener.setblocking(False)
            else:
                address = _address(o.get(cat.T_OTHER_ADDRESS, b""))
                if address is None:
                    return cat.RESULT_NOT_UNDERSTOOD, b""
                kind = socket.SOCK_STREAM if level[0] == TCP_CLIENT else socket.SOCK_DGRAM
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                channel.sock = socket.socket(family, kind)
                channel.sock.settimeout(self.connect_timeout)
                channel.sock.connect((address, port))
                channel.sock.setblocking(False)
        except OSError as exc:
            log.info("OPEN CHANNEL to port %d failed: %s", port, exc)
            channel.close()
            return cat.RESULT_BIP_ERROR, bytes([cat.BIP_UNREACHABLE])
        self.channels[number] = channel
        answer = cat.ctlv(cat.T_CHANNEL_STATUS, channel.status())
        if level[0] != TCP_SERVER:
            answer += cat.ctlv(cat.T_BEARER, channel.bearer)
        answer += cat.ctlv(cat.T_BUFFER_SIZE, granted.to_bytes(2, "big"))
        if gives_dns and command.qualifier & cat.OPEN_CHANNEL_DNS_REQUEST and level[0] != TCP_SERVER:
            answer += b"".join(cat.ctlv(cat.T_DNS_SERVER, _other_address(a)) for a in self.dns_servers)
        return (cat.RESULT_MODIFIED if granted < asked else cat.RESULT_OK), answer

    def send_data(self, command: cat.ProactiveCommand) -> tuple[int, bytes]:
        channel = self._channel(command)
        if channel is None:
            return cat.RESULT_BIP_ERROR, bytes([cat.BIP_BAD_CHANNEL])
        data = command.objects.get(cat.T_CHANNEL_DATA, b"")
        if channel.sock is None:
            return cat.RESULT_BIP_ERROR, bytes([cat.BIP_CHANNEL_CLOSED])
        if len(channel.tx) + len(data) > channel.buffer_size:
            return cat.RESULT_BIP_ERROR, bytes([0x04])      # §8.12.11 '04' buffer size not available
        channel.tx += data
        if command.qualifier & 0x01:                          # send immediately (§6.4.30)
            try:
                channel.sock.setblocking(True)
                channel.sock.sendall(bytes(channel.tx))
                channel.sock.setblocking(False)
            except OSError:
                channel.close()
                return cat.RESULT_BIP_ERROR, bytes([cat.BIP_CHANNEL_CLOSED])
            channel.tx.clear()
        free = channel.buffer_size - len(channel.tx)
        return cat.RESULT_OK, cat.ctlv(cat.T_CHANNEL_DATA_LENGTH, bytes([min(free, 0xFF)]))

    def receive_data(self, command: cat.ProactiveCommand) -> tuple[int, bytes]:
        channel = self._channel(command)
        wanted = command.objects.get(cat.T_CHANNEL_DATA_LENGTH, b"")
        if channel is None:
            return cat.RESULT_BIP_ERROR, bytes([cat.BIP_BAD_CHANNEL])
        if len(wanted) != 1:
            return cat.RESULT_NOT_UNDERSTOOD, b""
        data = self._take(channel, wanted[0])
        datagram_done = channel.transport == UDP_CLIENT and not channel.partial
        if not channel.rx or datagram_done:
            channel.notified = False       # the next data (datagram) is announced again (§7.5.10)
        left = 0 if datagram_done else channel.rx_length()
        answer = cat.ctlv(cat.T_CHANNEL_DATA, data) + cat.ctlv(cat.T_CHANNEL_DATA_LENGTH, bytes([min(left, 0xFF)]))
        return (cat.RESULT_OK if len(data) == wanted[0] or not left else cat.RESULT_MODIFIED), answer

    def close_channel(self, command: cat.ProactiveCommand) -> tuple[int, bytes]:
        channel = self._channel(command)
        if channel is None:
            return cat.RESULT_BIP_ERROR, bytes([cat.BIP_BAD_CHANNEL])
        channel.close()
        del self.channels[channel.number]
        return cat.RESULT_OK, b""

    def get_channel_status(self, _command: cat.ProactiveCommand) -> tuple[int, bytes]:
        return cat.RESULT_OK, b"".join(cat.ctlv(cat.T_CHANNEL_STATUS, c.status()) for c in self.channels.values())

    # -- the network side ----------------------------------------------------------------------------
    def poll(self, timeout: float = 0.0) -> list[tuple[int, bytes]]:
        """Read what arrived (waiting up to `timeout`); (event, EVENT DOWNLOAD envelope) now due."""
        readable = [s for c in self.channels.values() for s in (c.sock, c.listener) if s is not None]
        if readable:
            ready, _, _ = select.select(readable, [], [], timeout)
            for channel in list(self.channels.values()):
                self._read(channel, ready)
        elif timeout > 0:
            time.sleep(timeout)
        events = []
        for channel in self.channels.values():
            if channel.rx and not channel.notified:
                channel.notified = True
                length = min(channel.rx_length(), 0xFF)
                events.append((cat.EVENT_DATA_AVAILABLE, cat.event_download(
                    cat.EVENT_DATA_AVAILABLE, cat.ctlv(cat.T_CHANNEL_STATUS, channel.status())
                    + cat.ctlv(cat.T_CHANNEL_DATA_LENGTH, bytes([length])))))
            elif channel.dropped and not channel.rx:
                channel.dropped = False
                events.append((cat.EVENT_CHANNEL_STATUS, cat.event_download(
                    cat.EVENT_CHANNEL_STATUS, cat.ctlv(cat.T_CHANNEL_STATUS, channel.status()))))
        return events

    def _read(self, channel: ModemChannel, ready: list) -> None:
        if channel.listener is not None and channel.listener in ready and channel.sock is None:
            channel.sock, _ = channel.listener.accept()
            channel.sock.setblocking(False)
            channel.dropped = True                              # report ESTABLISHED (§7.5.11)
            return
        if channel.sock is None or channel.sock not in ready:
            return
        try:
            data = channel.sock.recv(MAX_READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            channel.rx.append(data)
        elif channel.transport != UDP_CLIENT:
            channel.sock.close()
            channel.sock, channel.dropped = None, True

    def drop(self, number: int) -> None:
        """The network drops a channel's link (for tests): reported by the next :meth:`poll`."""
        channel = self.channels[number]
        if channel.sock is not None:
            channel.sock.close()
        channel.sock, channel.dropped = None, True

    def close_all(self) -> None:
        for channel in self.channels.values():
            channel.close()
        self.channels.clear()

    def _channel(self, command: cat.ProactiveCommand) -> ModemChannel | None:
        return self.channels.get(command.destination - 0x20) if 0x21 <= command.destination <= 0x27 else None

    @staticmethod
    def _take(channel: ModemChannel, n: int) -> bytes:
        """Up to `n` bytes of the Rx buffer; on UDP never past the end of the current datagram."""
        out = bytearray()
        while channel.rx and len(out) < n:
            head = channel.rx.popleft()
            need = n - len(out)
            out += head[:need]
            if len(head) > need:
                channel.rx.appendleft(head[need:])
                channel.partial = True
                break
            channel.partial = False
            if channel.transport == UDP_CLIENT:
                break
        return bytes(out)


def _other_address(text: str) -> bytes:
    """A textual IPv4 / IPv6 address as §8.58 codes it: type of address, then the address."""
    if ":" in text:
        return b"\x57" + socket.inet_pton(socket.AF_INET6, text)
    return b"\x21" + socket.inet_pton(socket.AF_INET, text)


def _address(value: bytes) -> str | None:
    """Other address (§8.58): '21' IPv4 or '57' IPv6."""
    if value[:1] == b"\x21" and len(value) == 5:
        return socket.inet_ntop(socket.AF_INET, value[1:])
    if value[:1] == b"\x57" and len(value) == 17:
        return socket.inet_ntop(socket.AF_INET6, value[1:])
    return None
