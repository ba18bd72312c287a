"""SMS TPDUs for OTA: 3GPP TS 23.040 SMS-DELIVER parsing, SMS-SUBMIT building, the User Data
Header (§9.2.3.24) with the TS 31.115 §6 secured-packet IEIs '70'/'71', and reassembly of
concatenated short messages (§9.2.3.24.1 8-bit and §9.2.3.24.8 16-bit reference) in a
bounded buffer.  Malformed input raises :class:`OtaFormatError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from euicc.ota.errors import OtaFormatError

IEI_CONCAT_8 = 0x00  # TS 23.040 §9.2.3.24.1
IEI_CONCAT_16 = 0x08  # TS 23.040 §9.2.3.24.8
IEI_COMMAND_PACKET = 0x70  # TS 31.115 §6.1 (CPI)
IEI_RESPONSE_PACKET = 0x71  # TS 31.115 §6.2 (RPI)
PID_SIM_DATA_DOWNLOAD = 0x7F  # TS 23.040 §9.2.3.9: (U)SIM data download
DCS_CLASS2_8BIT = 0xF6  # TS 23.038 §4: data coding / message class, 8-bit, class 2
MAX_USER_DATA = 140  # octets, TS 23.040 §9.2.3.16


class Alphabet(IntEnum):
    """TS 23.038 §4 character sets."""

    GSM7 = 0
    EIGHT_BIT = 1
    UCS2 = 2


def dcs_alphabet(dcs: int) -> Alphabet:
    """Alphabet of a TP-DCS (TS 23.038 §4); reserved codings count as GSM 7-bit, as §4 says."""
    group = dcs >> 4
    if group < 0x8:
        code = (dcs >> 2) & 0x03
        return Alphabet(code) if code < 3 else Alphabet.GSM7
    if group == 0xE:
        return Alphabet.UCS2
    if group == 0xF:
        return Alphabet.EIGHT_BIT if dcs & 0x04 else Alphabet.GSM7
    return Alphabet.GSM7


def dcs_class(dcs: int) -> int | None:
    """Message class 0-3 of a TP-DCS, or None when the coding group carries none (TS 23.038 §4)."""
    group = dcs >> 4
    if (group < 0x8 and dcs & 0x10) or group == 0xF:
        return dcs & 0x03
    return None


@dataclass(frozen=True, slots=True)
class Address:
    """TP-OA / TP-DA: type of address and semi-octet digits, TS 23.040 §9.1.2.5."""

    type_of_address: int
    digits: str

    def encode(self) -> bytes:
        """Address-Length (number of useful semi-octets), TOA, swapped BCD with 'F' filler."""
        semi = self.digits + ("F" if len(self.digits) % 2 else "")
        swapped = bytes(int(semi[i + 1] + semi[i], 16) for i in range(0, len(semi), 2))
        return bytes([len(self.digits), self.type_of_address]) + swapped

    @classmethod
    def decode(cls, data: bytes, offset: int) -> tuple["Address", int]:
        """Read an address at ``offset``; return it and the offset after it."""
        if offset + 2 > len(data):
            raise OtaFormatError("address truncated")
        count, toa = data[offset], data[offset + 1]
        end = offset + 2 + (count + 1) // 2
        if count > 20 or end > len(data):
            raise OtaFormatError("address length invalid")
        nibbles = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in data[offset + 2:end])
        return cls(toa, nibbles[:count]), end


@dataclass(frozen=True, slots=True)
class InformationElement:
    """One UDH information element, TS 23.040 §9.2.3.24."""

    iei: int
    data: bytes = b""


def parse_user_data_header(user_data: bytes) -> tuple[tuple[InformationElement, ...], bytes]:
    """Split TP-UD into its header IEs and the rest (TS 23.040 §9.2.3.24)."""
    if not user_data:
        raise OtaFormatError("UDHI set but no user data")
    udhl = user_data[0]
    if 1 + udhl > len(user_data):
        raise OtaFormatError("UDHL beyond the user data")
    header, offset, ies = user_data[1:1 + udhl], 0, []
    while offset < len(header):
        if offset + 2 > len(header) or offset + 2 + header[offset + 1] > len(header):
            raise OtaFormatError("information element overruns the UDH")
        length = header[offset + 1]
        ies.append(InformationElement(header[offset], bytes(header[offset + 2:offset + 2 + length])))
        offset += 2 + length
    return tuple(ies), bytes(user_data[1 + udhl:])


def build_user_data_header(ies: tuple[InformationElement, ...]) -> bytes:
    """UDHL followed by the IEs (TS 23.040 §9.2.3.24)."""
    body = b"".join(bytes([ie.iei, len(ie.data)]) + ie.data for ie in ies)
    return bytes([len(body)]) + body


@dataclass(frozen=True, slots=True)
class Concatenation:
    """Concatenated short message IE, TS 23.040 §9.2.3.24.1 / §9.2.3.24.8."""

    reference: int
    total: int
    sequence: int
    wide: bool = False  # 16-bit reference (IEI '08')

    @classmethod
    def find(cls, ies: tuple[InformationElement, ...]) -> "Concatenation | None":
        found = [ie for ie in ies if ie.iei in (IEI_CONCAT_8, IEI_CONCAT_16)]
        if not found:
            return None
        if len(found) > 1:
            raise OtaFormatError("more than one concatenation IE")
        ie = found[0]
        wide = ie.iei == IEI_CONCAT_16
        if len(ie.data) != (4 if wide else 3):
            raise OtaFormatError("concatenation IE of wrong length")
        ref = int.from_bytes(ie.data[:-2], "big")
        total, seq = ie.data[-2], ie.data[-1]
        if total == 0 or not 1 <= seq <= total:
            raise OtaFormatError("concatenation sequence number out of range")
        return cls(ref, total, seq, wide)

    def element(self) -> InformationElement:
        ref = self.reference.to_bytes(2 if self.wide else 1, "big")
        return InformationElement(IEI_CONCAT_16 if self.wide else IEI_CONCAT_8,
                                  ref + bytes([self.total, self.sequence]))


@dataclass(frozen=True, slots=True)
class SmsDeliver:
    """An SMS-DELIVER TPDU, TS 23.040 §9.2.2.1.

    ``user_data`` is TP-UD as received; with TP-UDHI set, ``header`` holds its IEs and
    ``payload`` the octets after the UDH (for GSM 7-bit data these stay packed septets).
    """

    first_octet: int
    originator: Address
    pid: int
    dcs: int
    scts: bytes
    udl: int
    user_data: bytes
    header: tuple[InformationElement, ...]
    payload: bytes

    @property
    def udhi(self) -> bool:
        return bool(self.first_octet & 0x40)

    @classmethod
    def parse(cls, tpdu: bytes) -> "SmsDeliver":
        """Parse with strict lengths: TP-UD must be exactly what TP-UDL announces."""
        if not tpdu or tpdu[0] & 0x03 != 0x00:
            raise OtaFormatError("not an SMS-DELIVER")
        originator, offset = Address.decode(tpdu, 1)
        if offset + 10 > len(tpdu):
            raise OtaFormatError("SMS-DELIVER truncated")
        pid, dcs, scts, udl = tpdu[offset], tpdu[offset + 1], bytes(tpdu[offset + 2:offset + 9]), tpdu[offset + 9]
        octets = (udl * 7 + 7) // 8 if dcs_alphabet(dcs) == Alphabet.GSM7 else udl
        user_data = bytes(tpdu[offset + 10:])
        if octets > MAX_USER_DATA or len(user_data) != octets:
            raise OtaFormatError(f"TP-UDL {udl} does not match {len(user_data)} octets of user data")
        header: tuple[InformationElement, ...] = ()
        payload = user_data
        if tpdu[0] & 0x40:
            header, payload = parse_user_data_header(user_data)
        return cls(tpdu[0], originator, pid, dcs, scts, udl, user_data, header, payload)


@dataclass(frozen=True, slots=True)
class UserData:
    """A complete (possibly reassembled) message: first segment's IEs without the
    concatenation IE, and the payload octets."""

    header: tuple[InformationElement, ...]
    payload: bytes

    def element(self, iei: int) -> InformationElement | None:
        return next((ie for ie in self.header if ie.iei == iei), None)


@dataclass
class Reassembler:
    """Bounded reassembly buffer for concatenated short messages (TS 23.040 §9.2.3.24.1).

    Messages are keyed by (originator, reference, total); at most ``max_messages`` are kept
    pending (the oldest is dropped) and a message may have at most ``max_segments`` parts.
    """

    max_messages: int = 4
    max_segments: int = 16
    _pending: dict[tuple[str, int, bool, int], dict[int, SmsDeliver]] = field(default_factory=dict)

    def add(self, sms: SmsDeliver) -> UserData | None:
        """Add one SMS-DELIVER; return the complete message once all parts are present."""
        concat = Concatenation.find(sms.header)
        if concat is None:
            return UserData(sms.header, sms.payload)
        if concat.total > self.max_segments:
            raise OtaFormatError(f"{concat.total} segments exceed the buffer")
        key = (sms.originator.digits, concat.reference, concat.wide, concat.total)
        parts = self._pending.pop(key, {})
        parts[concat.sequence] = sms
        if len(parts) < concat.total:
            self._pending[key] = parts
            while len(self._pending) > self.max_messages:
                del self._pending[next(iter(self._pending))]
            return None
        first = parts[1]
        ies = tuple(ie for ie in first.header if ie.iei not in (IEI_CONCAT_8, IEI_CONCAT_16))
        return UserData(ies, b"".join(parts[i].payload for i in range(1, concat.total + 1)))

    @property
    def pending(self) -> int:
        return len(self._pending)


def segment_user_data(header: tuple[InformationElement, ...], payload: bytes,
                      reference: int) -> list[tuple[tuple[InformationElement, ...], bytes]]:
    """Split 8-bit user data into concatenated segments (TS 23.040 §9.2.3.24.1).

    ``header`` goes into the first segment only (TS 31.115 §6); a single SMS is returned
    unchanged when it fits into 140 octets.
    """
    if len(build_user_data_header(header) if header else b"") + len(payload) <= MAX_USER_DATA:
        return [(header, payload)]
    room = MAX_USER_DATA - 1 - 5  # UDHL + concatenation IE (8-bit reference)
    first_room = room - len(build_user_data_header(header)) + 1
    if first_room <= 0:
        raise OtaFormatError("user data header too long to segment")
    chunks = [payload[:first_room]] + [payload[i:i + room] for i in range(first_room, len(payload), room)]
    if len(chunks) > 255:
        raise OtaFormatError("user data too long for concatenation")
    result = []
    for number, chunk in enumerate(chunks, start=1):
        concat = Concatenation(reference & 0xFF, len(chunks), number).element()
        result.append(((concat, *header) if number == 1 else (concat,), chunk))
    return result


def build_sms_submit(destination: Address, payload: bytes, header: tuple[InformationElement, ...] = (),
                     message_reference: int = 0, pid: int = PID_SIM_DATA_DOWNLOAD,
                     dcs: int = DCS_CLASS2_8BIT) -> bytes:
    """One SMS-SUBMIT TPDU, TS 23.040 §9.2.2.2, 8-bit data, no validity period (TP-VPF 00)."""
    user_data = (build_user_data_header(header) if header else b"") + payload
    if len(user_data) > MAX_USER_DATA:
        raise OtaFormatError("user data longer than one SMS")
    first = 0x01 | (0x40 if header else 0)
    return (bytes([first, message_reference & 0xFF]) + destination.encode()
            + bytes([pid, dcs, len(user_data)]) + user_data)
