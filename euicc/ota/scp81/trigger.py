"""The administration session triggering parameters of GP Amd B §3.8 (Table 3-3): the value of
the push TLV '81' that an SCP80-secured SMS-PP message carries to the security domain (for
SGP.02 the whole secured data of a packet to the ISD-R TAR, SPEC_NOTES §3.2).

    '81' Administration session triggering parameters
        '83' Admin session parameters (all optional; '81 00': use the defaults)
            '84' Connection parameters: OPEN CHANNEL COMPREHENSION-TLVs (TS 102 223 §6.6.27:
                 '35' bearer description, '39' buffer size, '47' network access name,
                 '3C' transport level, '3E' data destination address) (§3.8.1)
            '85' Security parameters: L PSK identity, '02', KVN, key ID [, SHA type] (§3.8.2)
            'A5' Extended security parameters (kept, unused)
            '86' Retry policy: retry counter (2), 'A5 03' waiting delay (TS 102 223 §8.38
                 timer value), [report failure data] (§3.8.3)
            '89' HTTP POST parameters: '8A' admin host, '8B' agent ID, '8C' admin URI (§3.8.4-6)
        'B3' DNS resolution parameters (§3.11): 'D6' the FQDN to resolve, 'FA' DNS connection
             parameters, read by :func:`dns_parameters` [U: the inner coding was not in any
             source read; the emulator reads 'FA' as OPEN CHANNEL objects of the DNS channel,
             one '3E' per server and an optional '3C' UDP port]

A malformed trigger raises :class:`euicc.ota.errors.OtaFormatError` before anything is opened.
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc import tlv
from euicc.cat.bip_port import ChannelRequest, Transport
from euicc.ota.errors import OtaFormatError
from euicc.ota.scp81.settings import Scp81Settings
from euicc.tlv import TlvError

TAG_TRIGGER = 0x81
TAG_SESSION = 0x83
TAG_CONNECTION = 0x84
TAG_SECURITY = 0x85
TAG_RETRY = 0x86
TAG_HTTP_POST = 0x89
TAG_ADMIN_HOST, TAG_AGENT_ID, TAG_ADMIN_URI = 0x8A, 0x8B, 0x8C
TAG_DNS = 0xB3
TAG_DNS_NAME, TAG_DNS_CONNECTION = 0xD6, 0xFA

# COMPREHENSION-TLV tags of TS 102 223 §9.3 (CR bit b8 masked off)
CT_BEARER, CT_BUFFER_SIZE, CT_NAN, CT_TRANSPORT, CT_ADDRESS, CT_TIMER = 0x35, 0x39, 0x47, 0x3C, 0x3E, 0x25
TRANSPORTS = {0x01: "udp", 0x02: "tcp", 0x03: "tcp_server"}     # TS 102 223 §8.59
ADDRESS_TYPES = {0x21: 4, 0x57: 16}                               # TS 102 223 §8.58: IPv4, IPv6


@dataclass(frozen=True)
class SecurityParams:
    """§3.8.2: the PSK identity to present and the key set (KVN) / key (ID) of the PSK; None:
    the agent's defaults."""

    psk_identity: bytes | None = None
    kvn: int | None = None
    key_id: int | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """§3.8.3: how many more times a failed session is tried, the delay in seconds between
    attempts, and the data to report when the last attempt failed (None: report nothing)."""

    counter: int = 0
    delay: int = 60
    failure_report: bytes | None = None


@dataclass(frozen=True)
class HttpPostParams:
    """§3.8.4-§3.8.6: ``Host`` header, ``X-Admin-From`` agent ID (None: the agent's own) and the
    URI of the first POST."""

    host: str
    uri: str
    agent_id: str | None = None


@dataclass(frozen=True)
class DnsParams:
    """'B3' (§3.11): the name to resolve (None: the admin host) and the DNS servers with their
    UDP port (None: the resolver's)."""

    name: str | None = None
    servers: tuple[bytes, ...] = ()
    port: int | None = None


@dataclass(frozen=True)
class AdminSessionRequest:
    """A session to open: the channel, the PSK, the retry policy, the POST parameters, and an
    optional query for the first POST (e.g. SGP.02's ``msg=`` notification, SPEC_NOTES §2.8)."""

    channel: ChannelRequest
    security: SecurityParams = SecurityParams()
    retry: RetryPolicy = RetryPolicy()
    http: HttpPostParams = HttpPostParams("", "")
    first_query: str = ""
    dns: DnsParams = DnsParams()
    extended_security: bytes | None = None


def dns_parameters(value: bytes | None) -> DnsParams:
    """The DNS resolution parameters of a trigger's 'B3' value (None or b'': none given)."""
    if not value:
        return DnsParams()
    items = _items(value)
    servers, port = [], None
    try:
        objects = tlv.parse(items.get(TAG_DNS_CONNECTION, b""))
    except TlvError as e:
        raise OtaFormatError(f"DNS connection parameters: {e}") from None
    for tag, data in objects:
        if tag & 0x7F == CT_ADDRESS:
            if not data or ADDRESS_TYPES.get(data[0]) != len(data) - 1:
                raise OtaFormatError("bad DNS server address")
            servers.append(bytes(data[1:]))
        elif tag & 0x7F == CT_TRANSPORT:
            if len(data) != 3 or TRANSPORTS.get(data[0]) != "udp":
                raise OtaFormatError("DNS runs over a UDP channel")
            port = int.from_bytes(data[1:], "big")
    return DnsParams(_text(items.get(TAG_DNS_NAME)), tuple(servers), port)


def parse_trigger(value: bytes, settings: Scp81Settings, default_address: bytes = b"") -> AdminSessionRequest:
    """The request of a trigger's '81' value (the tag and length already removed)."""
    items = _items(value)
    session = items.get(TAG_SESSION, b"")
    fields = _items(session)
    channel = _connection(fields.get(TAG_CONNECTION), settings, default_address)
    http_items = _items(fields.get(TAG_HTTP_POST, b""))
    http = HttpPostParams(_text(http_items.get(TAG_ADMIN_HOST)) or settings.admin_host,
                          _text(http_items.get(TAG_ADMIN_URI)) or settings.admin_uri,
                          _text(http_items.get(TAG_AGENT_ID)))
    return AdminSessionRequest(channel, _security(fields.get(TAG_SECURITY)), _retry(fields.get(TAG_RETRY), settings),
                               http, dns=dns_parameters(items.get(TAG_DNS)), extended_security=fields.get(0xA5))


def _items(value: bytes) -> dict[int, bytes]:
    try:
        return {tag: data for tag, data in tlv.parse(value)}
    except TlvError as e:
        raise OtaFormatError(f"administration session trigger: {e}") from None


def _connection(value: bytes | None, settings: Scp81Settings, default_address: bytes) -> ChannelRequest:
    """§3.8.1: the OPEN CHANNEL parameters (TS 102 223 §6.6.27) of the session's channel."""
    if value is None:
        return ChannelRequest("tcp", default_address, settings.port)
    return open_channel_request(value, "tcp", settings.port, default_address)


def open_channel_request(value: bytes, transport: Transport, port: int, default_address: bytes = b"") -> ChannelRequest:
    """A channel from OPEN CHANNEL COMPREHENSION-TLVs (TS 102 223 §6.6.27: bearer, buffer size,
    network access name, transport level, data destination address), as GP Amd B §3.8.1's
    connection parameters and TS 102 226 §9's PUSH "request for BIP channel opening" carry them;
    the transport level, when present, must name ``transport`` (``port``: its absent default)."""
    items = {tag & 0x7F: data for tag, data in _items(value).items()}
    if CT_TRANSPORT in items:
        level = items[CT_TRANSPORT]
        if len(level) != 3 or TRANSPORTS.get(level[0]) != transport:
            raise OtaFormatError(f"the channel must be a {transport} client channel")
        port = int.from_bytes(level[1:], "big")
    address = default_address
    if CT_ADDRESS in items:
        raw = items[CT_ADDRESS]
        if not raw or ADDRESS_TYPES.get(raw[0]) != len(raw) - 1:
            raise OtaFormatError("bad data destination address")
        address = raw[1:]
    buffer = items.get(CT_BUFFER_SIZE)
    if buffer is not None and len(buffer) != 2:
        raise OtaFormatError("bad buffer size")
    return ChannelRequest(transport, address, port,
                          int.from_bytes(buffer, "big") if buffer else ChannelRequest.buffer_size,
                          items.get(CT_BEARER, ChannelRequest.bearer), items.get(CT_NAN))


def _security(value: bytes | None) -> SecurityParams:
    """§3.8.2: L ‖ PSK identity ‖ '02' ‖ KVN ‖ key ID [‖ SHA type] (pySim's SecurityParams layout)."""
    if value is None:
        return SecurityParams()
    if not value or len(value) < value[0] + 4 or value[value[0] + 1] != 0x02:
        raise OtaFormatError("bad security parameters")
    n = value[0]
    return SecurityParams(bytes(value[1:1 + n]) or None, value[n + 2], value[n + 3])


def _retry(value: bytes | None, settings: Scp81Settings) -> RetryPolicy:
    """§3.8.3: retry counter (2 bytes), waiting delay as a timer value TLV, then the failure report."""
    if value is None:
        return RetryPolicy(settings.retry_counter, settings.retry_delay)
    if len(value) < 7 or value[2] & 0x7F != CT_TIMER or value[3] != 3:
        raise OtaFormatError("bad retry policy")
    return RetryPolicy(int.from_bytes(value[:2], "big"), timer_seconds(value[4:7]), bytes(value[7:]) or None)


def timer_seconds(value: bytes) -> int:
    """TS 102 223 §8.38: hours, minutes, seconds, each two semi-octet-swapped BCD digits."""
    digits = []
    for byte in value:
        low, high = byte & 0x0F, byte >> 4
        if low > 9 or high > 9:
            raise OtaFormatError("timer value is not BCD")
        digits.append(low * 10 + high)
    hours, minutes, seconds = digits
    return hours * 3600 + minutes * 60 + seconds


def _text(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        raise OtaFormatError("HTTP POST parameter is not printable ASCII") from None
    if not text.isprintable():
        raise OtaFormatError("HTTP POST parameter is not printable ASCII")
    return text
