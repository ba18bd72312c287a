"""PC/SC round-trip benchmark: pyscard -> pcscd -> ifd-vpcd -> vpcd_bridge -> card.

Measures the median and p99 round trip of SELECT (``00 A4 00 0C 02 3F00`` / ``2FE2``) and READ
BINARY (``00 B0 00 00 0A``) against the real card (``euicc-emu run``), beside the same figures
for the minimal echo card (:mod:`tools.bench.echo_card`, the floor of the stack) measured in the
same run on the same slot, and prints the ratio.  Target: card within 1.3x of the floor.

The two alternate in ``--rounds`` rounds (echo, card, echo, card, ...), each timing ``n/rounds``
APDUs per command, and the samples are pooled: on a shared machine the load drifts during a
run, and alternating spreads that drift over both sides instead of charging it to one.

With ``--gsmtap`` a third process joins the rotation: the same card with ``--gsmtap``, and the
script prints the GSMTAP card's medians against the plain card's from the same rounds.  Target:
GSMTAP adds under 10 %.  ``--gsmtap capture`` sends to a port nobody binds, as when Wireshark
captures on ``lo``; ``--gsmtap socket`` to a process that receives (and counts) the datagrams.

    python -m tools.bench.pcsc_roundtrip [--slot 1] [-n 3000] [--rounds 10] [--gsmtap capture|socket]

Needs pcscd running with vsmartcard-vpcd (``sudo bash tools/setup.sh run`` sets that up) and a
free vpcd slot.  A script, not a test.
"""
from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from tools.bench.slot_lock import hold_slot

SELECT_MF = bytes.fromhex("00A4000C023F00")
SELECT_ICCID = bytes.fromhex("00A4000C022FE2")
READ_BINARY = bytes.fromhex("00B000000A")
REPO = Path(__file__).resolve().parents[2]


class Reader:
    """Raw SCardTransmit on one reader (pyscard's low-level API, to keep client overhead small)."""

    def __init__(self, name: str) -> None:
        from smartcard import scard

        self.scard = scard
        rc, self.context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        self._check(rc, "SCardEstablishContext")
        self.name = name

    def _check(self, rc: int, what: str) -> None:
        if rc != self.scard.SCARD_S_SUCCESS:
            raise RuntimeError(f"{what}: {self.scard.SCardGetErrorMessage(rc)}")

    def card_present(self) -> bool:
        s = self.scard
        rc, states = s.SCardGetStatusChange(self.context, 0, [(self.name, s.SCARD_STATE_UNAWARE)])
        self._check(rc, "SCardGetStatusChange")
        return bool(states[0][1] & s.SCARD_STATE_PRESENT)

    def wait_card(self, timeout: float, proc: subprocess.Popen) -> None:
        s = self.scard
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"card process exited with {proc.returncode}")
            rc, states = s.SCardGetStatusChange(self.context, 200, [(self.name, s.SCARD_STATE_UNAWARE)])
            if rc == s.SCARD_S_SUCCESS and states[0][1] & s.SCARD_STATE_PRESENT:
                return
            time.sleep(0.05)
        raise RuntimeError(f"no card in {self.name} after {timeout} s")

    def connect(self) -> None:
        s = self.scard
        rc, self.card, self.protocol = s.SCardConnect(self.context, self.name, s.SCARD_SHARE_SHARED,
                                                      s.SCARD_PROTOCOL_T0 | s.SCARD_PROTOCOL_T1)
        self._check(rc, "SCardConnect")
        self.pci = s.SCARD_PCI_T0 if self.protocol == s.SCARD_PROTOCOL_T0 else s.SCARD_PCI_T1

    def transmit(self, apdu: list[int]) -> list[int]:
        rc, response = self.scard.SCardTransmit(self.card, self.pci, apdu)
        self._check(rc, "SCardTransmit")
        return response

    def disconnect(self) -> None:
        self.scard.SCardDisconnect(self.card, self.scard.SCARD_LEAVE_CARD)

    def close(self) -> None:
        self.scard.SCardReleaseContext(self.context)


def timed(reader: Reader, apdu: bytes, n: int, setup: list[bytes], warmup: int) -> list[float]:
    """Round trips in microseconds of `apdu`, after sending `setup` once and `warmup` untimed runs."""
    for command in setup:
        sw = reader.transmit(list(command))[-2:]
        if sw != [0x90, 0x00]:
            raise RuntimeError(f"{command.hex()} -> {bytes(sw).hex()}")
    body = list(apdu)
    for _ in range(warmup):
        reader.transmit(body)
    samples = []
    clock = time.perf_counter_ns
    for _ in range(n):
        start = clock()
        reader.transmit(body)
        samples.append((clock() - start) / 1000)
    return samples


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def measure(cmd: list[str], reader: Reader, n: int, warmup: int, log: Path) -> dict[str, list[float]]:
    """Start the card process `cmd` on the reader's slot, time both commands, stop it."""
    if reader.card_present():
        raise SystemExit(f"{reader.name} already holds a card: stop it or use --slot")
    with open(log, "ab") as log_file:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        try:
            reader.wait_card(30, proc)
        except RuntimeError as exc:
            raise SystemExit(f"{exc}\n{log.read_text(errors='replace')}") from None
        reader.connect()
        try:
            return {
                "SELECT": timed(reader, SELECT_MF, n, [SELECT_MF], warmup),
                "READ BINARY": timed(reader, READ_BINARY, n, [SELECT_MF, SELECT_ICCID], warmup),
            }
        finally:
            reader.disconnect()
    finally:
        proc.terminate()
        proc.wait(15)
        while reader.card_present():  # let pcscd notice the removal before the next card connects
            time.sleep(0.05)


# A UDP sink in its own process (not a thread of this one: it would take the GIL from the timing loop).
RECEIVER = """
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
count = 0
while sock.recv(65535) != b"stop":
    count += 1
print(count, flush=True)
"""


@contextlib.contextmanager
def gsmtap_receiver() -> Iterator[tuple[int, list[int]]]:
    """A process draining UDP datagrams on 127.0.0.1: (port, [datagrams received], filled at exit)."""
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    count: list[int] = []
    try:
        yield port, count
    finally:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"stop", ("127.0.0.1", port))
        out, _ = proc.communicate(timeout=10)
        count.append(int(out))


@contextlib.contextmanager
def unbound_port() -> Iterator[tuple[int, list[int]]]:
    """A UDP port on 127.0.0.1 that nobody binds (picked free, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port, []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slot", type=int, default=1)
    parser.add_argument("-n", type=int, default=3000, help="timed APDUs per command and card (all rounds)")
    parser.add_argument("--rounds", type=int, default=10, help="alternations echo/card (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed APDUs per command and round")
    parser.add_argument("--gsmtap", choices=("capture", "socket"), default=None,
                        help="also time the card with --gsmtap, same rounds (to an unbound port / a receiver)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.n < args.rounds * 2:
        parser.error("need --rounds >= 1 and at least 2 APDUs per round")
    name = f"Virtual PCD 00 {args.slot:02d}"
    reader = Reader(name)
    py = sys.executable
    per_round = args.n // args.rounds
    pooled: dict[str, dict[str, list[float]]] = {}
    with hold_slot(args.slot), tempfile.TemporaryDirectory() as tmp, \
            (gsmtap_receiver() if args.gsmtap == "socket" else unbound_port()) as (port, received):
        echo_cmd = [py, "-m", "tools.bench.echo_card", "--slot", str(args.slot)]
        card_cmd = [py, "-m", "tools.cli", "run", "--log-level", "WARNING", "--slot", str(args.slot),
                    "--state", str(Path(tmp) / "bench.state")]
        variants = [("echo", echo_cmd), ("card", card_cmd)]
        if args.gsmtap:
            variants.append(("gsmtap", card_cmd + ["--gsmtap", f"127.0.0.1:{port}"]))
        for _ in range(args.rounds):
            for variant, cmd in variants:
                log = Path(tmp) / f"{variant}.log"
                for command, samples in measure(cmd, reader, per_round, args.warmup, log).items():
                    pooled.setdefault(variant, {}).setdefault(command, []).extend(samples)
    reader.close()
    total = per_round * args.rounds
    print(f"PC/SC round trip through {name}: {total} APDUs per command and card, {args.rounds} alternating rounds")
    worst = print_ratios(pooled["echo"], pooled["card"], "echo", "card")
    print(f"target: card median within 1.30x of the echo floor -> {'met' if worst <= 1.3 else 'NOT met'} ({worst:.2f}x)")
    if args.gsmtap:
        worst = print_ratios(pooled["card"], pooled["gsmtap"], "card", "gsmtap")
        if args.gsmtap == "socket":
            print(f"GSMTAP datagrams received: {received[0]}")
        print(f"target: GSMTAP adds under 10 % -> {'met' if worst < 1.1 else 'NOT met'} ({worst:.3f}x)")
    return 0


def print_ratios(base: dict[str, list[float]], other: dict[str, list[float]], base_name: str, other_name: str) -> float:
    """Print median/p99 of both and the ratio of the medians per command; return the worst ratio."""
    print(f"{'microseconds':<12} {base_name + ' median':>13} {base_name + ' p99':>10} "
          f"{other_name + ' median':>13} {other_name + ' p99':>10} {'ratio':>6}")
    worst = 0.0
    for command in base:
        b, o = base[command], other[command]
        ratio = statistics.median(o) / statistics.median(b)
        worst = max(worst, ratio)
        print(f"{command:<12} {statistics.median(b):13.1f} {p99(b):10.1f} {statistics.median(o):13.1f} "
              f"{p99(o):10.1f} {ratio:6.3f}")
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
