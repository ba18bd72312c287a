"""The LPA's card link: ES10 over STORE DATA to the ISD-R (GSMA SGP.22 v2.5 §5.7.2), on a
logical channel (ISO/IEC 7816-4 §11.1.2 MANAGE CHANNEL, §5.1.1 CLA coding), T=0 style response
fetching (ETSI TS 102 221 §7.3.1.1.4: ``61xx`` -> GET RESPONSE, ``6Cxx`` -> repeat with Le=xx).

* TERMINAL CAPABILITY first (ETSI TS 102 221 §11.1.19, template ``A9``; SGP.22 §5.7.1: the
  device announces eUICC-related capabilities, tag ``83`` = 07).
* STORE DATA (GlobalPlatform Card Spec §11.11): CLA ``8x``, INS ``E2``, P1 ``11`` for a block
  followed by more / ``91`` for the last block, P2 the block number from 00, blocks of at most
  ``block_size`` (default 120) bytes of the DER request.

The card is reached through a ``transmit`` callable (bytes in, response data + SW out):
:class:`PcscTransmit` (pyscard), or any in-process function such as ``euicc.card.Card.transmit``.
"""
from __future__ import annotations

from collections.abc import Callable

from tools.pcsc_reader import pick_reader

Transmit = Callable[[bytes], bytes]

ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
DEFAULT_READER = "Virtual PCD 00 00"
TERMINAL_CAPABILITY = bytes.fromhex("80AA00000AA9088100820101830107")
BLOCK_SIZE = 120
SW_OK = 0x9000


MANAGE_LSI_SELECT = bytes.fromhex("807C00")
"""MANAGE LSI "select LSI" without its P2 (the LSI): CLA '80', INS '7C', P1 '00' (TS 102 221 V17
§7.5; the coding as public APDU decoders show it, not checked against the clause's text)."""


class CardError(Exception):
    """The card answered a transport-level command with an unexpected status word."""

    def __init__(self, what: str, sw: int) -> None:
        super().__init__(f"{what}: SW {sw:04X}")
        self.sw = sw


def cla_for(channel: int, proprietary: bool) -> int:
    """ISO 7816-4 §5.4.1: channels 0-3 in b2-b1 (first interindustry class), 4-19 as b4-b1 + 4
    with b7 set (further interindustry class); b8 set for a proprietary (GP) command."""
    if channel <= 3:
        return (0x80 if proprietary else 0x00) | channel
    return (0xC0 if proprietary else 0x40) | (channel - 4)


class Es10Transport:
    """ES10 transport to the ISD-R on a logical channel; ``open()`` before use."""

    def __init__(self, transmit: Transmit, *, isd_r_aid: bytes = ISD_R_AID, block_size: int = BLOCK_SIZE,
                 use_logical_channel: bool = True, terminal_capability: bool = True,
                 lsi: int | None = None) -> None:
        if not 1 <= block_size <= 255:
            raise ValueError("STORE DATA block size must be 1..255")
        self.transmit = transmit
        self.isd_r_aid = isd_r_aid
        self.block_size = block_size
        self.use_logical_channel = use_logical_channel
        self.terminal_capability = terminal_capability
        self.lsi = lsi                      # the eSIM port (LSI) to talk on; None: as the card is
        self.channel: int | None = None

    def exchange(self, apdu: bytes) -> tuple[bytes, int]:
        """Send one command; follow ``61xx`` with GET RESPONSE and ``6Cxx`` with a repeat."""
        response = self.transmit(apdu)
        data, sw = response[:-2], int.from_bytes(response[-2:], "big")
        if sw >> 8 == 0x6C:
            response = self.transmit(apdu[:4] + bytes([sw & 0xFF]) if len(apdu) <= 5 else apdu[:-1] + bytes([sw & 0xFF]))
            data, sw = response[:-2], int.from_bytes(response[-2:], "big")
        while sw >> 8 == 0x61:
            cla = apdu[0] & 0x03 if apdu[0] & 0x40 == 0 else 0x40 | (apdu[0] & 0x0F)
            more = self.transmit(bytes([cla, 0xC0, 0x00, 0x00, sw & 0xFF]))
            data += more[:-2]
            sw = int.from_bytes(more[-2:], "big")
        return data, sw

    def open(self) -> None:
        """MANAGE LSI select (when an eSIM port is chosen: ETSI TS 102 221 V17 §7.5, SGP.22 v3
        §2.12), TERMINAL CAPABILITY, MANAGE CHANNEL open, SELECT ISD-R (SGP.22 §5.7.2, §2.2.3)."""
        if self.lsi is not None:
            _, sw = self.exchange(MANAGE_LSI_SELECT + bytes((self.lsi,)))
            if sw != SW_OK:
                raise CardError(f"MANAGE LSI select LSI {self.lsi}", sw)
        if self.terminal_capability:
            _, sw = self.exchange(TERMINAL_CAPABILITY)
            if sw != SW_OK:
                raise CardError("TERMINAL CAPABILITY", sw)
        channel = 0
        if self.use_logical_channel:
            data, sw = self.exchange(bytes.fromhex("0070000001"))
            if sw != SW_OK or len(data) != 1:
                raise CardError("MANAGE CHANNEL open", sw)
            channel = data[0]
        self.channel = channel
        select = bytes([cla_for(channel, False), 0xA4, 0x04, 0x00, len(self.isd_r_aid)]) + self.isd_r_aid + b"\x00"
        _, sw = self.exchange(select)
        if sw != SW_OK:
            self.close()
            raise CardError("SELECT ISD-R", sw)

    def close(self) -> None:
        """MANAGE CHANNEL close of the channel we opened."""
        if self.channel:
            self.exchange(bytes([0x00, 0x70, 0x80, self.channel]))
        self.channel = None

    def store_data(self, request: bytes) -> bytes:
        """One ES10 command: the DER ``request`` in STORE DATA blocks; returns the response data."""
        if self.channel is None:
            self.open()
        blocks = [request[i:i + self.block_size] for i in range(0, len(request), self.block_size)] or [b""]
        if len(blocks) > 256:
            raise ValueError("ES10 request longer than 256 STORE DATA blocks")
        cla = cla_for(self.channel or 0, True)
        for number, block in enumerate(blocks):
            last = number == len(blocks) - 1
            apdu = bytes([cla, 0xE2, 0x91 if last else 0x11, number, len(block)]) + block
            if last:
                apdu += b"\x00"
            data, sw = self.exchange(apdu)
            if sw != SW_OK:
                raise CardError(f"STORE DATA block {number}", sw)
            if not last and data:
                raise CardError(f"STORE DATA block {number} returned data early", sw)
        return data

    def __enter__(self) -> Es10Transport:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class PcscTransmit:
    """A ``transmit`` callable on a PC/SC reader through pyscard, chosen by name or index."""

    def __init__(self, reader: str | int = DEFAULT_READER) -> None:
        chosen = pick_reader(reader)
        self.connection = chosen.createConnection()
        self.connection.connect()

    def __call__(self, apdu: bytes) -> bytes:
        data, sw1, sw2 = self.connection.transmit(list(apdu))
        return bytes(data) + bytes([sw1, sw2])

    def close(self) -> None:
        self.connection.disconnect()
