"""SGP.02 host benchmark: SCP80 command packets per second through ``Card.transmit`` (AES and 3DES),
in-process, printed as medians of several runs.

    python -m tools.bench.m2m_bench [--packets 200] [--runs 5]

The card gets a throw-away ISD-R key set written into its store the way an EUM personalises it
(record names of euicc.m2m.records); the wall time of the full life cycle through PC/SC is measured
by ``pytest -m pcsc tests/m2m_host/test_pcsc_lifecycle.py -s`` (it prints it).
"""
from __future__ import annotations

import argparse
import statistics
import time

from cryptography.hazmat.primitives.asymmetric import ec

from euicc.card import Card
from tools.ota.packet import AES, TDES2, OtaKeyset
from tools.smsr import es5
from tools.smsr.eis import Eis
from tools.smsr.gp_certificate import point_of
from tools.smsr.smsr import CommandFailed, OtaFailure, SmSr
from tools.terminal.link import CallableLink
from tools.terminal.terminal import Terminal

KIC, KID = bytes(range(1, 17)), bytes(range(17, 33))
P256_OID = "1.2.840.10045.3.1.7"


def _card() -> Card:
    from euicc.m2m.records import CI_KEY, ECASD_KEY, ISDR_SCP80, OtaKeySet

    ci, ecasd = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    card = Card.open(None)
    with card.store.transaction():
        card.store.put(CI_KEY, (P256_OID, point_of(ci.public_key())))
        card.store.put(ECASD_KEY, (P256_OID, ecasd.private_numbers().private_value.to_bytes(32, "big")))
        card.store.put(f"{ISDR_SCP80}01", OtaKeySet(1, KIC, KID, bytes(16)))
    return card


def packets_per_second(algorithm: int, packets: int) -> float:
    """One GET DATA 'FF21' script per SCP80 packet, SPI '16 39' (PoR ciphered with CC by SMS-SUBMIT)."""
    card = _card()
    terminal = Terminal(CallableLink(card.transmit, card.reset))
    smsr = SmSr(Eis(), OtaKeyset(1, algorithm, KIC, algorithm, KID))
    smsr.attach(terminal)
    terminal.start()
    apdu = es5.get_data_extended_card_resources()
    started = time.perf_counter()
    for _ in range(packets):
        smsr.execute([apdu], what="bench")
    return packets / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="m2m_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    status = 0
    for name, algorithm in (("AES", AES), ("3DES", TDES2)):
        try:
            rates = [packets_per_second(algorithm, args.packets) for _ in range(args.runs)]
        except (OtaFailure, CommandFailed) as exc:
            print(f"SCP80 {name}: the card refused the packets: {exc}")
            status = 1
            continue
        print(f"SCP80 {name}: median {statistics.median(rates):.0f} packets/s in-process "
              f"({args.runs} runs of {args.packets})")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
