"""The test SM-SR's ES5 over CAT_TP (SGP.02 v4.2): SCP80 Command Packets with identifiers (ETSI TS
102 225 §5.1, built by tools/ota/packet.py) as SDUs of a CAT_TP link (tools/ota/cat_tp.py), one
Response Packet back per packet.  Host code only; nothing of the card is imported.
"""
from __future__ import annotations

from dataclasses import dataclass

from tools.ota import packet as ota
from tools.ota.cat_tp import HostCatTp
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
