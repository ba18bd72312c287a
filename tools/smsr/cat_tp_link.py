"""The test SM-SR's ES5 over CAT_TP (SGP.02 v4.2): SCP80 Command Packets with identifiers (ETSI TS
102 225 §5.1, built by tools/ota/packet.py) as SDUs of a CAT_TP link (tools/ota/cat_tp.py), one
Response Packet back per packet.  Host code only; nothing of the card is imported.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

from tools.ota import packet as ota
from tools.ota.cat_tp import HostCatTp
from tools.smsr.smsr import command_script
from tools.ota.transport import ScriptResult, decode_expanded_response, expanded_script

ISDR_TAR = bytes.fromhex("000001")          # SGP.02 Annex H
SPI = bytes.fromhex("1619")                 # CC, ciphered, counter higher; PoR always, CC, ciphered


@dataclass
class CatTpOta:
    """One SM-SR key set and counter talking ES5 over an open CAT_TP link."""

    link: HostCatTp
    keyset: ota.OtaKeyset
    counter: int = 1
    spi: bytes = SPI

    def exchange(self, script: bytes, tar: bytes = ISDR_TAR, counter: int | None = None) -> ota.ResponsePacket:
        """Send one secured packet carrying ``script`` and decode its PoR (TS 102 225 §5.2)."""
        counter = self.counter if counter is None else counter
        self.counter = counter + 1
        command = ota.build_command_packet(self.keyset, self.spi, tar, script, counter=counter)
        self.link.send_sdu(ota.to_identified_command(command))
        response = ota.from_identified_response(self.link.recv_sdu())
        return ota.decode_response_packet(self.keyset, self.spi, response, prefix=b"")

    def run(self, apdus: list[bytes], tar: bytes = ISDR_TAR) -> ScriptResult:
        """An expanded script (TS 102 226 §5.2) of ``apdus``; raises ValueError on a PoR error."""
        por = self.exchange(expanded_script(apdus), tar)
        if por.status != 0x00 or por.checksum_valid is False:
            raise ValueError(f"PoR status {por.status:02X}, checksum valid: {por.checksum_valid}")
        return decode_expanded_response(por.data)


# TS 102 226 §9 PUSH (SPEC_NOTES §3.4, after NJIWA BipCatTP), written here from those codings
PUSH_BIP_CHANNEL = bytes.fromhex("80EC0101")        # request for BIP channel opening
PUSH_CAT_TP_LINK = bytes.fromhex("80EC0102")        # request for CAT_TP link establishment


def push_apdus(address: str, udp_port: int, cat_tp_port: int, buffer_size: int = 1400,
               identification: bytes = b"") -> list[bytes]:
    """The two PUSH commands asking the card for a CAT_TP link to ``cat_tp_port`` over a UDP
    channel to ``address``:``udp_port``: OPEN CHANNEL objects (TS 102 223 §8.52 default bearer
    '35 01 03', §8.55 buffer '39', §8.59 '3C 03 01 <port>' UDP client, §8.58 '3E 05 21 <IPv4>'),
    then '3C 03 00 <CAT_TP port>' and '36' identification data."""
    objects = (bytes.fromhex("350103") + b"\x39\x02" + buffer_size.to_bytes(2, "big")
               + b"\x3C\x03\x01" + udp_port.to_bytes(2, "big") + b"\x3E\x05\x21" + socket.inet_aton(address))
    link = b"\x3C\x03\x00" + cat_tp_port.to_bytes(2, "big")
    if identification:
        link += b"\x36" + bytes((len(identification),)) + identification
    return [PUSH_BIP_CHANNEL + bytes((len(objects),)) + objects, PUSH_CAT_TP_LINK + bytes((len(link),)) + link]


@dataclass
class CatTpScripts:
    """A :class:`tools.smsr.smsr.ScriptTransport` over an open CAT_TP link: the SM-SR's ES5
    functions run as over SMS, with the SM-SR's own counters (``next_counter``)."""

    link: HostCatTp
    keyset: ota.OtaKeyset
    next_counter: Callable[[], int]

    def run_script(self, tar: bytes, items: list[bytes], chaining: int | None) -> bytes:
        script = command_script(items, chaining)
        por = CatTpOta(self.link, self.keyset).exchange(script, tar, self.next_counter())
        if por.status != 0x00 or por.checksum_valid is False:
            raise ValueError(f"PoR status {por.status:02X}, checksum valid: {por.checksum_valid}")
        return por.data
