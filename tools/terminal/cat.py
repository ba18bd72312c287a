"""Terminal-side codecs of the Card Application Toolkit, ETSI TS 102 223 (and TS 102 221 §10/§11.2).

Written from the specification for the terminal simulator; independent of the card's CAT engine.
"""
from __future__ import annotations

from dataclasses import dataclass

from euicc import tlv

# TS 102 223 §9.4 type of command
REFRESH, SET_UP_EVENT_LIST, SEND_SHORT_MESSAGE = 0x01, 0x05, 0x13
# TS 102 223 §9.3 COMPREHENSION-TLV tags (without the CR bit)
T_COMMAND_DETAILS, T_DEVICE_IDENTITIES, T_RESULT, T_ALPHA, T_ADDRESS = 0x01, 0x02, 0x03, 0x05, 0x06
T_SMS_TPDU, T_LOCATION_INFORMATION, T_EVENT_LIST, T_LOCATION_STATUS = 0x0B, 0x13, 0x19, 0x1B
# TS 102 223 §8.7 device identities
DEV_UICC, DEV_TERMINAL, DEV_NETWORK = 0x81, 0x82, 0x83
# TS 102 223 §8.12 general results
RESULT_OK, RESULT_TERMINAL_UNABLE, RESULT_NETWORK_UNABLE, RESULT_BEYOND_CAPABILITIES = 0x00, 0x20, 0x21, 0x30
# TS 102 223 §8.25 event list: location status; §8.27 location status values
EVENT_LOCATION_STATUS = 0x03
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


def terminal_response_apdu(command: ProactiveCommand, result: int, additional: bytes = b"") -> bytes:
    """TERMINAL RESPONSE (TS 102 223 §6.8): command details, device identities, result."""
    data = (ctlv(T_COMMAND_DETAILS, command.details) + ctlv(T_DEVICE_IDENTITIES, bytes([DEV_TERMINAL, DEV_UICC]))
            + ctlv(T_RESULT, bytes([result]) + additional))
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
