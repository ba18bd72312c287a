"""Bearer Independent Protocol, the card side (ETSI TS 102 223 §6.4.27-§6.4.31, §7.5.10, §7.5.11).

:class:`BipService` (on the card services, ``ctx.services.bip``) opens a channel for a sans-I/O
engine (:mod:`euicc.cat.bip_port`) and carries its bytes: OPEN CHANNEL (TCP or UDP client, TCP in
UICC server mode), SEND DATA (store mode for all but the last part of a packet, then immediate),
RECEIVE DATA on the Data Available event, CLOSE CHANNEL when the engine is finished, GET CHANNEL
STATUS, and the Channel Status event (link dropped; in server mode a client connected or left).

An engine may ask for the terminal's DNS server addresses (OPEN CHANNEL qualifier b4, only of a
terminal whose TERMINAL PROFILE declares it, byte 33 b1): the "DNS server address" objects of the
TERMINAL RESPONSE (§8.104 in the numbering pySim follows: tag '40', type of address '21' IPv4 /
'57' IPv6 as §8.58, then the address) are kept for the power cycle (:meth:`BipService.dns_servers`).

The terminal may give a smaller buffer than asked (result '07', "performed with modification",
§6.4.27): packets are then cut to the buffer it gave.  Nothing is issued the terminal did not
declare (TERMINAL PROFILE byte 12, the transport in byte 17, the two events): :meth:`open` then
returns False and the engine falls back (SMS).  Channels are volatile: a reset or power off ends
them with the terminal's session, and every engine still on one is told (``closed("card reset")``,
the port's own call) so that the next power cycle starts clean.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from euicc import tlv
from euicc.apdu import SW, SwError
from euicc.cat.bip_port import ChannelRequest, ChannelUser
from euicc.cat.proactive import DEV_TERMINAL, ProactiveCommand
from euicc.cat.terminal_profile import (CLOSE_CHANNEL, EVENT_CHANNEL_STATUS, EVENT_DATA_AVAILABLE,
                                        GET_CHANNEL_STATUS, OPEN_CHANNEL, RECEIVE_DATA, SEND_DATA,
                                        TCP_CLIENT_REMOTE, TCP_SERVER, UDP_CLIENT_REMOTE, TerminalProfile)
from euicc.volatile import Lifetime, VolatileState

if TYPE_CHECKING:
    from euicc.cat.toolkit import CatContext, Toolkit

log = logging.getLogger(__name__)

TRANSPORTS = {"udp": UDP_CLIENT_REMOTE, "tcp": TCP_CLIENT_REMOTE, "tcp_server": TCP_SERVER}   # §8.59
# TS 102 223 §9.3 COMPREHENSION-TLV tags (CR bit cleared)
T_BEARER, T_CHANNEL_DATA, T_CHANNEL_DATA_LENGTH, T_CHANNEL_STATUS = 0x35, 0x36, 0x37, 0x38
T_BUFFER_SIZE, T_TRANSPORT_LEVEL, T_OTHER_ADDRESS, T_NETWORK_ACCESS_NAME = 0x39, 0x3C, 0x3E, 0x47
T_DNS_SERVER = 0x40                                        # DNS server address (§8.104 as pySim numbers it)
ADDRESS_IPV4, ADDRESS_IPV6 = 0x21, 0x57                    # §8.58 type of address
ADDRESS_LENGTHS = {ADDRESS_IPV4: 4, ADDRESS_IPV6: 16}
OPEN_IMMEDIATELY = 0x01                                    # §8.6 OPEN CHANNEL qualifier bit 1
DNS_SERVER_REQUEST = 0x08                                  # §8.6 bit 4 (packet data service bearer)
SEND_STORE, SEND_IMMEDIATELY = 0x00, 0x01                  # §6.4.30 qualifier bit 1
RESULT_OK, RESULT_MODIFIED = 0x00, 0x07                    # §8.12
MAX_CHANNELS = 7                                           # §8.7 channel identifiers 1-7
MAX_CHUNK = 237     # channel data per SEND DATA / RECEIVE DATA: fits one 'D0' of 255 bytes [R]
MIN_BUFFER = 1
SERVER_STATE_MASK, SERVER_ESTABLISHED = 0xC0, 0x80        # §8.56 byte 1 b7-b8 in server mode
LINK_ESTABLISHED = 0x80                                    # §8.56 byte 1 b8 in client mode
RESET_REASON = "card reset"                                # ChannelUser.closed() when the card resets


@dataclass
class BipChannel:
    """One channel of the card: its engine, negotiated buffer, bytes in flight (volatile)."""

    request: ChannelRequest
    user: ChannelUser
    state: str = "opening"          # opening, listening (server mode), open, closing
    number: int = 0                  # channel identifier from the terminal (§8.56)
    buffer_size: int = 0
    pending: bytes = b""            # drained from the engine, not yet in a SEND DATA (UDP: one datagram)
    datagrams: deque[bytes] = field(default_factory=deque)   # UDP: whole datagrams waiting their turn
    inbound: bytes = b""            # a UDP datagram read in parts, not yet handed over
    available: int = 0              # bytes the terminal holds for us (Data Available, §7.5.10)
    busy: bool = False              # a SEND/RECEIVE/CLOSE of this channel is outstanding


@dataclass
class BipState(VolatileState):
    """The card's channels of this power cycle."""

    LIFETIME = Lifetime.POWER_CYCLE
    channels: list[BipChannel] = field(default_factory=list)
    dns_servers: list[bytes] = field(default_factory=list)   # from OPEN CHANNEL's TERMINAL RESPONSEs


class BipService:
    """The BIP layer behind the port of :mod:`euicc.cat.bip_port`."""

    def __init__(self, toolkit: Toolkit) -> None:
        toolkit.on_event(EVENT_DATA_AVAILABLE, self._data_available, needed=_uses_bip)
        toolkit.on_event(EVENT_CHANNEL_STATUS, self._channel_status, needed=_uses_bip)
        toolkit.after(self.pump)
        toolkit.on_reset(self.card_reset)

    @staticmethod
    def state(ctx: CatContext) -> BipState:
        return ctx.volatile.get(BipState) or ctx.volatile.put(BipState())

    def available(self, ctx: CatContext, transport: str = "tcp") -> bool:
        """The terminal declared BIP, `transport` and both events, and registered the events."""
        cat = ctx.cat
        return (cat.profile.bip and cat.profile.transport(TRANSPORTS.get(transport, 0))
                and {EVENT_DATA_AVAILABLE, EVENT_CHANNEL_STATUS} <= cat.events)

    def open(self, ctx: CatContext, request: ChannelRequest, user: ChannelUser) -> bool:
        """OPEN CHANNEL (§6.4.27) for `user`; False when the terminal cannot or no channel is free."""
        state = self.state(ctx)
        if not self.available(ctx, request.transport) or not _valid(request):
            return False
        if len(state.channels) >= min(MAX_CHANNELS, ctx.cat.profile.channels):
            return False
        channel = BipChannel(request, user, buffer_size=request.buffer_size)
        qualifier = _qualifier(request, self.asks_dns(ctx))
        if not ctx.cat.submit(ProactiveCommand(OPEN_CHANNEL, qualifier, DEV_TERMINAL,
                                               open_channel_body(request), self._opened(ctx, channel))):
            return False
        state.channels.append(channel)
        return True

    def card_reset(self, ctx: CatContext) -> None:
        """The card is reset or powered off: its channels are gone with the terminal's session
        (TS 102 223 §6.4.27 channels do not survive it); each engine on one not yet told is told
        (:meth:`ChannelUser.closed`, :data:`RESET_REASON`) and the channels are forgotten."""
        state = ctx.volatile.get(BipState)
        if state is None:
            return
        for channel in state.channels:
            if channel.state not in ("closing", "failed"):     # those were told already (or failed)
                _call(channel, lambda: channel.user.closed(RESET_REASON))
        state.channels.clear()

    @staticmethod
    def asks_dns(ctx: CatContext) -> bool:
        """The terminal declared the DNS server address request (TERMINAL PROFILE byte 33 b1)."""
        return ctx.cat.profile.dns_server_request

    def dns_servers(self, ctx: CatContext) -> tuple[bytes, ...]:
        """The DNS server addresses the terminal gave this power cycle (4 or 16 bytes each)."""
        state = ctx.volatile.get(BipState)
        return tuple(state.dns_servers) if state is not None else ()

    def get_status(self, ctx: CatContext) -> bool:
        """GET CHANNEL STATUS (§6.4.31): channels the terminal reports down are closed."""
        return ctx.cat.submit(ProactiveCommand(GET_CHANNEL_STATUS, 0, DEV_TERMINAL, b"", self._status(ctx)))

    # -- results ---------------------------------------------------------------------------------
    def _opened(self, ctx: CatContext, channel: BipChannel) -> Callable[[bytes, bytes], None]:
        def result(value: bytes, whole: bytes) -> None:
            objects = _objects(whole)
            statuses = objects.get(T_CHANNEL_STATUS, [])
            number = statuses[0][0] & 0x07 if statuses and statuses[0] else 0
            if value[0] not in (RESULT_OK, RESULT_MODIFIED) or not number or self._find(ctx, number):
                self._drop(ctx, channel, f"OPEN CHANNEL refused (result {value.hex().upper()})", release=False)
                return
            channel.number = number
            self._keep_dns_servers(ctx, objects.get(T_DNS_SERVER, []))
            offered = objects.get(T_BUFFER_SIZE, [])
            if offered and len(offered[0]) == 2:
                channel.buffer_size = max(MIN_BUFFER, min(channel.buffer_size, int.from_bytes(offered[0], "big")))
            if channel.request.transport == "tcp_server":
                channel.state = "listening"
            else:
                channel.state = "open"
                _call(channel, lambda: channel.user.connected())
        return result

    def _keep_dns_servers(self, ctx: CatContext, values: list[bytes]) -> None:
        """DNS server address objects (type of address §8.58, then the address); a malformed one
        is skipped."""
        known = self.state(ctx).dns_servers
        for value in values:
            if value and ADDRESS_LENGTHS.get(value[0]) == len(value) - 1 and value[1:] not in known:
                known.append(bytes(value[1:]))

    def _sent(self, ctx: CatContext, channel: BipChannel) -> Callable[[bytes, bytes], None]:
        def result(value: bytes, _whole: bytes) -> None:
            channel.busy = False
            if value[0] not in (RESULT_OK, RESULT_MODIFIED):
                self._drop(ctx, channel, f"SEND DATA failed (result {value.hex().upper()})")
        return result

    def _received(self, ctx: CatContext, channel: BipChannel) -> Callable[[bytes, bytes], None]:
        def result(value: bytes, whole: bytes) -> None:
            channel.busy = False
            objects = _objects(whole)
            if value[0] not in (RESULT_OK, RESULT_MODIFIED):
                channel.available = 0
                return
            remaining = objects.get(T_CHANNEL_DATA_LENGTH, [b"\x00"])[0]
            channel.available = remaining[0] if len(remaining) == 1 else 0
            data = objects.get(T_CHANNEL_DATA, [b""])[0]
            if channel.request.transport == "udp":      # a datagram is handed over whole
                channel.inbound += data
                data, channel.inbound = (channel.inbound, b"") if not channel.available else (b"", channel.inbound)
            if data and channel.state == "open":
                _call(channel, lambda: channel.user.received(data))
        return result

    def _closed(self, ctx: CatContext, channel: BipChannel) -> Callable[[bytes, bytes], None]:
        def result(_value: bytes, _whole: bytes) -> None:
            state = self.state(ctx)
            if channel in state.channels:
                state.channels.remove(channel)
        return result

    def _status(self, ctx: CatContext) -> Callable[[bytes, bytes], None]:
        def result(value: bytes, whole: bytes) -> None:
            if value[0] not in (RESULT_OK, RESULT_MODIFIED):
                return
            for status in _objects(whole).get(T_CHANNEL_STATUS, []):
                self._apply_status(ctx, status)
        return result

    # -- events ------------------------------------------------------------------------------------
    def _data_available(self, ctx: CatContext, _event: int, objects) -> None:
        """Data available (§7.5.10): channel status and channel data length."""
        status, length = objects.get(T_CHANNEL_STATUS), objects.get(T_CHANNEL_DATA_LENGTH)
        if not status or length is None or len(length) != 1:
            raise SwError(SW.INCORRECT_DATA)
        channel = self._find(ctx, status[0] & 0x07)
        if channel is None:
            log.info("Data Available for channel %d, which the card has not opened", status[0] & 0x07)
            return
        channel.available = length[0]

    def _channel_status(self, ctx: CatContext, _event: int, objects) -> None:
        """Channel status (§7.5.11): link dropped, or a client of a server-mode channel."""
        status = objects.get(T_CHANNEL_STATUS)
        if not status:
            raise SwError(SW.INCORRECT_DATA)
        self._apply_status(ctx, status)

    def _apply_status(self, ctx: CatContext, status: bytes) -> None:
        channel = self._find(ctx, status[0] & 0x07) if status else None
        if channel is None or channel.state in ("opening", "closing"):
            return
        if channel.request.transport == "tcp_server":
            established = status[0] & SERVER_STATE_MASK == SERVER_ESTABLISHED
            if established and channel.state == "listening":
                channel.state = "open"
                _call(channel, lambda: channel.user.connected())
            elif not established and channel.state == "open":
                channel.state, channel.pending, channel.available = "listening", b"", 0
                channel.datagrams.clear()
                _call(channel, lambda: channel.user.closed("the client closed the connection"))
        elif not status[0] & LINK_ESTABLISHED:
            self._drop(ctx, channel, "link dropped" if status[1:2] == b"\x05" else "channel closed by the terminal")

    # -- the pump ------------------------------------------------------------------------------------
    def pump(self, ctx: CatContext) -> None:
        """After every CAT command: drain the engines into SEND DATA, fetch what is available with
        RECEIVE DATA, close the channels of finished engines (one command per channel at a time)."""
        state = ctx.volatile.get(BipState)
        if state is None:
            return
        for channel in list(state.channels):
            if channel.state == "failed" and not channel.busy:
                self._close(ctx, channel)
            if channel.busy or channel.state != "open":
                continue
            if channel.available:
                self._submit(ctx, channel, RECEIVE_DATA, 0, tlv.tlv(0x80 | T_CHANNEL_DATA_LENGTH,
                             bytes((min(channel.available, MAX_CHUNK),))), self._received(ctx, channel))
                continue
            out = _call(channel, lambda: channel.user.outgoing())
            if channel.state != "open":
                continue
            self._queue(channel, out or b"")
            if channel.pending:
                self._send_next(ctx, channel)
            elif _call(channel, lambda: channel.user.finished):
                self._close(ctx, channel)

    @staticmethod
    def _queue(channel: BipChannel, out: bytes) -> None:
        """TCP is a byte stream: append.  Each UDP ``outgoing()`` is one datagram: it waits whole
        behind the one being sent in parts, never joined to it (§6.4.30: a datagram is the data
        of one store-mode ... immediate SEND DATA sequence)."""
        if channel.request.transport != "udp":
            channel.pending += out
            return
        if out:
            channel.datagrams.append(out)
        if not channel.pending and channel.datagrams:
            channel.pending = channel.datagrams.popleft()

    def _send_next(self, ctx: CatContext, channel: BipChannel) -> None:
        """One SEND DATA: store mode until the buffer is full or the data ends (§6.4.30)."""
        packet = channel.pending[:channel.buffer_size] if channel.request.transport != "udp" else channel.pending
        chunk = packet[:MAX_CHUNK]
        last = len(chunk) == len(packet)
        if self._submit(ctx, channel, SEND_DATA, SEND_IMMEDIATELY if last else SEND_STORE,
                        tlv.tlv(0x80 | T_CHANNEL_DATA, chunk), self._sent(ctx, channel)):
            channel.pending = channel.pending[len(chunk):]

    def _close(self, ctx: CatContext, channel: BipChannel) -> None:
        if self._submit(ctx, channel, CLOSE_CHANNEL, 0, b"", self._closed(ctx, channel)):
            channel.state = "closing"

    def _submit(self, ctx: CatContext, channel: BipChannel, kind: int, qualifier: int, body: bytes,
                on_result: Callable[[bytes, bytes], None]) -> bool:
        if ctx.cat.submit(ProactiveCommand(kind, qualifier, 0x20 | channel.number, body, on_result)):
            channel.busy = True
            return True
        return False

    def _drop(self, ctx: CatContext, channel: BipChannel, reason: str, release: bool = True) -> None:
        """Tell the engine, then give the channel back to the terminal (CLOSE CHANNEL)."""
        state = self.state(ctx)
        was_open = channel.state != "closing"
        channel.state, channel.pending, channel.available, channel.busy = "closing", b"", 0, False
        channel.datagrams.clear()
        if was_open:
            _call(channel, lambda: channel.user.closed(reason))
        if not release or not self._submit(ctx, channel, CLOSE_CHANNEL, 0, b"", self._closed(ctx, channel)):
            if channel in state.channels:
                state.channels.remove(channel)

    def _find(self, ctx: CatContext, number: int) -> BipChannel | None:
        return next((c for c in self.state(ctx).channels if c.number == number and number), None)


def _uses_bip(profile: TerminalProfile) -> bool:
    return profile.bip


def open_channel_body(request: ChannelRequest) -> bytes:
    """OPEN CHANNEL objects after the device identities (§6.6.27 order)."""
    transport = tlv.tlv(0x80 | T_TRANSPORT_LEVEL, bytes((TRANSPORTS[request.transport],)) + request.port.to_bytes(2, "big"))
    size = tlv.tlv(0x80 | T_BUFFER_SIZE, request.buffer_size.to_bytes(2, "big"))
    if request.transport == "tcp_server":
        return size + transport
    body = tlv.tlv(0x80 | T_BEARER, request.bearer) + size
    if request.network_access_name:
        body += tlv.tlv(0x80 | T_NETWORK_ACCESS_NAME, request.network_access_name)
    kind = ADDRESS_IPV4 if len(request.address) == 4 else ADDRESS_IPV6
    return body + transport + tlv.tlv(0x80 | T_OTHER_ADDRESS, bytes((kind,)) + request.address)


def _valid(request: ChannelRequest) -> bool:
    """A request the terminal can be asked for (§8.55 buffer size, §8.58, §8.59 port)."""
    client_address = request.transport == "tcp_server" or len(request.address) in (4, 16)
    return (client_address and 0 <= request.port <= 0xFFFF and MIN_BUFFER <= request.buffer_size <= 0xFFFF
            and (request.transport == "tcp_server" or 0 < len(request.bearer) < 128))


def _qualifier(request: ChannelRequest, terminal_gives_dns: bool) -> int:
    """§8.6: immediate link establishment for a client channel, and the DNS server address
    request when the engine wants it and the terminal declared it (never asked otherwise)."""
    if request.transport == "tcp_server":
        return 0x00
    return OPEN_IMMEDIATELY | (DNS_SERVER_REQUEST if request.dns_request and terminal_gives_dns else 0)


def _objects(data: bytes) -> dict[int, list[bytes]]:
    """The TERMINAL RESPONSE's COMPREHENSION-TLVs by tag (several channel statuses may come)."""
    out: dict[int, list[bytes]] = {}
    try:
        for tag, value in tlv.iter_tlv(data):
            out.setdefault(tag & 0x7F, []).append(value)
    except tlv.TlvError:
        pass
    return out


def _call(channel: BipChannel, action: Callable[[], object]) -> object:
    """Call the engine; a defect in it closes its channel rather than the card's answer."""
    try:
        return action()
    except Exception:  # an engine's defect must not become the terminal's status word
        log.exception("BIP engine on channel %d failed", channel.number)
        channel.state, channel.pending = "failed", b""
        channel.datagrams.clear()
        return None
