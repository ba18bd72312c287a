"""Wall time and bytes on the wire of one ES5 function over SMS-PP (SCP80), HTTPS (SCP81, GP Amd
B) and CAT_TP (TS 102 127, PUSH of TS 102 226 §9), through pcscd + vpcd + `euicc-emu run` (#12
item 8).

The function is ES5 eUICCCapabilityAudit / AuditEIS (SGP.02 §4.1.1.5: GET STATUS of the ISD-Ps
and GET DATA 'FF21', one script).  EnableProfile is not timed: `euicc-emu run` holds one profile,
and a second needs a TS.48 download (tools/bench/m2m_services_bench.py does that for ES4) [a
documented narrowing].  Each transport's figure covers what the SM-SR does for one call: SMS is
one SCP80 packet and its PoR; HTTPS is the SMS trigger, OPEN CHANNEL, PSK-TLS, the HTTP
exchanges and the close; CAT_TP is the PUSH by SMS, OPEN CHANNEL, the CAT_TP handshake, one
SDU each way and the reset (timed until the SM-SR has the answer; the card's CLOSE-WAIT before
CLOSE CHANNEL is not).  Bytes on the wire: every C-APDU and R-APDU (data + SW) across the
PC/SC interface during the call, which is where all of a modem's SMS and BIP traffic to the card
passes.  The transports alternate within each round; medians over the rounds.

    python -m tools.bench.transport_bench [--rounds 5] [--slot 1]
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tools.bench.m2m_bench import PcscUnavailable
from tools.bench.m2m_services_bench import _start_card, _stop_card
from tools.bench.slot_lock import SlotBusy, hold_slot
from tools.ota.cat_tp import HostCatTp
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.cat_tp_link import CatTpScripts, push_apdus
from tools.smsr.cli import read_eid
from tools.smsr.eis import Eis
from tools.smsr.smsr import SmSr
from tools.smsr_https.psk_keys import put_psk_key
from tools.smsr_https.transport import HttpsTransport

TRANSPORTS = ("sms", "https", "cat_tp")
# the default card's test ISD-R key set 01 and key 03 (the README's `smsr --kic/--kid`)
KIC, KID = bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("101112131415161718191A1B1C1D1E1F")
DEK = bytes.fromhex("202122232425262728292A2B2C2D2E2F")
PSK, PSK_DEK = bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F0"), bytes.fromhex("5566778899AABBCCDDEEFF0011223344")
SMSR_CAT_TP_PORT = 4001


class CountingLink:
    """The terminal's PC/SC link, counting the bytes of every APDU exchange."""

    def __init__(self, link) -> None:
        self.link, self.bytes = link, 0

    def exchange(self, apdu: bytes):
        data, sw = self.link.exchange(apdu)
        self.bytes += len(apdu) + len(data) + 2
        return data, sw

    def __getattr__(self, name: str):
        return getattr(self.link, name)


@dataclass
class Sample:
    seconds: float
    wire_bytes: int


def cat_tp_audit(smsr: SmSr) -> float:
    """PUSH by SMS, then AuditEIS over the CAT_TP link the card opens (the SM-SR accepts); returns
    when the SM-SR had its answer and closed the link (perf_counter), then serves the terminal
    until the card has closed its channel (after TS 102 127's CLOSE-WAIT, not timed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    link = HostCatTp(sock, None, SMSR_CAT_TP_PORT, rto=0.3, retries=30)
    errors: list[BaseException] = []
    done: list[float] = []

    def work() -> None:
        try:
            link.accept(timeout=15)
            smsr.https = CatTpScripts(link, smsr.keyset, lambda: smsr.eis.next_counter(smsr.keyset.kvn))
            smsr.audit()
            link.close()
            done.append(time.perf_counter())
        except Exception as exc:       # reported below, in the caller's thread
            errors.append(exc)

    smsr.https = None
    try:
        smsr.execute(push_apdus("127.0.0.1", sock.getsockname()[1], SMSR_CAT_TP_PORT), what="PUSH")
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        terminal = smsr.terminal
        terminal.serve(30, until=lambda: not thread.is_alive() and not terminal.bip.channels)
    finally:
        sock.close()
        smsr.https = None
    if errors or not done:
        raise RuntimeError(f"CAT_TP: {errors[0] if errors else 'no answer'}")
    return done[0]


def measure(slot: int, rounds: int, tmp: Path) -> dict[str, list[Sample]]:
    from tools.terminal import cat
    from tools.terminal.bip import BipTerminal
    from tools.terminal.link import PcscLink
    from tools.terminal.terminal import Terminal

    proc = _start_card(tmp / "card.state", slot, tmp / "card.log")
    link = CountingLink(PcscLink(f"Virtual PCD 00 {slot:02d}"))
    terminal = Terminal(link, profile=cat.MODEM_PROFILE, bip=BipTerminal())
    smsr = SmSr(Eis(), OtaKeyset(0x01, AES, KIC, AES, KID))
    smsr.attach(terminal)
    https = None
    try:
        terminal.start()
        terminal.location_status(cat.NORMAL_SERVICE)
        smsr.eis.eid = read_eid(terminal)
        smsr.execute_one(put_psk_key(0x40, PSK, PSK_DEK, DEK), "PUT KEY (SCP81)")
        https = HttpsTransport.start(smsr, PSK, timeout=30.0)
        smsr.https = None
        runs = {"sms": lambda: smsr.audit() and None, "https": lambda: smsr.audit() and None,
                "cat_tp": lambda: cat_tp_audit(smsr)}
        samples: dict[str, list[Sample]] = {name: [] for name in TRANSPORTS}
        for index in range(rounds):
            order = TRANSPORTS if index % 2 == 0 else tuple(reversed(TRANSPORTS))
            for name in order:
                smsr.https = https if name == "https" else None
                before, started = link.bytes, time.perf_counter()
                ended = runs[name]()
                ended = ended if isinstance(ended, float) else time.perf_counter()
                samples[name].append(Sample(ended - started, link.bytes - before))
                smsr.https = None
        return samples
    finally:
        if https is not None:
            https.stop()
        terminal.bip.close_all()
        link.close()
        _stop_card(proc, slot)


def report(samples: dict[str, list[Sample]], rounds: int) -> list[str]:
    lines = [f"ES5 AuditEIS through PC/SC, {rounds} alternating rounds (median)",
             f"  {'transport':<10}{'wall ms':>10}{'APDU bytes':>12}"]
    for name in TRANSPORTS:
        ms = statistics.median(s.seconds for s in samples[name]) * 1000
        wire = statistics.median(s.wire_bytes for s in samples[name])
        lines.append(f"  {name:<10}{ms:>10.0f}{wire:>12.0f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default %(default)s)")
    parser.add_argument("--slot", type=int, default=1, help="vpcd slot of the card (default %(default)s)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("need --rounds >= 1")
    try:
        with hold_slot(args.slot), tempfile.TemporaryDirectory() as folder:
            samples = measure(args.slot, args.rounds, Path(folder))
    except (PcscUnavailable, SlotBusy, ImportError) as exc:
        print(f"transport benchmark: left out ({exc})")
        return 1
    print("\n".join(report(samples, args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
