"""Benchmark of the four-party SM-SR change (SGP.02 v4.2 §3.8; README "The SM-SR change, four
parties"): the README scenario scripted with the same ``euicc-emu`` commands, each party its own
process (card, SM-SR1, SM-SR2, the operator client, the EUM client), through pcscd + vpcd.

    python -m tools.bench.smsr_change_bench [--rounds 3] [--slot 1] [--show-commands]

Per round, a fresh card and two fresh SM-SR services; measured from the operator's
ES4.PrepareSMSRChange to the end of its ES4.SMSRChange (both included):

- wall time (s);
- SOAP messages per party: requests each party sent (operator: 2; SM-SR1: ES7.HandoverEUICC;
  SM-SR2: ES7.AuthenticateSMSR, CreateAdditionalKeySet per key set, SCP80 and SCP81), read from the
  services' call journals
  (each request has one response);
- SCP80 packets each SM-SR sent to the card (its counter table: one counter value per packet);
- OTA traffic with the card from its APDU trace: SMS-PP download ENVELOPEs (MT SMS) and proactive
  SEND SHORT MESSAGEs (MO SMS: PoRs), and their bytes (APDU data: the SMS TPDUs with their
  BER-TLV wrapping).

Medians over the rounds are printed.  The slot lock of the end-to-end tests is held
(:func:`tools.bench.slot_lock.hold_slot`); without pcscd the benchmark says so and stops.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tools.bench.slot_lock import SlotBusy, hold_slot

REPO = Path(__file__).resolve().parents[2]
SEND_SHORT_MESSAGE = 0x13
"""TS 102 223 §9.4 type of command of SEND SHORT MESSAGE."""
TRACE = re.compile(r"\[\d+\] (>>|<<) ([0-9A-F]+)")


class BenchError(RuntimeError):
    """A step of the scenario failed (its output in the message)."""


@dataclass
class Round:
    seconds: float
    soap: dict[str, int]
    packets: dict[str, int]
    mt_sms: int
    mo_sms: int
    mt_bytes: int
    mo_bytes: int


def euicc_emu(*argv: str) -> list[str]:
    return [sys.executable, "-m", "tools.cli", *argv]


def _run(argv: list[str], show: bool) -> str:
    if show:
        print("$ euicc-emu " + shlex.join(argv[3:]), flush=True)
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv[3:])}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    return done.stdout


class Process:
    """A long-running ``euicc-emu`` process (card or service)."""

    def __init__(self, argv: list[str], log: Path, show: bool, ready: str | None = None) -> None:
        if show:
            print("$ euicc-emu " + shlex.join(argv[3:]) + " &", flush=True)
        self.proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE if ready else open(log, "ab"),
                                     stderr=open(log, "ab"), text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
        if ready:
            line = self.proc.stdout.readline()
            if not line.startswith(ready):
                raise BenchError(f"{argv[3:]}: {line!r} {log.read_text()}")
            self.url = line.split()[-1]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


def _card_present(reader: str) -> bool:
    from smartcard.Exceptions import CardConnectionException, NoCardException
    from smartcard.System import readers

    try:
        connection = next(r for r in readers() if str(r) == reader).createConnection()
        connection.connect()
        connection.disconnect()
        return True
    except StopIteration:
        raise BenchError(f"pcscd has no reader {reader!r}") from None
    except (NoCardException, CardConnectionException):
        return False


def _wait(reader: str, present: bool, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _card_present(reader) != present:
        if time.monotonic() > deadline:
            raise BenchError(f"the card in {reader} did not {'appear' if present else 'go'} in {timeout} s")
        time.sleep(0.1)


def _card(slot: int, state: Path, tmp: Path, show: bool, trace: Path | None = None) -> Process:
    extra = ["--trace", str(trace)] if trace else []
    card = Process(euicc_emu("run", "--state", str(state), "--slot", str(slot), "--first-profile", "minimal",
                             "--log-level", "WARNING", *extra), tmp / "card.log", show)
    _wait(f"Virtual PCD 00 {slot:02d}", True)
    return card


def _command_type(proactive: bytes) -> int | None:
    """Type of command of a proactive command: Command details '81 03' {number, type, qualifier}."""
    at = proactive.find(b"\x81\x03")
    return proactive[at + 3] if 0 <= at < len(proactive) - 4 else None


def ota_traffic(trace: Path, since: int, until: int) -> tuple[int, int, int, int]:
    """(MT SMS, MO SMS, MT bytes, MO bytes) of the trace lines ``since`` to ``until``."""
    lines = trace.read_text().splitlines()[since:until]
    mt = mo = mt_bytes = mo_bytes = 0
    fetch = False
    for line in lines:
        match = TRACE.search(line)
        if not match:
            continue
        arrow, body = match.groups()
        data = bytes.fromhex(body)
        if arrow == ">>":
            fetch = data[1:2] == b"\x12"
            if data[1:2] == b"\xC2":
                mt, mt_bytes = mt + 1, mt_bytes + len(data) - 5
        elif fetch and data[:1] == b"\xD0" and _command_type(data) == SEND_SHORT_MESSAGE:
            mo, mo_bytes = mo + 1, mo_bytes + len(data) - 2
    return mt, mo, mt_bytes, mo_bytes


def _journal(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return [f for f, in con.execute("SELECT function FROM call ORDER BY started")]


def _packets(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return con.execute("SELECT coalesce(sum(value), 0) FROM counter").fetchone()[0]


def one_round(slot: int, tmp: Path, show: bool) -> Round:
    """The README scenario once; the change measured."""
    state, trace, pki = tmp / "card.state", tmp / "apdu.trace", tmp / "m2m"
    reader = f"Virtual PCD 00 {slot:02d}"
    made = _card(slot, state, tmp, show)                  # the EUM makes the card, reads what it made
    made.stop()
    _wait(reader, False)
    info = _run(euicc_emu("info", "--state", str(state)), show)
    eid = re.search(r"EID:\s+(\d{32})", info)[1]
    aid, iccid = re.search(r"isdp_aid=([0-9A-F]{32})\s+iccid=(\d+)", info).groups()
    _run(euicc_emu("smsr", "pki", "--out", str(pki)), show)
    card = _card(slot, state, tmp, show, trace)
    services: list[Process] = []
    try:
        sr2 = Process(euicc_emu("smsr-service", "serve", "--db", str(tmp / "smsr2.db"), "--reader", reader,
                                "--id", "SM-SR2", "--smsr-key", str(pki / "SK_SR2.pem"), "--smsr-cert",
                                str(pki / "CERT_SR2.hex"), "--ci-cert", str(pki / "CERT_CI.der"),
                                "--eum-cert", str(pki / "CERT_EUM.der")),
                      tmp / "smsr2.log", show, "listening on")
        services.append(sr2)
        sr1 = Process(euicc_emu("smsr-service", "serve", "--db", str(tmp / "smsr1.db"), "--reader", reader,
                                "--id", "SM-SR1", "--peer", f"SM-SR2={sr2.url}"), tmp / "smsr1.log", show, "listening on")
        services.append(sr1)
        _run(euicc_emu("eum", "register-eis", "--smsr", sr1.url, "--eis", str(pki / "eis.json"), "--eid", eid,
                       "--profile", f"{aid}={iccid},enabled", "--mno", "MNO"), show)
        _run(euicc_emu("mno", "--smsr", sr1.url, "audit-eis", eid), show)
        since = len(trace.read_text().splitlines())
        journals = {name: len(_journal(tmp / f"{name}.db")) for name in ("smsr1", "smsr2")}
        sent = {name: _packets(tmp / f"{name}.db") for name in ("smsr1", "smsr2")}
        started = time.perf_counter()
        _run(euicc_emu("mno", "--smsr", sr2.url, "prepare-smsr-change", eid, "--current-smsr", "SM-SR1"), show)
        _run(euicc_emu("mno", "--smsr", sr1.url, "smsr-change", eid, "--target-smsr", "SM-SR2"), show)
        seconds = time.perf_counter() - started
        until = len(trace.read_text().splitlines())
        packets = {f"SM-SR{n}": _packets(tmp / f"smsr{n}.db") - sent[f"smsr{n}"] for n in (1, 2)}
        _run(euicc_emu("mno", "--smsr", sr2.url, "audit-eis", eid), show)      # the card follows SM-SR2
    finally:
        for service in services:
            service.stop()
        card.stop()
        _wait(reader, False)
    received = {name: _journal(tmp / f"{name}.db")[journals[name]:] for name in ("smsr1", "smsr2")}
    soap = {"MNO": 2, "SM-SR1": sum(f == "HandoverEUICC" for f in received["smsr2"]),
            "SM-SR2": sum(f in ("AuthenticateSMSR", "CreateAdditionalKeySet") for f in received["smsr1"])}
    mt, mo, mt_bytes, mo_bytes = ota_traffic(trace, since, until)
    for path in (state, trace, tmp / "smsr1.db", tmp / "smsr2.db"):
        for extra in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            extra.unlink(missing_ok=True)
    return Round(seconds, soap, packets, mt, mo, mt_bytes, mo_bytes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="smsr_change_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slot", type=int, default=1, help="vpcd slot (default %(default)s)")
    parser.add_argument("--show-commands", action="store_true", help="print each euicc-emu command as it runs")
    args = parser.parse_args(argv)
    try:
        import smartcard.System  # noqa: F401
    except ImportError as exc:
        print(f"SM-SR change: not measured (pyscard is not importable: {exc})")
        return 1
    try:
        with hold_slot(args.slot), tempfile.TemporaryDirectory() as tmp:
            rounds = [one_round(args.slot, Path(tmp), args.show_commands) for _ in range(args.rounds)]
    except (SlotBusy, BenchError) as exc:
        print(f"SM-SR change: not measured: {exc}")
        return 1

    def median(values) -> float:
        return statistics.median(list(values))
    print(f"SM-SR change, four parties through PC/SC ({len(rounds)} rounds, slot {args.slot}), medians:")
    print(f"  wall time {median(r.seconds for r in rounds):.2f} s "
          f"(min {min(r.seconds for r in rounds):.2f}, max {max(r.seconds for r in rounds):.2f})")
    for party in ("MNO", "SM-SR1", "SM-SR2"):
        line = f"  {party}: {median(r.soap[party] for r in rounds):g} SOAP requests"
        if party in rounds[0].packets:
            line += f", {median(r.packets[party] for r in rounds):g} SCP80 packets to the card"
        print(line)
    print(f"  card: {median(r.mt_sms for r in rounds):g} MT SMS ({median(r.mt_bytes for r in rounds):g} bytes), "
          f"{median(r.mo_sms for r in rounds):g} MO SMS ({median(r.mo_bytes for r in rounds):g} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
