"""A minimal card speaking vpcd, answering every APDU with ``9000``: the benchmark floor.

Used by :mod:`tools.bench.pcsc_roundtrip` to measure what pyscard -> pcscd -> ifd-vpcd -> TCP
costs on its own; it shares the transport (:mod:`vpcd_bridge`) with the real card so the ratio
isolates the card OS.  Run: ``python -m tools.bench.echo_card --slot 1``.
"""
from __future__ import annotations

import argparse
import logging

from vpcd_bridge import BridgeRunner, Endpoint, VpcdConnection, VpcdSession

# sysmoEUICC1-C2T ATR (T=0 and T=15 global bytes), see SPEC_NOTES §1.2 item 1.
ECHO_ATR = bytes.fromhex("3B9F96803F87828031E073FE211F574543753130136502")
SW_OK = b"\x90\x00"


class EchoCard:
    """Answers ``9000`` to everything; power events do nothing."""

    def __init__(self, atr: bytes = ECHO_ATR) -> None:
        self.atr = atr
        self.powered = False

    def power_on(self) -> bytes:
        self.powered = True
        return self.atr

    def power_off(self) -> None:
        self.powered = False

    def reset(self) -> bytes:
        return self.atr

    def transmit(self, apdu: bytes) -> bytes:
        return SW_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vpcd-host", default="127.0.0.1")
    parser.add_argument("--vpcd-port", type=int, default=35963)
    parser.add_argument("--slot", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    endpoint = Endpoint(args.vpcd_host, args.vpcd_port, args.slot)
    runner = BridgeRunner([VpcdConnection(VpcdSession(EchoCard(), args.slot), endpoint)])
    runner.serve_until_signalled()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
