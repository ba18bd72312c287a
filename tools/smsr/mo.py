"""What the SM-SR receives from the eUICC by SMS: PoRs and notifications (host side).

- SMS-SUBMIT TPDUs (3GPP TS 23.040 §9.2.2.2) sent by the card with SEND SHORT MESSAGE, joined when
  concatenated (TS 23.040 §9.2.3.24.1, IEI '00');
- a user data header IE '71' = Response Packet (PoR, TS 31.115 §6.2), IE '70' = Command Packet
  (TS 31.115 §6.1): the eUICC's notification is an SCP80 command packet to the ISD-R TAR
  secured with the ISD-R keys (SGP.02 §4.1.1.11 / SPEC_NOTES §2.8), whose secured data is the
  'E1' notification TLV: {'4C' EID, '4D' type, '4E' sequence number, ['2F'/'4F' ISD-P AID], ...}.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from euicc import tlv
from tools.ota.packet import AES, DES, OtaKeyset, checksum
from tools.ota.transport import parse_sms_submit
from tools.smsr.settings import DEFAULT, M2mSettings

IEI_CONCAT8, IEI_CONCAT16, IEI_COMMAND, IEI_RESPONSE = 0x00, 0x08, 0x70, 0x71
NOTIFICATION_TYPES = {0x01: "eUICC declaration", 0x02: "profile change succeeded",
                      0x03: "profile change failed and rollback", 0x04: "void",
                      0x05: "profile change after fall-back"}
"""SGP.02 §4.1.1.11 notification types (SPEC_NOTES §2.8)."""


class MoError(ValueError):
    """A mobile-originated message the SM-SR cannot accept (format, checksum)."""


@dataclass(frozen=True)
class MoMessage:
    """One complete (reassembled) SMS-SUBMIT: destination, the UDH IEs and the payload."""

    destination: str
    ies: dict[int, bytes]
    payload: bytes


class MoReassembler:
    """Joins concatenated SMS-SUBMITs (8- and 16-bit references); single SMS pass through."""

    def __init__(self) -> None:
        self._parts: dict[int, dict[int, tuple[dict[int, bytes], bytes]]] = {}

    def add(self, tpdu: bytes) -> MoMessage | None:
        try:
            sms = parse_sms_submit(tpdu)
            ies = _parse_ies(sms.udh)
        except (ValueError, IndexError) as exc:
            raise MoError(f"bad SMS-SUBMIT {tpdu.hex()}: {exc}") from exc
        concat = ies.get(IEI_CONCAT8) or ies.get(IEI_CONCAT16)
        if concat is None:
            return MoMessage(sms.destination, ies, sms.payload)
        ref = int.from_bytes(concat[:-2], "big")
        total, seq = concat[-2], concat[-1]
        parts = self._parts.setdefault(ref, {})
        parts[seq] = (ies, sms.payload)
        if len(parts) < total:
            return None
        del self._parts[ref]
        merged: dict[int, bytes] = {}
        for _, (part_ies, _) in sorted(parts.items()):
            merged.update({k: v for k, v in part_ies.items() if k not in (IEI_CONCAT8, IEI_CONCAT16)})
        return MoMessage(sms.destination, merged, b"".join(p for _, (_, p) in sorted(parts.items())))


def _parse_ies(udh: bytes) -> dict[int, bytes]:
    ies, i = {}, 0
    while i < len(udh):
        if i + 2 > len(udh) or i + 2 + udh[i + 1] > len(udh):
            raise MoError("truncated UDH information element")
        ies[udh[i]] = udh[i + 2:i + 2 + udh[i + 1]]
        i += 2 + udh[i + 1]
    return ies


def _decipher(algorithm: int, key: bytes, data: bytes) -> bytes:
    if algorithm == AES:
        cipher = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))
    else:
        full = key * 3 if algorithm == DES else (key if len(key) == 24 else key + key[:8])
        cipher = Cipher(TripleDES(full), modes.CBC(bytes(8)))
    ctx = cipher.decryptor()
    return ctx.update(data) + ctx.finalize()


@dataclass(frozen=True)
class CommandPacket:
    """A verified, deciphered command packet (TS 102 225 §5.1.1)."""

    spi: bytes
    kic: int
    kid: int
    tar: bytes
    counter: int
    data: bytes


def open_command_packet(keyset: OtaKeyset, packet: bytes, cc_length: int = 8) -> CommandPacket:
    """Decipher and check a command packet sent by the card (TS 102 225 §5.1.1-§5.1.3)."""
    if len(packet) < 16:
        raise MoError("command packet too short")
    cpl, chl = int.from_bytes(packet[:2], "big"), packet[2]
    if cpl != len(packet) - 2 or chl < 13:
        raise MoError("CPL/CHL do not match the packet")
    spi, kic, kid, tar = packet[3:5], packet[5], packet[6], packet[7:10]
    kind, ciphered = spi[0] & 0x03, bool(spi[0] & 0x04)
    secured = packet[10:]
    if ciphered:
        if kic >> 4 != keyset.kvn or len(secured) % (16 if keyset.kic_algorithm == AES else 8):
            raise MoError("packet not ciphered with this key set")
        secured = _decipher(keyset.kic_algorithm, keyset.kic, secured)
    length = chl - 13
    counter, pcntr = int.from_bytes(secured[:5], "big"), secured[5]
    check, padded = secured[6:6 + length], secured[6 + length:]
    if pcntr > len(padded):
        raise MoError("padding counter larger than the data")
    if kind:
        expected = checksum(kind, keyset.kid_algorithm, keyset.kid, packet[:10] + secured[:6] + padded, length)
        if not hmac.compare_digest(expected, check):
            raise MoError("RC/CC of the card's command packet does not verify")
    return CommandPacket(spi, kic, kid, tar, counter, padded[:len(padded) - pcntr])


@dataclass(frozen=True)
class Notification:
    """SGP.02 §4.1.1.11 notification 'E1' content."""

    eid: bytes
    type: int
    sequence: int
    isdp_aid: bytes | None
    raw: bytes

    @property
    def type_name(self) -> str:
        return NOTIFICATION_TYPES.get(self.type, f"{self.type:02X}")


def parse_notification(data: bytes, s: M2mSettings = DEFAULT) -> Notification:
    """Decode the 'E1' TLV (trailing padding tolerated)."""
    try:
        tag, i = tlv.read_tag(data, 0)
        length, i = tlv.read_length(data, i)
        if tag != 0xE1 or i + length > len(data):
            raise MoError(f"not an E1 notification: {data.hex()}")
        items = dict(tlv.iter_tlv(data[i:i + length]))
    except tlv.TlvError as exc:
        raise MoError(f"bad notification TLV: {exc}") from exc
    if 0x4C not in items or len(items.get(0x4D, b"")) != 1 or len(items.get(0x4E, b"")) != 2:
        raise MoError("notification without 4C EID / 4D type / 4E sequence number")
    aid = next((items[t] for t in s.notification_aid_tags if t in items), None)
    return Notification(items[0x4C], items[0x4D][0], int.from_bytes(items[0x4E], "big"), aid, data[:i + length])
