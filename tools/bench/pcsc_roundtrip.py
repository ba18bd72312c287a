"""PC/SC round-trip benchmark: pyscard -> pcscd -> ifd-vpcd -> vpcd_bridge -> card.

Measures the median and p99 round trip of SELECT (``00 A4 00 0C 02 3F00`` / ``2FE2``), READ
BINARY (``00 B0 00 00 0A``) and AUTHENTICATE in the 3G context (TS 31.102 §7.1.2, P2 '81', on
ADF.USIM of the default test profile: TS 35.208 test set 1 K/OPc and a fresh SQN each time, the
AUTN made host-side by :mod:`tools.bench.aka_host`; the command alone, its ``61xx`` answer, not
the GET RESPONSE) against the real card (``euicc-emu run``) once per ``--durability``, beside the
same figures for the minimal echo card (:mod:`tools.bench.echo_card`, the floor of the stack)
measured in the same run on the same slot, and prints the ratios.  Targets: card within 1.15x of
the floor for SELECT and READ BINARY, 1.3x for AUTHENTICATE (an AUTHENTICATE commits the SQN
array: with ``power-loss`` durability that is an fsync, see euicc.nvm).

The cards alternate in ``--rounds`` rounds (echo, card, card, echo, ...), each timing
``n/rounds`` APDUs per command, and the samples are pooled: on a shared machine the load drifts
during a run, and alternating spreads that drift over all sides instead of charging it to one.

With ``--gsmtap`` one more card joins the rotation: the first ``--durability`` card with
``--gsmtap``, and the script prints its medians against the plain card's from the same rounds.
Target: GSMTAP adds under 10 %.  ``--gsmtap capture`` sends to a port nobody binds, as when
Wireshark captures on ``lo``; ``--gsmtap socket`` to a process that receives (and counts) them.

    python -m tools.bench.pcsc_roundtrip [--slot 1] [-n 3000] [--rounds 10]
                                         [--durability power-loss process-crash] [--gsmtap capture|socket]

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

from tools.bench.aka_host import SELECT_USIM, challenges
from tools.bench.slot_lock import hold_slot

SELECT_MF = bytes.fromhex("00A4000C023F00")
SELECT_ICCID = bytes.fromhex("00A4000C022FE2")
READ_BINARY = bytes.fromhex("00B000000A")
REPO = Path(__file__).resolve().parents[2]
TARGETS = {"SELECT": 1.15, "READ BINARY": 1.15, "AUTHENTICATE": 1.3}


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
        """Block in SCardGetStatusChange until pcscd reports a card (returns as soon as it does:
        the delay measured is pcscd's, not a polling loop's here)."""
        s = self.scard
        deadline = time.monotonic() + timeout
        known = s.SCARD_STATE_UNAWARE
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"card process exited with {proc.returncode}")
            rc, states = s.SCardGetStatusChange(self.context, 100, [(self.name, known)])
            if rc == s.SCARD_S_SUCCESS:
                if states[0][1] & s.SCARD_STATE_PRESENT:
                    return
                known = states[0][1] & ~s.SCARD_STATE_CHANGED
            elif rc != s.SCARD_E_TIMEOUT:
                time.sleep(0.01)
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


def timed(reader: Reader, apdus: bytes | list[bytes], n: int, setup: list[bytes], warmup: int) -> list[float]:
    """Round trips in microseconds of `apdus` (one APDU repeated, or warmup + n APDUs in turn),
    after sending `setup` once and `warmup` untimed runs."""
    for command in setup:
        sw = reader.transmit(list(command))[-2:]
        if sw != [0x90, 0x00]:
            raise RuntimeError(f"{command.hex()} -> {bytes(sw).hex()}")
    bodies = [list(apdus)] * (warmup + n) if isinstance(apdus, bytes) else [list(a) for a in apdus]
    for body in bodies[:warmup]:
        reader.transmit(body)
    samples = []
    clock = time.perf_counter_ns
    for body in bodies[warmup:warmup + n]:
        start = clock()
        response = reader.transmit(body)
        samples.append((clock() - start) / 1000)
        if response[-2] not in (0x90, 0x61):   # 9000, or 61xx: data waiting (T=0)
            raise RuntimeError(f"{bytes(body).hex()} -> {bytes(response).hex()}")
    return samples


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def measure(cmd: list[str], reader: Reader, n: int, warmup: int, log: Path,
            authenticate: list[bytes]) -> dict[str, list[float]]:
    """Start the card process `cmd` on the reader's slot, time the commands, stop it
    (`authenticate`: warmup + n AUTHENTICATE APDUs with SQNs the card has not seen)."""
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
                "AUTHENTICATE": timed(reader, authenticate, n, [SELECT_USIM], warmup),
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
    parser.add_argument("--durability", nargs="+", default=["power-loss", "process-crash"],
                        choices=("power-loss", "process-crash"), help="card variants (euicc.nvm)")
    parser.add_argument("--gsmtap", choices=("capture", "socket"), default=None,
                        help="also time the first card with --gsmtap, same rounds (to an unbound port / a receiver)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.n < args.rounds * 2:
        parser.error("need --rounds >= 1 and at least 2 APDUs per round")
    name = f"Virtual PCD 00 {args.slot:02d}"
    reader = Reader(name)
    py = sys.executable
    per_round = args.n // args.rounds
    pooled: dict[str, dict[str, list[float]]] = {"echo": {}} | {d: {} for d in args.durability}
    with hold_slot(args.slot), tempfile.TemporaryDirectory() as tmp, \
            (gsmtap_receiver() if args.gsmtap == "socket" else unbound_port()) as (port, received):
        commands = {"echo": [py, "-m", "tools.bench.echo_card", "--slot", str(args.slot)]}
        for durability in args.durability:
            commands[durability] = [py, "-m", "tools.cli", "run", "--log-level", "WARNING", "--slot",
                                    str(args.slot), "--state", str(Path(tmp) / f"{durability}.state"),
                                    "--durability", durability]
        if args.gsmtap:
            first = args.durability[0]
            commands["gsmtap"] = commands[first][:-4] + ["--state", str(Path(tmp) / "gsmtap.state"),
                                                         "--durability", first, "--gsmtap", f"127.0.0.1:{port}"]
            pooled["gsmtap"] = {}
        per_card = per_round + args.warmup
        for round_ in range(args.rounds):
            # each card's state lives across rounds: SEQ goes on growing (TS 33.102 Annex C)
            auth = [apdu for apdu, _ in challenges(per_card, first_seq=1 + round_ * per_card)]
            order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for variant in order:
                samples = measure(commands[variant], reader, per_round, args.warmup,
                                  Path(tmp) / f"{variant}.log", auth)
                for command, values in samples.items():
                    pooled[variant].setdefault(command, []).extend(values)
    reader.close()
    total = per_round * args.rounds
    echo = pooled.pop("echo")
    gsmtap = pooled.pop("gsmtap", None)
    print(f"PC/SC round trip through {name}: {total} APDUs per command and card, {args.rounds} "
          "alternating rounds (microseconds)")
    print(f"{'command':<13} {'card':<14} {'echo median':>12} {'echo p99':>9} {'card median':>12} "
          f"{'card p99':>9} {'ratio':>6}  target")
    for command, e in echo.items():
        for durability, card in pooled.items():
            c = card[command]
            ratio = statistics.median(c) / statistics.median(e)
            target = TARGETS[command]
            print(f"{command:<13} {durability:<14} {statistics.median(e):12.1f} {p99(e):9.1f} "
                  f"{statistics.median(c):12.1f} {p99(c):9.1f} {ratio:6.2f}  {target:.2f}x "
                  f"{'met' if ratio <= target else 'NOT met'}")
    if gsmtap is not None:
        worst = print_ratios(pooled[args.durability[0]], gsmtap, "card", "gsmtap")
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
