"""CAT_TP transport of secured packets (ETSI TS 102 225 §5.1 / §5.2 with identifiers; TS 102 226
§9 PUSH; TS 102 127 for the link): each CAT_TP SDU is one Command Packet, each answer one
Response Packet, on a link opened over a BIP UDP channel (SGP.02 v4.2: ES5 over CAT_TP).

Unlike SMS, where the UDH IEI '70' / '71' stands in for the identifier and the length is two
bytes (TS 31.115 §4.2), a packet over CAT_TP carries its identifiers and BER-TLV lengths::

    CPI CPL(BER) CHI CHL SPI KIc KID TAR CNTR PCNTR RC/CC/DS secured-data
    RPI RPL(BER) RHI RHL TAR CNTR PCNTR status RC/CC/DS response-data

The identifier values (:data:`CPI`, :data:`CHI`, :data:`RPI`, :data:`RHI`) and which length
form the RC/CC/DS covers could not be read in any source available here (TS 102 225 is not
in the reference set): they are named settings.  The emulator's reading: the identifiers are
not covered and the RC/CC/DS is computed over the packet with its length as the 2-byte
CPL/RPL of the SMS form, so that one SCP80 engine serves both transports (the host side,
tools/ota/packet.py, makes the same choice; a real SM-SR may differ, and this is where to change
it).  The packet is handed to :class:`~euicc.ota.secured_packet.RemoteManagement` exactly as
:mod:`euicc.ota.transport_sms` does; its PoR goes back over the same link whatever SPI byte 2 b6
says (there is no SMS-SUBMIT here).
"""
from __future__ import annotations

from euicc.apdu import SwError
from euicc.cat.bip_port import ChannelRequest
from euicc.cat.catp.endpoint import CatTpEndpoint, CatTpSettings
from euicc.cat.catp.pdu import Reason
from euicc.context import Origin
from euicc.ota.card_access import CardAccess
from euicc.ota.origin import TransportContext
from euicc.ota.secured_packet import RemoteManagement, ResponsePacket
from euicc.tlv import TlvError, encode_length, read_length

CPI = 0x01                  # [U] Command Packet Identifier (TS 102 225 §5.1.1), not read in any source
CHI = 0x00                  # [U] Command Header Identifier
RPI = 0x02                  # [U] Response Packet Identifier (TS 102 225 §5.2)
RHI = 0x00                  # [U] Response Header Identifier
CAT_TP = TransportContext(Origin.OTA_CAT_TP, response_prefix=b"")


class PacketFormatError(ValueError):
    """Identifiers or lengths that do not frame a Command Packet."""


def command_to_sms_form(packet: bytes) -> bytes:
    """CPI CPL(BER) CHI CHL ... -> CPL(2) CHL ... (the form :mod:`euicc.crypto.scp80` parses)."""
    if len(packet) < 3 or packet[0] != CPI:
        raise PacketFormatError("not a Command Packet identifier")
    try:
        cpl, start = read_length(packet, 1)
    except TlvError as error:
        raise PacketFormatError(str(error)) from None
    body = packet[start:]
    if cpl != len(body) or not body or body[0] != CHI:
        raise PacketFormatError("CPL or CHI inconsistent")
    if len(body) - 1 > 0xFFFF:
        raise PacketFormatError("packet longer than a 2-byte CPL")
    return (len(body) - 1).to_bytes(2, "big") + body[1:]


def response_from_sms_form(por: bytes) -> bytes:
    """RPL(2) RHL ... -> RPI RPL(BER) RHI RHL ..."""
    body = bytes([RHI]) + por[2:]
    return bytes([RPI]) + encode_length(len(body)) + body


def channel_request(address: bytes, port: int, settings: CatTpSettings,
                    network_access_name: bytes | None = None) -> ChannelRequest:
    """The BIP UDP channel a CAT_TP link needs (TS 102 223 §6.4.27): its buffer holds one PDU of
    the largest size this side accepts."""
    return ChannelRequest("udp", address, port, settings.max_pdu_size, network_access_name=network_access_name)


class CatTpAdministration:
    """ES5 (and any remote management) over one CAT_TP link: a
    :class:`~euicc.cat.bip_port.ChannelUser` wrapping the link's :class:`CatTpEndpoint`."""

    def __init__(self, remote: RemoteManagement, card: CardAccess, endpoint: CatTpEndpoint) -> None:
        self.remote, self.card, self.endpoint = remote, card, endpoint
        self.endpoint.on_sdu = self._command_packet
        self.refused = 0                  # SDUs that were not a Command Packet

    def connected(self) -> None:
        self.endpoint.connected()

    def received(self, data: bytes) -> None:
        self.endpoint.received(data)

    def outgoing(self) -> bytes:
        return self.endpoint.outgoing()

    def closed(self, reason: str) -> None:
        self.endpoint.closed(reason)

    @property
    def finished(self) -> bool:
        return self.endpoint.finished

    def _command_packet(self, sdu: bytes) -> None:
        """TS 102 225 §5.1: check and run it; its PoR (if any is due) is the next SDU sent back."""
        try:
            packet = command_to_sms_form(sdu)
            response: ResponsePacket = self.card(lambda ctx: self.remote.secured_packet(ctx, packet, CAT_TP))
        except (PacketFormatError, SwError):
            # not a Command Packet, or a script too malformed to run (TS 102 226 §5): as over SMS,
            # where the ENVELOPE gets a status word, nothing is answered and the card access's
            # transaction was rolled back (the counter included)
            self.refused += 1
            return
        if not response.data:
            return
        por = response_from_sms_form(response.data)
        if self.endpoint.peer is not None and len(por) > self.endpoint.peer.max_sdu_size:
            # the SM-SR's SYN announced a maximum SDU the PoR does not fit in
            self.endpoint.abort(Reason.ILLEGAL_PARAMETERS)
            return
        self.endpoint.send(por)
