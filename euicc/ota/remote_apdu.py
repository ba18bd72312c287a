"""Remote APDU formats, ETSI TS 102 226 §5: secured data of an SCP80 packet -> C-APDUs, and
the matching response data.

- Compact format (§5.1): concatenated C-APDUs in T=0 TPDU form (CLA INS P1 P2 P3 [data]);
  the response is number of executed commands || last SW1 SW2 || last response data (§5.1.2).
- Expanded format (§5.2): Command Scripting template 'AA' (definite length) or 'AE 80 ... 00 00'
  (indefinite) with C-APDU TLVs '22', Immediate Action '81', Error Action '82' and Script
  Chaining '83'; the response is the Response Scripting template 'AB' {'80' executed count,
  '23' R-APDUs, ['90' bad format]} or 'AF 80 {'23' ...} 00 00' (table 5.10a: no count TLV).

Parsing is bounded by ``max_commands``; the caller executes the C-APDUs and stops at the
first status word for which :func:`stops_script` is true.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Callable

from euicc.ota.errors import OtaFormatError
from euicc.tlv import TlvError, encode_length, read_length, tlv

TAG_COMMAND_SCRIPT = 0xAA
TAG_COMMAND_SCRIPT_INDEFINITE = 0xAE
TAG_RESPONSE_SCRIPT = 0xAB
TAG_RESPONSE_SCRIPT_INDEFINITE = 0xAF
TAG_C_APDU = 0x22
TAG_IMMEDIATE_ACTION = 0x81
TAG_ERROR_ACTION = 0x82
TAG_SCRIPT_CHAINING = 0x83
TAG_R_APDU = 0x23
TAG_EXECUTED = 0x80
TAG_BAD_FORMAT = 0x90
END_OF_CONTENTS = b"\x00\x00"
MAX_COMMANDS = 64


class BadFormat(IntEnum):
    """Bad format TLV '90' error types, TS 102 226 §5.2.2 (table 5.12)."""

    UNKNOWN_TAG = 0x01
    WRONG_LENGTH = 0x02
    LENGTH_NOT_FOUND = 0x03


def is_outgoing(header: bytes) -> bool:
    """Whether P3 of a compact-format command is Le (case 2) rather than Lc [R].

    TPDU headers do not say which; this default knows the outgoing commands of TS 102 221
    §10/§11 (READ BINARY, READ RECORD, GET RESPONSE, STATUS with P1 '00'-'02', GET
    CHALLENGE) and GET DATA.  GlobalPlatform GET STATUS (INS 'F2', P1 >= '10') is incoming.
    """
    ins, p1 = header[1], header[2]
    return ins in (0xB0, 0xB2, 0xC0, 0xCA, 0x84) or (ins == 0xF2 and p1 < 0x10)


def parse_compact(data: bytes, outgoing: Callable[[bytes], bool] = is_outgoing,
                  max_commands: int = MAX_COMMANDS) -> list[bytes]:
    """Split a compact command script into C-APDUs (§5.1.1).

    Incoming commands with P3 = 0 become 4-byte case-1 APDUs so that they are not read as
    Le = 256; outgoing ones keep P3 as Le.  A truncated script raises before anything runs.
    """
    commands, offset = [], 0
    while offset < len(data):
        if len(commands) == max_commands:
            raise OtaFormatError("too many commands in the script")
        header = data[offset:offset + 5]
        if len(header) < 5:
            raise OtaFormatError("truncated command header")
        if outgoing(header):
            commands.append(bytes(header))
            offset += 5
            continue
        lc = header[4]
        if offset + 5 + lc > len(data):
            raise OtaFormatError("command data shorter than P3")
        commands.append(bytes(data[offset:offset + 5 + lc]) if lc else bytes(header[:4]))
        offset += 5 + lc
    if not commands:
        raise OtaFormatError("empty script")
    return commands


def compact_response(executed: int, last_response: bytes) -> bytes:
    """§5.1.2: executed count || SW1 SW2 of the last command || its response data."""
    if len(last_response) < 2 or not 0 <= executed <= 255:
        raise ValueError("last response needs SW1 SW2 and the count fits one byte")
    return bytes([executed]) + last_response[-2:] + last_response[:-2]


@dataclass(frozen=True, slots=True)
class ScriptItem:
    """One TLV of a Command Scripting template (§5.2.1)."""

    tag: int
    value: bytes


@dataclass(frozen=True, slots=True)
class ExpandedScript:
    """A parsed Command Scripting template.

    ``items`` are the TLVs before the first format error; ``bad_format`` is that error
    (the caller runs the items, then reports it in the response, §5.2.2).
    """

    items: tuple[ScriptItem, ...]
    indefinite: bool
    bad_format: BadFormat | None = None

    @property
    def commands(self) -> list[bytes]:
        return [item.value for item in self.items if item.tag == TAG_C_APDU]


_KNOWN_TAGS = frozenset({TAG_C_APDU, TAG_IMMEDIATE_ACTION, TAG_ERROR_ACTION, TAG_SCRIPT_CHAINING})


def is_expanded(data: bytes) -> bool:
    return bool(data) and data[0] in (TAG_COMMAND_SCRIPT, TAG_COMMAND_SCRIPT_INDEFINITE)


def parse_expanded(data: bytes, extra_tags: frozenset[int] = frozenset(),
                   max_commands: int = MAX_COMMANDS) -> ExpandedScript:
    """Parse a Command Scripting template (§5.2.1, TS 101 220 §7.1.1 lengths).

    ``extra_tags`` admits further item tags (e.g. SCP03t '84'/'85'/'86' for an ISD-P).
    Only input that is no Command Scripting template at all raises.
    """
    if not is_expanded(data):
        raise OtaFormatError("not a Command Scripting template")
    indefinite = data[0] == TAG_COMMAND_SCRIPT_INDEFINITE
    if indefinite:
        if data[1:2] != b"\x80":
            return ExpandedScript((), True, BadFormat.WRONG_LENGTH)
        body, end = data[2:], None
    else:
        length = _length(data, 1)
        if length is None:
            return ExpandedScript((), False, BadFormat.LENGTH_NOT_FOUND)
        value_length, start = length
        if start + value_length != len(data):
            return ExpandedScript((), False, BadFormat.WRONG_LENGTH)
        body, end = data[start:], len(data) - start
    items: list[ScriptItem] = []
    offset = 0
    while True:
        if indefinite and body[offset:offset + 2] == END_OF_CONTENTS:
            bad = None if offset + 2 == len(body) else BadFormat.WRONG_LENGTH
            return ExpandedScript(tuple(items), True, bad)
        if offset == end:
            return ExpandedScript(tuple(items), False)
        if offset >= len(body):
            return ExpandedScript(tuple(items), indefinite, BadFormat.LENGTH_NOT_FOUND)
        tag = body[offset]
        if tag not in _KNOWN_TAGS and tag not in extra_tags:
            return ExpandedScript(tuple(items), indefinite, BadFormat.UNKNOWN_TAG)
        length = _length(body, offset + 1)
        if length is None:
            return ExpandedScript(tuple(items), indefinite, BadFormat.LENGTH_NOT_FOUND)
        value_length, start = length
        if start + value_length > len(body):
            return ExpandedScript(tuple(items), indefinite, BadFormat.WRONG_LENGTH)
        if len(items) == max_commands:
            raise OtaFormatError("too many items in the script")
        items.append(ScriptItem(tag, bytes(body[start:start + value_length])))
        offset = start + value_length


def _length(data: bytes, offset: int) -> tuple[int, int] | None:
    """A definite BER length at ``offset``, or None when absent or invalid."""
    try:
        return read_length(data, offset, der=True)
    except TlvError:
        return None


def expanded_response(responses: list[bytes], indefinite: bool = False,
                      bad_format: BadFormat | None = None) -> bytes:
    """Response Scripting template (§5.2.2) with one R-APDU TLV (data || SW) per executed
    command; the definite form starts with the executed-count TLV '80'."""
    return response_script([tlv(TAG_R_APDU, r) for r in responses], len(responses), indefinite, bad_format)


def response_script(items: list[bytes], executed: int, indefinite: bool = False,
                    bad_format: BadFormat | None = None) -> bytes:
    """Response Scripting template (§5.2.2, table 5.10/5.10a) around response TLVs ``items``
    (R-APDUs '23' or the responses of extra items): 'AB' {'80' executed (mod 256), items,
    ['90' bad format]} or 'AF 80' {items, ['90']} '00 00'."""
    body = b"".join(items)
    if bad_format is not None:
        body += tlv(TAG_BAD_FORMAT, bytes([bad_format]))
    if indefinite:
        return bytes([TAG_RESPONSE_SCRIPT_INDEFINITE, 0x80]) + body + END_OF_CONTENTS
    body = tlv(TAG_EXECUTED, bytes([executed & 0xFF])) + body
    return bytes([TAG_RESPONSE_SCRIPT]) + encode_length(len(body)) + body


def stops_script(sw: int) -> bool:
    """Whether a status word ends script execution [R: TS 102 226 §5.1.1 / §5.2.1].

    Normal processing ('9000', '91xx', '61xx', '9Fxx') and warnings ('62xx', '63xx')
    continue, except '62F1' (response data truncated), which §5.2.1.1 says terminates
    the script; everything else is an error that stops it.
    """
    return sw == 0x62F1 or (sw >> 8) not in (0x90, 0x91, 0x61, 0x9F, 0x62, 0x63) or \
        ((sw >> 8) == 0x90 and sw != 0x9000)
