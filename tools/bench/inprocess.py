"""In-process throughput: APDUs per second through ``Card.transmit`` on one core, no transport.

    python -m tools.bench.inprocess [--seconds 2]

Runs SELECT (``00 A4 00 0C 02 3F00``) and READ BINARY of EF.ICCID (``00 B0 00 00 0A``) in a
tight loop on a fresh card state and prints APDUs/s for each.  Target: >= 20,000/s.  A script,
not a test.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

SELECT_MF = bytes.fromhex("00A4000C023F00")
SELECT_ICCID = bytes.fromhex("00A4000C022FE2")
READ_BINARY = bytes.fromhex("00B000000A")
TARGET = 20_000


def rate(transmit, apdu: bytes, seconds: float) -> float:
    """APDUs per second of `apdu`, checking every answer ends in 9000."""
    count, batch = 0, 500
    clock = time.perf_counter
    start = clock()
    while True:
        for _ in range(batch):
            if transmit(apdu)[-2:] != b"\x90\x00":
                raise RuntimeError(f"{apdu.hex()} did not end in 9000")
        count += batch
        elapsed = clock() - start
        if elapsed >= seconds:
            return count / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    from euicc.card import Card
    from euicc.composition import open_card

    with tempfile.TemporaryDirectory() as tmp:
        card = open_card(Path(tmp) / "bench.state")
        try:
            card.power_on()
            rates = {"SELECT": rate(card.transmit, SELECT_MF, args.seconds)}
            card.transmit(SELECT_ICCID)
            rates["READ BINARY"] = rate(card.transmit, READ_BINARY, args.seconds)
        finally:
            card.close()
    for command, value in rates.items():
        print(f"{command:<12} {value:10,.0f} APDU/s  ({1e6 / value:6.1f} us each)  "
              f"{'met' if value >= TARGET else 'NOT met'} (target {TARGET:,}/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
