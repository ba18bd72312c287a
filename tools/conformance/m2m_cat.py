"""The terminal and SM-SR sides of eUICC-initiated M2M traffic: location status events (ETSI TS
102 223 §7.5.4), FETCH / TERMINAL RESPONSE of the proactive commands the card then asks for
(§6.6, §6.8), and the SGP.02 v4.2 §3.15 notifications carried by SEND SHORT MESSAGE (§6.6.9) as an
SCP80 Command Packet to the ISD-R TAR (TS 102 225 §5.1.1), opened with the card description's key
set and confirmed with ES5.HandleNotificationConfirmation (SGP.02 §4.1.1.12, DGI '3A08').

Written from the specifications (tools/smsr imports the card's TLV codec, so the runner does not
reuse it).  The notification TLV ``E1 {4C EID, 4D type, 4E sequence, [2F|4F ISD-P AID]}`` is the
form SPEC_NOTES §2.8 collects from public SM-SR implementations (the GSMA text is not public).
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tools import ber_tlv as tlv
from tools.conformance.m2m import ISD_R_TAR, keyset, script, sw_of
from tools.conformance.model import Fail
from tools.conformance.session import Proactive, Session
from tools.ota.packet import checksum
from tools.ota.transport import parse_sms_submit

NORMAL_SERVICE, NO_SERVICE = 0x00, 0x02                 # TS 102 223 §8.27
LOCATION_INFORMATION = bytes.fromhex("00F110000100 01")  # §8.19: MCC 001 MNC 01, LAC 0001, cell 0001
REFRESH, SEND_SHORT_MESSAGE = 0x01, 0x13                # TS 102 223 §9.4
IEI_COMMAND_PACKET = 0x70                               # TS 31.115 §4.2
NOTIFICATION_AID_TAGS = (0x2F, 0x4F)                    # SPEC_NOTES §2.8 / §8.4: NJIWA '2F', WHTY '4F'
NOTIF_DECLARATION, NOTIF_PROFILE_CHANGE, NOTIF_ROLLBACK, NOTIF_FALLBACK = 0x01, 0x02, 0x03, 0x05   # SPEC_NOTES §2.8


@dataclass(frozen=True)
class Notification:
    destination: str
    kind: int
    seq: int
    aid: bytes


def location_status(s: Session, status: int) -> list[Proactive]:
    """EVENT DOWNLOAD - Location status (TS 102 223 §7.5.4), then the proactive commands it raised,
    after those fetched since the last look (an ES5 command answered '91xx': :meth:`Session.answered`)."""
    objects = bytes.fromhex("990103") + bytes.fromhex("82028281") + bytes([0x9B, 1, status])
    if status == NORMAL_SERVICE:
        objects += bytes([0x93, len(LOCATION_INFORMATION)]) + LOCATION_INFORMATION
    data = tlv.encode(0xD6, objects)
    s.step(f"ENVELOPE location status {status:02X} (TS 102 223 §7.5.4)")
    response = s.send(bytes([0x80, 0xC2, 0x00, 0x00, len(data)]) + data)
    s.check(response.sw == 0x9000 or response.sw >> 8 == 0x91, f"EVENT DOWNLOAD answered {response.sw:04X}")
    return s.take_proactive() + s.fetch_all(response)


def open_packet(s: Session, packet: bytes) -> bytes:
    """Decipher and verify the card's Command Packet (TS 102 225 §5.1.1-§5.1.3); its secured data."""
    keys = keyset(s)
    s.check(len(packet) >= 16 and int.from_bytes(packet[:2], "big") == len(packet) - 2, "CPL does not match the packet")
    chl, spi, kic, tar = packet[2], packet[3:5], packet[5], packet[7:10]
    s.check(tar == ISD_R_TAR, f"notification to TAR {tar.hex()}, not the ISD-R's")
    s.check(spi[0] & 0x03 == 0x02 and spi[0] & 0x04 and kic >> 4 == keys.kvn,
            f"the notification is not ciphered with a CC under KVN {keys.kvn} (SPI {spi.hex()}, KIc {kic:02X})")
    secured = packet[10:]
    s.check(len(secured) % 16 == 0, "the ciphered part is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(keys.kic), modes.CBC(bytes(16))).decryptor()
    plain = decryptor.update(secured) + decryptor.finalize()
    length, pcntr = chl - 13, plain[5]
    check, padded = plain[6:6 + length], plain[6 + length:]
    expected = checksum(2, keys.kid_algorithm, keys.kid, packet[:10] + plain[:6] + padded, length)
    s.check(hmac.compare_digest(expected, check), "the notification's CC does not verify under the KID")
    s.check(pcntr <= len(padded), "padding counter larger than the data")
    return padded[:len(padded) - pcntr]


def notifications(s: Session, commands: list[Proactive]) -> list[Notification]:
    """The SGP.02 notifications among ``commands`` (SEND SHORT MESSAGE with a Command Packet)."""
    out = []
    for command in (c for c in commands if c.type == SEND_SHORT_MESSAGE):
        try:
            sms = parse_sms_submit(command.objects[0x0B])
        except (KeyError, ValueError, IndexError) as exc:
            raise Fail(f"SEND SHORT MESSAGE without a readable SMS-SUBMIT: {exc}") from None
        s.check(sms.udh[:1] == bytes([IEI_COMMAND_PACKET]), f"SMS without the command packet IE (UDH {sms.udh.hex()})")
        try:
            body = tlv.unwrap(open_packet(s, sms.payload), 0xE1)
            items = dict(tlv.split(body))
        except (tlv.TlvError, ValueError) as exc:
            raise Fail(f"the notification is not an E1 TLV: {exc}") from None
        kind, seq = items.get(0x4D, b""), items.get(0x4E, b"")
        s.check(len(kind) == 1 and len(seq) == 2 and 0x4C in items, f"notification without 4C/4D/4E: {body.hex()}")
        aid = next((items[t] for t in NOTIFICATION_AID_TAGS if t in items), b"")
        out.append(Notification(sms.destination, kind[0], int.from_bytes(seq, "big"), aid))
        s.note(f"notification type {kind[0]:02X} seq {out[-1].seq} ISD-P {aid.hex().upper()} to {sms.destination}")
    return out


def confirm(s: Session, seq: int) -> bytes:
    """ES5.HandleNotificationConfirmation: STORE DATA P1 '89' DGI '3A08' {4E seq} (SGP.02
    §4.1.1.12); the R-APDU (data || SW)."""
    body = bytes.fromhex("3A0804") + tlv.encode(0x4E, seq.to_bytes(2, "big"))
    return script(s, [bytes([0x80, 0xE2, 0x89, 0x00, len(body)]) + body + b"\x00"])[-1]


def confirmed(s: Session, commands: list[Proactive]) -> list[Notification]:
    """The notifications of ``commands``, each confirmed (the SM-SR's part; answer '80' L {4F}*)."""
    found = notifications(s, commands)
    for item in found:
        answer = confirm(s, item.seq)
        s.check(sw_of(answer) == 0x9000 and answer[:1] == b"\x80", f"confirmation of {item.seq} answered {answer.hex()}")
    return found


def attach(s: Session) -> list[Notification]:
    """The terminal reports normal service; the notifications then sent, confirmed."""
    return confirmed(s, location_status(s, NORMAL_SERVICE))
