"""A card on a vpcd slot whose SMS-PP download opens one BIP channel for the echo engine of
tests/cat/bip_host.py (the test stands for an SCP81 / CAT_TP engine's trigger).  Run by the PC/SC
tests: ``python -m tests.cat.bip_card_process STATE SLOT TRANSPORT PORT GREETING_HEX``."""
from __future__ import annotations

import sys
from pathlib import Path

from euicc.cat.bip_port import ChannelRequest
from euicc.composition import open_card
from tests.cat.bip_host import EchoUser, Trigger
from vpcd_bridge import BridgeRunner, Endpoint, VpcdConnection, VpcdSession


def main(argv: list[str]) -> int:
    state, slot, transport, port, greeting = Path(argv[0]), int(argv[1]), argv[2], int(argv[3]), bytes.fromhex(argv[4])
    card = open_card(state, extensions=[])
    address = b"" if transport == "tcp_server" else bytes([127, 0, 0, 1])
    Trigger(card, ChannelRequest(transport, address, port), EchoUser(greeting))  # type: ignore[arg-type]
    connection = VpcdConnection(VpcdSession(card, slot), Endpoint(slot=slot))
    try:
        BridgeRunner([connection]).serve_until_signalled()
    finally:
        card.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
