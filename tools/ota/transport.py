"""Host side of the SMS-PP transport, written from the specifications independently of the card:

- SMS-DELIVER TPDUs carrying a Command Packet (3GPP TS 23.040 §9.2.2.1, TS 31.115 §6.1),
  concatenated (TS 23.040 §9.2.3.24.1) when longer than one SMS;
- the SMS-PP data download ENVELOPE APDU (ETSI TS 102 223 §7.1.1);
- SMS-SUBMIT parsing for a PoR sent by the card (TS 23.040 §9.2.2.2);
- remote APDU scripts, compact and expanded (ETSI TS 102 226 §5), and their responses.
"""
from __future__ import annotations

from dataclasses import dataclass

from tools.ber_tlv import read_length

CMD_UDH_IE = bytes.fromhex("7000")  # IEI 70, length 0
MAX_UD = 140


def _semi_octets(digits: str) -> bytes:
    if len(digits) % 2:
        digits += "F"
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def encode_address(digits: str, toa: int = 0x91) -> bytes:
    """TS 23.040 §9.1.2.5 address: digit count, type of address, swapped BCD."""
    return bytes([len(digits), toa]) + _semi_octets(digits)


def _length(n: int) -> bytes:
    """BER definite length, shortest form (ISO/IEC 8825-1 §8.1.3; TS 102 226 §5.2)."""
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


def sms_deliver_tpdus(packet: bytes, originator: str = "12345", reference: int = 0,
                      scts: bytes = bytes.fromhex("52115211000000")) -> list[bytes]:
    """SMS-DELIVER TPDUs (TP-PID 7F, TP-DCS F6, TP-UDHI) carrying one Command Packet.

    A single SMS has UDH '02 70 00'; longer packets are split with an 8-bit-reference
    concatenation IE in every part and the '70 00' IE in the first part only.
    """
    oa = encode_address(originator)

    def tpdu(udh_ies: bytes, chunk: bytes) -> bytes:
        ud = bytes([len(udh_ies)]) + udh_ies + chunk
        return bytes([0x40]) + oa + bytes([0x7F, 0xF6]) + scts + bytes([len(ud)]) + ud

    if 3 + len(packet) <= MAX_UD:
        return [tpdu(CMD_UDH_IE, packet)]
    first_room, room = MAX_UD - 1 - 5 - 2, MAX_UD - 1 - 5
    chunks = [packet[:first_room]]
    chunks += [packet[i:i + room] for i in range(first_room, len(packet), room)]
    result = []
    for seq, chunk in enumerate(chunks, 1):
        concat = bytes([0x00, 0x03, reference, len(chunks), seq])
        result.append(tpdu(concat + (CMD_UDH_IE if seq == 1 else b""), chunk))
    return result


def envelope_apdu(tpdu: bytes, smsc: str | None = "0123") -> bytes:
    """ENVELOPE (SMS-PP DATA DOWNLOAD) '80 C2 00 00 Lc D1 ...', TS 102 223 §7.1.1.1."""
    body = bytes.fromhex("82028381")
    if smsc is not None:
        address = bytes([0x81]) + _semi_octets(smsc)
        body += bytes([0x86]) + _length(len(address)) + address
    body += bytes([0x8B]) + _length(len(tpdu)) + tpdu
    data = bytes([0xD1]) + _length(len(body)) + body
    return bytes([0x80, 0xC2, 0x00, 0x00, len(data)]) + data


@dataclass(frozen=True)
class SmsSubmit:
    """The parts of an SMS-SUBMIT the OTA server needs."""

    destination: str
    pid: int
    dcs: int
    udh: bytes  # the IEs (without UDHL)
    payload: bytes


def parse_sms_submit(tpdu: bytes) -> SmsSubmit:
    """TS 23.040 §9.2.2.2, 8-bit user data; the validity period is skipped per TP-VPF."""
    first = tpdu[0]
    if first & 0x03 != 0x01:
        raise ValueError("not an SMS-SUBMIT")
    count = tpdu[2]
    end = 4 + (count + 1) // 2
    digits = "".join(f"{b & 0xF:x}{b >> 4:x}" for b in tpdu[4:end])[:count]
    pid, dcs = tpdu[end], tpdu[end + 1]
    vpf = (first >> 3) & 0x03
    offset = end + 2 + {0: 0, 2: 1}.get(vpf, 7)
    udl, ud = tpdu[offset], tpdu[offset + 1:]
    if len(ud) != udl:
        raise ValueError("TP-UDL mismatch")
    udh = b""
    if first & 0x40:
        udh, ud = ud[1:1 + ud[0]], ud[1 + ud[0]:]
    return SmsSubmit(digits, pid, dcs, udh, ud)


def compact_script(apdus: list[bytes]) -> bytes:
    """TS 102 226 §5.1.1: the commands concatenated."""
    return b"".join(apdus)


def expanded_script(apdus: list[bytes], indefinite: bool = False) -> bytes:
    """TS 102 226 §5.2.1: 'AA' L {'22' L C-APDU}* or 'AE 80' {...} '00 00'."""
    items = b"".join(bytes([0x22]) + _length(len(a)) + a for a in apdus)
    if indefinite:
        return bytes([0xAE, 0x80]) + items + b"\x00\x00"
    return bytes([0xAA]) + _length(len(items)) + items


@dataclass(frozen=True)
class ScriptResult:
    """Decoded remote response: executed count and R-APDUs (data || SW)."""

    executed: int
    responses: list[bytes]
    bad_format: int | None = None


def decode_compact_response(data: bytes) -> ScriptResult:
    """TS 102 226 §5.1.2: count, SW1 SW2, data of the last command."""
    return ScriptResult(data[0], [data[3:] + data[1:3]])


def decode_expanded_response(data: bytes) -> ScriptResult:
    """TS 102 226 §5.2.2: 'AB' {80 count, 23 R-APDU*, [90 bad format]} or 'AF 80 ... 00 00'."""
    if data[0] == 0xAF:
        if data[1] != 0x80 or data[-2:] != b"\x00\x00":
            raise ValueError("bad indefinite response template")
        body = data[2:-2]
    elif data[0] == 0xAB:
        length, start = read_length(data, 1)
        body = data[start:start + length]
    else:
        raise ValueError("not a response scripting template")
    executed, responses, bad, i = None, [], None, 0
    while i < len(body):
        tag = body[i]
        length, start = read_length(body, i + 1)
        value = body[start:start + length]
        if tag == 0x80:
            executed = value[0]
        elif tag == 0x23:
            responses.append(value)
        elif tag == 0x90:
            bad = value[0]
        i = start + length
    return ScriptResult(len(responses) if executed is None else executed, responses, bad)
