"""Fuzz target for ES10 (GSMA SGP.22 v2.5 §5.7): DER requests sent as STORE DATA to the ISD-R
on a logical channel (§5.7.2; GP Card Spec v2.3.1 §11.11), through ``Card.transmit`` only.

Input: a chunk sequence (``card_targets.split_chunks``).  Each chunk is one ES10 request: its
first byte chooses the STORE DATA block size (0 = 120, lpac's), the rest is the DER request, cut
into blocks P1 '11' ... '91', P2 counting from '00'.  Before each input the card is warm-reset,
a logical channel is opened and the ISD-R selected on it; a fresh card replaces the old one every
``fresh_every`` inputs, so a download sequence seeded from real traffic goes as deep as its
signatures allow.

Checked beyond tools.fuzz.invariants (every response):

* an intermediate block is answered '9000' without data, or an error that ends the request;
* a final block answered '9000' with data carries exactly one BER-TLV (SGP.22 §5.7.2: the
  response is one DER-encoded response data object), re-assembled over GET RESPONSE.
"""
from __future__ import annotations

from euicc import tlv
from tools.fuzz.card_targets import CardDriver, split_chunks
from tools.fuzz.invariants import InvariantViolation

ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
DEFAULT_BLOCK = 120
MAX_REQUESTS = 48


def cla(channel: int, proprietary: bool) -> int:
    """ISO/IEC 7816-4 §5.4.1: channels 1-3 in b2-b1, 4-19 in the further interindustry coding."""
    if channel < 4:
        return (0x80 if proprietary else 0x00) | channel
    return (0xC0 if proprietary else 0x40) | (channel - 4)


class Es10Target:
    """ES10 request sequences to the ISD-R on a logical channel."""

    def __init__(self, fresh_every: int = 64) -> None:
        self.driver = CardDriver(fresh_every)
        self.channel = 0

    def exchange(self, apdu: bytes) -> tuple[bytes, int]:
        response = self.driver.transmit(apdu)
        data, sw = response[:-2], int.from_bytes(response[-2:], "big")
        for _ in range(512):
            if sw >> 8 != 0x61:
                return data, sw
            more = self.driver.transmit(bytes([cla(self.channel, False), 0xC0, 0, 0, sw & 0xFF]))
            data, sw = data + more[:-2], int.from_bytes(more[-2:], "big")
        raise InvariantViolation(f"{apdu[:5].hex()}: endless 61xx")

    def open(self) -> None:
        """MANAGE CHANNEL open (TS 102 221 §11.1.17) and SELECT ISD-R on it."""
        self.driver.card.reset()
        data, sw = self.exchange(bytes.fromhex("0070000001"))
        if sw != 0x9000 or len(data) != 1:
            raise InvariantViolation(f"MANAGE CHANNEL open answered {data.hex()} {sw:04X}")
        self.channel = data[0]
        _, sw = self.exchange(bytes([cla(self.channel, False), 0xA4, 0x04, 0x00, len(ISD_R_AID)]) + ISD_R_AID)
        if sw != 0x9000:
            raise InvariantViolation(f"SELECT ISD-R answered {sw:04X}")

    def request(self, chunk: bytes) -> None:
        size, der = chunk[0] or DEFAULT_BLOCK, chunk[1:]
        blocks = [der[i:i + size] for i in range(0, len(der), size)][:256] or [b""]
        for number, block in enumerate(blocks):
            last = number == len(blocks) - 1
            apdu = bytes([cla(self.channel, True), 0xE2, 0x91 if last else 0x11, number, len(block)]) + block
            data, sw = self.exchange(apdu)
            if not last:
                if sw == 0x9000 and data:
                    raise InvariantViolation(f"STORE DATA block {number} returned data early")
                if sw != 0x9000:
                    return
            elif sw == 0x9000 and data:
                self.check_response(der, data)

    @staticmethod
    def check_response(request: bytes, data: bytes) -> None:
        try:
            items = tlv.parse(data)
        except tlv.TlvError as exc:
            raise InvariantViolation(f"ES10 {request[:4].hex()}: response is not BER-TLV: {exc}") from None
        if len(items) != 1:
            raise InvariantViolation(f"ES10 {request[:4].hex()}: {len(items)} TLVs in one response")

    def __call__(self, data: bytes) -> None:
        self.driver.next_input()
        chunks = [c for c in split_chunks(bytes(data))[:MAX_REQUESTS] if c]
        if not chunks:
            return
        self.open()
        for chunk in chunks:
            self.request(chunk)
