"""Command and response APDUs: ISO/IEC 7816-4 §5.1 / ETSI TS 102 221 §10.

A command APDU is parsed once into an immutable :class:`Command`; every error a command
can end in is a :class:`SwError` carrying the status word that `Card.transmit` returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class SW(IntEnum):
    """Status words used across the card OS (ISO 7816-4 §5.6, TS 102 221 §10.2)."""

    OK = 0x9000
    WARNING_NVM_UNCHANGED = 0x6200
    END_OF_FILE = 0x6282
    SELECTED_FILE_INVALIDATED = 0x6283
    VERIFICATION_FAILED = 0x6300
    MEMORY_PROBLEM = 0x6581
    WRONG_LENGTH = 0x6700
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SM_NOT_SUPPORTED = 0x6882
    COMMAND_CHAINING_NOT_SUPPORTED = 0x6884
    COMMAND_NOT_ALLOWED = 0x6900
    INCOMPATIBLE_FILE_STRUCTURE = 0x6981
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    REFERENCE_DATA_INVALIDATED = 0x6984
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED_NO_EF = 0x6986
    INCORRECT_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    NOT_ENOUGH_MEMORY = 0x6A84
    INCORRECT_P1P2 = 0x6A86
    LC_INCONSISTENT_WITH_P1P2 = 0x6A87
    REFERENCE_DATA_NOT_FOUND = 0x6A88
    FILE_EXISTS = 0x6A89
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    TECHNICAL_PROBLEM = 0x6F00


class SwError(Exception):
    """A command ended with status word `sw` (and optionally response data, e.g. 63Cx)."""

    def __init__(self, sw: int, data: bytes = b"") -> None:
        super().__init__(f"SW {sw:04X}")
        self.sw = sw
        self.data = data


# TS 102 221 §10.1.1: the class byte.  Returns (channel, secure_messaging, chaining).
def decode_cla(cla: int) -> tuple[int, bool, bool]:
    """Decode a CLA byte into (logical channel 0..19, secure messaging, command chaining).

    ISO 7816-4 §5.4.1 / TS 102 221 §10.1.1: first interindustry values ``0X``/``8X``/``AX``
    (b4-b3 SM, b2-b1 channel 0..3); further interindustry values ``4X-7X``/``CX-FX``
    (b6 SM, b4-b1 channel 4..19).  b5 is command chaining.  ``FF`` is invalid (6E00).
    """
    if cla == 0xFF or (cla >> 5) in (0b001, 0b101):  # RFU, and 'A0' (GSM, TS 51.011) class
        raise SwError(SW.CLA_NOT_SUPPORTED)
    if cla & 0x40:  # further interindustry '4X'-'7X', proprietary 'CX'-'FX'
        return 4 + (cla & 0x0F), bool(cla & 0x20), bool(cla & 0x10)
    return cla & 0x03, bool(cla & 0x0C), bool(cla & 0x10)


def encode_cla(base: int, channel: int) -> int:
    """CLA for `channel` with the proprietary bit of `base` (0x00 or 0x80)."""
    if channel < 4:
        return (base & 0x80) | channel
    return (base & 0x80) | 0x40 | (channel - 4)


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command APDU (ISO 7816-4 §5.1).

    ``ne`` is the maximum number of response bytes expected: ``None`` when Le is absent,
    otherwise 1..256 (short) or 1..65536 (extended).  ``case`` is 1..4 as in §5.1.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    ne: int | None
    extended: bool
    case: int
    channel: int
    secure_messaging: bool
    chaining: bool

    @property
    def proprietary(self) -> bool:
        """True for the GlobalPlatform/ETSI proprietary class (b8 of CLA set)."""
        return bool(self.cla & 0x80)

    @property
    def p1p2(self) -> int:
        return (self.p1 << 8) | self.p2

    @classmethod
    def parse(cls, apdu: bytes) -> "Command":
        """Parse cases 1-4, short and extended (ISO 7816-4 §5.1); wrong lengths raise 6700."""
        n = len(apdu)
        if n < 4:
            raise SwError(SW.WRONG_LENGTH)
        cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
        channel, sm, chaining = decode_cla(cla)
        if (ins & 0xF0) in (0x60, 0x90):  # ISO 7816-3 §10.3.2: invalid INS values
            raise SwError(SW.INS_NOT_SUPPORTED)
        if n == 4:
            data, ne, ext, case = b"", None, False, 1
        elif n == 5:
            data, ne, ext, case = b"", apdu[4] or 256, False, 2
        elif apdu[4] != 0:
            lc = apdu[4]
            if n == 5 + lc:
                data, ne, ext, case = apdu[5:], None, False, 3
            elif n == 6 + lc:
                data, ne, ext, case = apdu[5:-1], apdu[-1] or 256, False, 4
            else:
                raise SwError(SW.WRONG_LENGTH)
        elif n < 7:
            raise SwError(SW.WRONG_LENGTH)
        elif n == 7:
            data, ne, ext, case = b"", (apdu[5] << 8 | apdu[6]) or 65536, True, 2
        else:
            lc = apdu[5] << 8 | apdu[6]
            if lc == 0:
                raise SwError(SW.WRONG_LENGTH)
            if n == 7 + lc:
                data, ne, ext, case = apdu[7:], None, True, 3
            elif n == 9 + lc:
                data, ne, ext, case = apdu[7:-2], (apdu[-2] << 8 | apdu[-1]) or 65536, True, 4
            else:
                raise SwError(SW.WRONG_LENGTH)
        return cls(cla, ins, p1, p2, bytes(data), ne, ext, case, channel, sm, chaining)


def check_header(cmd: Command, *, data: bool | None, proprietary: bool = True) -> None:
    """The class ('6E00'), P1-P2 '0000' ('6A86') and presence of command data ('6700') that the
    commands of TS 102 221 §11.1.19 and §11.2 (TERMINAL CAPABILITY, CAT) require."""
    if cmd.proprietary != proprietary:
        raise SwError(SW.CLA_NOT_SUPPORTED)
    if cmd.p1 or cmd.p2:
        raise SwError(SW.INCORRECT_P1P2)
    if data is not None and bool(cmd.data) != data:
        raise SwError(SW.WRONG_LENGTH)


def sw_bytes(sw: int) -> bytes:
    return bytes((sw >> 8, sw & 0xFF))
