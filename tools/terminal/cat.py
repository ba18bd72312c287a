"""Terminal-side codecs of the Card Application Toolkit, ETSI TS 102 223 (and TS 102 221 §10/§11.2).

Written from the specification for the terminal simulator; independent of the card's CAT engine.
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc import tlv

# TS 102 223 §9.4 type of command
REFRESH, SET_UP_EVENT_LIST, SEND_SHORT_MESSAGE = 0x01, 0x05, 0x13
PROVIDE_LOCAL_INFORMATION, TIMER_MANAGEMENT = 0x26, 0x27
OPEN_CHANNEL, CLOSE_CHANNEL, RECEIVE_DATA, SEND_DATA, GET_CHANNEL_STATUS = 0x40, 0x41, 0x42, 0x43, 0x44
# TS 102 223 §9.3 COMPREHENSION-TLV tags (without the CR bit)
T_COMMAND_DETAILS, T_DEVICE_IDENTITIES, T_RESULT, T_ALPHA, T_ADDRESS = 0x01, 0x02, 0x03, 0x05, 0x06
T_SMS_TPDU, T_LOCATION_INFORMATION, T_IMEI, T_EVENT_LIST, T_LOCATION_STATUS = 0x0B, 0x13, 0x14, 0x19, 0x1B
T_TIMER_ID, T_TIMER_VALUE, T_DATE_TIME = 0x24, 0x25, 0x26
T_BEARER, T_CHANNEL_DATA, T_CHANNEL_DATA_LENGTH, T_CHANNEL_STATUS = 0x35, 0x36, 0x37, 0x38
T_BUFFER_SIZE, T_TRANSPORT_LEVEL, T_OTHER_ADDRESS, T_NETWORK_ACCESS_NAME = 0x39, 0x3C, 0x3E, 0x47
T_DNS_SERVER = 0x40             # DNS server address (TS 102 223 §8.104 as pySim numbers it)
# TS 102 223 §8.7 device identities
DEV_UICC, DEV_TERMINAL, DEV_NETWORK = 0x81, 0x82, 0x83
# TS 102 223 §8.12 general results
RESULT_OK, RESULT_TERMINAL_UNABLE, RESULT_NETWORK_UNABLE, RESULT_BEYOND_CAPABILITIES = 0x00, 0x20, 0x21, 0x30
RESULT_MODIFIED, RESULT_NOT_UNDERSTOOD, RESULT_BIP_ERROR = 0x07, 0x32, 0x3A
# §8.12.11 additional information of a BIP error
BIP_NO_CHANNEL, BIP_CHANNEL_CLOSED, BIP_BAD_CHANNEL, BIP_TRANSPORT_UNAVAILABLE, BIP_UNREACHABLE = 1, 2, 3, 6, 7
NO_SERVICE_INFO = 0x04                    # §8.12.2: terminal unable, "no service"
# TS 102 223 §8.25 event list: location status, data available, channel status; §8.27 location status
EVENT_LOCATION_STATUS, EVENT_DATA_AVAILABLE, EVENT_CHANNEL_STATUS = 0x03, 0x09, 0x0A
# TS 102 223 §9.1 BER-TLV tags
EVENT_DOWNLOAD, TIMER_EXPIRATION = 0xD6, 0xD7
NORMAL_SERVICE, LIMITED_SERVICE, NO_SERVICE = 0x00, 0x01, 0x02
# TS 102 221 §10.1.2 CAT instructions (CLA '80')
TERMINAL_PROFILE, ENVELOPE, FETCH, TERMINAL_RESPONSE = 0x10, 0xC2, 0x12, 0x14


class CatFormatError(ValueError):
    """A proactive command that is not a well-formed 'D0' BER-TLV of COMPREHENSION-TLVs."""


def ctlv(tag: int, value: bytes, cr: bool = True) -> bytes:
    """A COMPREHENSION-TLV with a one-byte tag (TS 102 223 §C / TS 101 220 §7.1.1)."""
    return tlv.tlv(tag | (0x80 if cr else 0), value)


@dataclass(frozen=True)
class ProactiveCommand:
    """A fetched proactive command (TS 102 223 §6.6): details and its other objects by tag."""

    number: int
    type: int
    qualifier: int
    source: int
    destination: int
    objects: dict[int, bytes]
    raw: bytes

    @property
    def details(self) -> bytes:
        return bytes([self.number, self.type, self.qualifier])


def parse_proactive_command(data: bytes) -> ProactiveCommand:
    """Decode 'D0' L {command details, device identities, ...} (TS 102 223 §6.6)."""
    try:
        body = tlv.unwrap(data, 0xD0)
        objects: dict[int, bytes] = {}
        for tag, value in tlv.iter_tlv(body):
            objects.setdefault(tag & 0x7F, value)
    except tlv.TlvError as exc:
        raise CatFormatError(f"bad proactive command {data.hex()}: {exc}") from exc
    details, devices = objects.get(T_COMMAND_DETAILS, b""), objects.get(T_DEVICE_IDENTITIES, b"")
    if len(details) != 3 or len(devices) != 2:
        raise CatFormatError("proactive command without command details / device identities")
    return ProactiveCommand(details[0], details[1], details[2], devices[0], devices[1], objects, data)


def terminal_profile_apdu(profile: bytes) -> bytes:
    """TERMINAL PROFILE '80 10 00 00' (TS 102 221 §11.2.1)."""
    return bytes([0x80, TERMINAL_PROFILE, 0, 0, len(profile)]) + profile


def fetch_apdu(length: int) -> bytes:
    """FETCH '80 12 00 00 Le' (TS 102 221 §11.2.3)."""
    return bytes([0x80, FETCH, 0, 0, length & 0xFF])


def terminal_response_apdu(command: ProactiveCommand, result: int, additional: bytes = b"",
                           objects: bytes = b"") -> bytes:
    """TERMINAL RESPONSE (TS 102 223 §6.8): command details, device identities, result, then the
    command's own objects (channel status, channel data, timer identifier, ...)."""
    data = (ctlv(T_COMMAND_DETAILS, command.details) + ctlv(T_DEVICE_IDENTITIES, bytes([DEV_TERMINAL, DEV_UICC]))
            + ctlv(T_RESULT, bytes([result]) + additional) + objects)
    return bytes([0x80, TERMINAL_RESPONSE, 0, 0, len(data)]) + data


def envelope_apdu(tag: int, objects: bytes) -> bytes:
    """ENVELOPE '80 C2 00 00' with one BER-TLV (TS 102 221 §11.2.2)."""
    data = tlv.tlv(tag, objects)
    if len(data) > 255:
        raise ValueError("ENVELOPE data longer than 255 bytes")
    return bytes([0x80, ENVELOPE, 0, 0, len(data)]) + data


def location_status_event(status: int, location: bytes | None = None) -> bytes:
    """EVENT DOWNLOAD - Location status (TS 102 223 §7.5.4): 'D6' {event list, devices, status, [info]}."""
    objects = (ctlv(T_EVENT_LIST, bytes([EVENT_LOCATION_STATUS])) + ctlv(T_DEVICE_IDENTITIES, bytes([DEV_TERMINAL, DEV_UICC]))
               + ctlv(T_LOCATION_STATUS, bytes([status])))
    if status == NORMAL_SERVICE and location is not None:
        objects += ctlv(T_LOCATION_INFORMATION, location)
    return envelope_apdu(0xD6, objects)


def event_download(event: int, objects: bytes = b"") -> bytes:
    """EVENT DOWNLOAD (TS 102 223 §7.5): 'D6' {event list, devices terminal -> UICC, ...}."""
    return envelope_apdu(EVENT_DOWNLOAD, ctlv(T_EVENT_LIST, bytes([event]))
                         + ctlv(T_DEVICE_IDENTITIES, bytes([DEV_TERMINAL, DEV_UICC])) + objects)


def timer_expiration(timer: int, value: bytes) -> bytes:
    """TIMER EXPIRATION (TS 102 223 §7.4): 'D7' {devices, timer identifier, timer value}."""
    return envelope_apdu(TIMER_EXPIRATION, ctlv(T_DEVICE_IDENTITIES, bytes([DEV_TERMINAL, DEV_UICC]))
                         + ctlv(T_TIMER_ID, bytes([timer])) + ctlv(T_TIMER_VALUE, value))


def timer_seconds(value: bytes) -> int:
    """Timer value (§8.38): hours, minutes, seconds, each two semi-octets with the units digit first."""
    if len(value) != 3:
        raise CatFormatError(f"timer value of {len(value)} bytes")
    digits = [(b & 0x0F) * 10 + (b >> 4) for b in value]
    if any((b & 0x0F) > 9 or (b >> 4) > 9 for b in value):
        raise CatFormatError(f"timer value {value.hex()} is not BCD")
    return digits[0] * 3600 + digits[1] * 60 + digits[2]


def timer_value(seconds: int) -> bytes:
    hours, rest = divmod(max(0, int(seconds)), 3600)
    return bytes(((n % 10) << 4 | n // 10) for n in (min(hours, 99), *divmod(rest, 60)))


def profile_bytes(profile: bytes, clear: dict[int, int]) -> bytes:
    """`profile` with the bits of `clear` (byte number from 1 -> mask) set to 0 (TS 102 223 §5.2)."""
    out = bytearray(profile)
    for byte, mask in clear.items():
        if byte <= len(out):
            out[byte - 1] &= ~mask & 0xFF
    return bytes(out)


# Where the terminal declares each command it carries out (TS 102 223 §5.2: byte, bit from 1)
COMMAND_BITS = {REFRESH: (3, 8), SET_UP_EVENT_LIST: (5, 1), SEND_SHORT_MESSAGE: (4, 2),
                PROVIDE_LOCAL_INFORMATION: (4, 7), TIMER_MANAGEMENT: (8, 1), OPEN_CHANNEL: (12, 1),
                CLOSE_CHANNEL: (12, 2), RECEIVE_DATA: (12, 3), SEND_DATA: (12, 4), GET_CHANNEL_STATUS: (12, 5)}


def declares(profile: bytes, kind: int) -> bool:
    """`profile` declares proactive command `kind`."""
    return has_bit(profile, *COMMAND_BITS.get(kind, (0, 0)))


def has_bit(profile: bytes, byte: int, bit: int) -> bool:
    """Byte `byte`, bit `bit` (both from 1) of a TERMINAL PROFILE is set (TS 102 223 §5.2)."""
    return 0 < byte <= len(profile) and bool(profile[byte - 1] >> (bit - 1) & 1)


# Byte 33 b1: DNS server address request for OPEN CHANNEL related to packet data service bearer
# (TS 102 223 §5.2, as Wireshark's gsm_sim dissector names it); asked by OPEN CHANNEL qualifier b4 (§8.6).
DNS_SERVER_REQUEST = (33, 1)
OPEN_CHANNEL_DNS_REQUEST = 0x08


# TERMINAL PROFILE of the simulated modem (TS 102 223 §5.2): CAT, SMS, events incl. location
# status, data available and channel status (bytes 5-6), timers and date/time (byte 8), BIP class
# "e" (byte 12), 7 channels on packet data (byte 13), TCP/UDP client and TCP server (byte 17),
# DNS server address request for OPEN CHANNEL (byte 33 b1).
MODEM_PROFILE = bytes.fromhex("FFFFFFFF7F1F00DF7F0302" "1F" "E2" "000000" "07" "00000000" + "00" * 11 + "01")
# --no-bip: byte 6 b3-b4 (data available, channel status), byte 12 (BIP commands), byte 13
# (channels and bearers), byte 17 (transport interfaces), byte 33 b1 (DNS server request) cleared.
NO_BIP = {6: 0x0C, 12: 0xFF, 13: 0xFF, 17: 0xFF, 33: 0x01}


def date_time(t) -> bytes:
    """Date, time and time zone (§8.39): YY MM DD hh mm ss TZ as swapped BCD (a struct_time, UTC)."""
    return bytes(((n % 10) << 4 | (n // 10) % 10) for n in
                 (t.tm_year % 100, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0))
