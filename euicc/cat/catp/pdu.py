"""CAT_TP PDU codec (ETSI TS 102 127, PDU formats).

Every PDU starts with the 18-byte generic header (generic PDU header), all fields big-endian::

    flags|version(1) RFU(2) header length(1) source port(2) destination port(2)
    data length(2) sequence number(2) acknowledgement number(2) window size(2) checksum(2)

Flags (first byte, b8..b3): SYN '80', ACK '40', EAK '20', RST '10', NUL '08', SEG '04';
b2-b1 carry the version ('0').  The variable header part depends on the PDU type:

- SYN and SYN/ACK (SYN PDU, SYN/ACK PDU): maximum PDU size(2), maximum SDU size(2), identification
  length(1), identification data;
- ACK with EAK (EAK PDU): the sequence numbers received out of sequence, 2 bytes each;
- RST (RST PDU): reason code (1).

The checksum (generic PDU header) is the 16-bit one's complement of the one's complement sum of the whole
PDU (header and data) taken as 16-bit words, an odd last byte padded with a zero byte, the
checksum field counted as zero (the RFC 1071 Internet checksum; CAT_TP has no pseudo-header).

:func:`decode` refuses anything malformed with :class:`PduError` carrying the RST reason
code that answers it (RST PDU); it never raises anything else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

HEADER_LENGTH = 18
SYN_FIXED_LENGTH = 5       # max PDU size(2), max SDU size(2), identification length(1)
VERSION = 0                # TS 102 127, generic PDU header: version bits '00'
MAX_IDENTIFICATION = 255 - HEADER_LENGTH - SYN_FIXED_LENGTH


class Flag(IntFlag):
    """Header flags, TS 102 127, generic PDU header."""

    SEG = 0x04
    NUL = 0x08
    RST = 0x10
    EAK = 0x20
    ACK = 0x40
    SYN = 0x80


class Reason(IntEnum):
    """RST reason codes, TS 102 127, RST PDU."""

    NORMAL_ENDING = 0
    ILLEGAL_PARAMETERS = 1
    TEMPORARILY_UNABLE = 2
    PORT_NOT_AVAILABLE = 3
    UNEXPECTED_PDU = 4
    MAX_RETRIES = 5
    VERSION_NOT_SUPPORTED = 6


class PduError(ValueError):
    """A PDU that does not decode; ``reason`` is the RST reason code answering it."""

    def __init__(self, message: str, reason: Reason = Reason.UNEXPECTED_PDU) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class SynOptions:
    """The variable part of a SYN / SYN-ACK PDU (TS 102 127, SYN PDU): sizes the sender can receive."""

    max_pdu_size: int
    max_sdu_size: int
    identification: bytes = b""


@dataclass(frozen=True)
class Pdu:
    """One decoded CAT_TP PDU (TS 102 127, PDU formats)."""

    flags: Flag
    source_port: int
    destination_port: int
    seq: int
    ack: int
    window: int
    data: bytes = b""
    syn: SynOptions | None = None
    eaks: tuple[int, ...] = field(default_factory=tuple)
    reason: Reason | int | None = None

    def has(self, flag: Flag) -> bool:
        return bool(self.flags & flag)


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's complement checksum (TS 102 127, generic PDU header)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def encode(pdu: Pdu) -> bytes:
    """The wire form of ``pdu`` with its checksum (TS 102 127, PDU formats)."""
    variable = b""
    if pdu.has(Flag.SYN):
        if pdu.syn is None:
            raise ValueError("a SYN PDU needs its options")
        options = pdu.syn
        variable = (options.max_pdu_size.to_bytes(2, "big") + options.max_sdu_size.to_bytes(2, "big")
                    + bytes([len(options.identification)]) + options.identification)
    elif pdu.has(Flag.RST):
        variable = bytes([int(pdu.reason or 0)])
    elif pdu.has(Flag.EAK):
        variable = b"".join(n.to_bytes(2, "big") for n in pdu.eaks)
    header_length = HEADER_LENGTH + len(variable)
    if header_length > 0xFF:
        raise ValueError("CAT_TP header longer than 255 bytes")
    head = (bytes([int(pdu.flags) | VERSION, 0, 0, header_length])
            + b"".join(v.to_bytes(2, "big") for v in (pdu.source_port, pdu.destination_port, len(pdu.data),
                                                        pdu.seq, pdu.ack, pdu.window)))
    unsummed = head + b"\x00\x00" + variable + pdu.data
    return head + internet_checksum(unsummed).to_bytes(2, "big") + variable + pdu.data


def _word(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset:offset + 2], "big")


def decode(data: bytes) -> Pdu:
    """Decode and check one PDU (TS 102 127, PDU formats); :class:`PduError` for anything malformed."""
    data = bytes(data)
    if len(data) < HEADER_LENGTH:
        raise PduError("shorter than the CAT_TP header")
    header_length, data_length = data[3], _word(data, 8)
    if header_length < HEADER_LENGTH or header_length + data_length != len(data):
        raise PduError(f"header length {header_length} + data length {data_length} != {len(data)}")
    if internet_checksum(data[:16] + b"\x00\x00" + data[18:]) != _word(data, 16):
        raise PduError("checksum mismatch")
    if data[0] & 0x03 != VERSION:          # only a PDU that arrived intact is worth an RST
        raise PduError(f"version {data[0] & 0x03}", Reason.VERSION_NOT_SUPPORTED)
    flags = Flag(data[0] & 0xFC)
    variable, payload = data[HEADER_LENGTH:header_length], data[header_length:]
    syn, eaks, reason = None, (), None
    if flags & Flag.SYN:
        if flags & (Flag.EAK | Flag.RST | Flag.NUL):       # ACK and SEG are "don't care" with SYN
            raise PduError("SYN with EAK, RST or NUL")
        syn = _syn_options(variable)
        if payload:
            raise PduError("data in a SYN PDU")
    elif flags & Flag.RST:
        if flags & ~(Flag.RST | Flag.ACK) or len(variable) != 1 or payload:
            raise PduError("malformed RST PDU")
        reason = variable[0]
    elif flags & Flag.ACK:
        if flags & Flag.EAK:
            if len(variable) % 2:
                raise PduError("odd EAK list")
            eaks = tuple(_word(variable, i) for i in range(0, len(variable), 2))
        elif variable:
            raise PduError("variable header in an ACK PDU")
        if flags & Flag.NUL and payload:
            raise PduError("data in a NUL PDU")
    else:
        raise PduError(f"flags {int(flags):02X} name no PDU type")
    return Pdu(flags, _word(data, 4), _word(data, 6), _word(data, 10), _word(data, 12), _word(data, 14),
               payload, syn, eaks, reason)


def _syn_options(variable: bytes) -> SynOptions:
    if len(variable) < SYN_FIXED_LENGTH or len(variable) != SYN_FIXED_LENGTH + variable[4]:
        raise PduError("SYN variable header length", Reason.ILLEGAL_PARAMETERS)
    max_pdu, max_sdu = _word(variable, 0), _word(variable, 2)
    if max_pdu <= HEADER_LENGTH or max_sdu == 0:
        raise PduError(f"max PDU size {max_pdu} / max SDU size {max_sdu}", Reason.ILLEGAL_PARAMETERS)
    return SynOptions(max_pdu, max_sdu, variable[5:])
