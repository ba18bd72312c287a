"""Start-up benchmark: from spawning ``euicc-emu run`` to the first ES10 answer through PC/SC.

Each run starts a new card process (new state file) on the slot, waits until pcscd sees the card,
selects the ISD-R and sends ES10b GetEUICCInfo1 (STORE DATA ``BF20 00``, SGP.22 §5.7.8, with
GET RESPONSE after ``61xx``), then the same command again.  It reports, per variant, the median of

- ``start->ES10``: spawn to the complete first ES10 answer (what a user waits for),
- ``start->vpcd``: spawn to the card's vpcd connection (the card's own start-up: interpreter,
  imports, state file, its "connected to vpcd" log line),
- ``vpcd->present``: from that connection to pcscd reporting the card present: pcsc-lite polls
  a vpcd reader for card presence (outside the card),
- ``first ES10``: the round trip of that first ES10 command alone,
- ``next ES10``: the round trip of the second one (the steady state).

``--existing`` starts every run on the state file of the previous one (opening a card instead of
provisioning a new one).

Variants alternate run by run (A, B, A, B, ...) so that load drifting on a shared machine spreads
over all of them: ``warm`` uses one ASN.1 cache directory kept across its runs (filled by one
untimed run first), ``cold`` an empty one each run (``XDG_CACHE_HOME``).  ``--compare PATH`` adds
the same two variants for another checkout (e.g. the code before a change).

    python -m tools.bench.startup [--slot 1] [--runs 5] [--compare ../main]

Needs pcscd with vsmartcard-vpcd and a free vpcd slot (held with :mod:`tools.bench.slot_lock`).
A script, not a test.
"""
from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tools.bench.pcsc_roundtrip import REPO, Reader
from tools.bench.slot_lock import hold_slot

SELECT_ISD_R = bytes.fromhex("00A4040010A0000005591010FFFFFFFF890000010000")
GET_EUICC_INFO1 = bytes.fromhex("80E2910003BF200000")
CONNECTED = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*connected to vpcd", re.M)


@dataclass
class Variant:
    name: str
    repo: Path
    cold: bool
    samples: dict[str, list[float]] = field(default_factory=dict)


def transmit(reader: Reader, apdu: bytes) -> tuple[bytes, int]:
    """One command with T=0 GET RESPONSE after '61xx' (TS 102 221 §7.3.1.1.4)."""
    response = bytes(reader.transmit(list(apdu)))
    data, sw = response[:-2], int.from_bytes(response[-2:], "big")
    while sw >> 8 == 0x61:
        more = bytes(reader.transmit([apdu[0] & 0x03, 0xC0, 0x00, 0x00, sw & 0xFF]))
        data, sw = data + more[:-2], int.from_bytes(more[-2:], "big")
    return data, sw


def es10(reader: Reader) -> float:
    """GetEUICCInfo1 round trip in seconds; the answer must be BF20 with '9000'."""
    start = time.perf_counter()
    data, sw = transmit(reader, GET_EUICC_INFO1)
    elapsed = time.perf_counter() - start
    if sw != 0x9000 or data[:2] != b"\xbf\x20":
        raise RuntimeError(f"GetEUICCInfo1 answered {data.hex()} {sw:04X}")
    return elapsed


def connected_at(log: Path) -> float:
    """Wall-clock time of the card's "connected to vpcd" log line (logging's asctime)."""
    found = CONNECTED.findall(log.read_text(errors="replace"))
    if not found:
        return float("nan")
    return datetime.datetime.strptime(found[-1], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def one_run(variant: Variant, reader: Reader, slot: int, work: Path, cache: Path,
            existing: bool = False) -> dict[str, float]:
    """Spawn the card, time the first ES10 answer and the next, stop the card."""
    if reader.card_present():
        raise SystemExit(f"{reader.name} already holds a card: stop it or use --slot")
    env = {**os.environ, "PYTHONPATH": str(variant.repo), "XDG_CACHE_HOME": str(cache)}
    name = "existing" if existing else str(time.monotonic_ns())
    state = work / f"{variant.name}-{name}.state"
    cmd = [sys.executable, "-m", "tools.cli", "run", "--log-level", "INFO", "--slot", str(slot),
           "--state", str(state)]
    log_path = work / f"{variant.name}-{time.monotonic_ns()}.log"
    with open(log_path, "ab") as log:
        wall, started = time.time(), time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=variant.repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        reader.wait_card(60, proc)
        present = time.perf_counter() - started
        connected = connected_at(log_path) - wall
        reader.connect()
        try:
            _, sw = transmit(reader, SELECT_ISD_R)
            if sw != 0x9000:
                raise RuntimeError(f"SELECT ISD-R answered {sw:04X}")
            first = es10(reader)
            to_first = time.perf_counter() - started
            return {"start->ES10": to_first, "start->vpcd": connected, "vpcd->present": present - connected,
                    "first ES10": first, "next ES10": es10(reader)}
        finally:
            reader.disconnect()
    finally:
        proc.terminate()
        proc.wait(15)
        while reader.card_present():   # let pcscd notice the removal before the next card
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slot", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per variant (default %(default)s)")
    parser.add_argument("--compare", type=Path, help="another checkout to measure alternately (e.g. before a change)")
    parser.add_argument("--existing", action="store_true", help="open the previous run's card, not a new one")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    repos = [("this", REPO)] + ([("compare", args.compare.resolve())] if args.compare else [])
    variants = [Variant(f"{label}-{kind}", repo, kind == "cold") for label, repo in repos for kind in ("warm", "cold")]
    reader = Reader(f"Virtual PCD 00 {args.slot:02d}")
    with hold_slot(args.slot), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for variant in variants:
            if not variant.cold or args.existing:   # fill the warm cache (make the card) once, untimed
                one_run(variant, reader, args.slot, work, work / f"cache-{variant.name}", args.existing)
        for run in range(args.runs):
            for variant in variants:
                cache = work / (f"cache-{variant.name}-{run}" if variant.cold else f"cache-{variant.name}")
                for what, seconds in one_run(variant, reader, args.slot, work, cache, args.existing).items():
                    variant.samples.setdefault(what, []).append(seconds * 1000)
    reader.close()
    print(f"euicc-emu run -> first ES10 answer through PC/SC, median of {args.runs} alternating runs (ms)")
    columns = list(variants[0].samples)
    print(f"{'variant':<14}" + "".join(f"{c:>14}" for c in columns))
    for variant in variants:
        print(f"{variant.name:<14}" + "".join(f"{statistics.median(variant.samples[c]):14.1f}" for c in columns))
    for label, repo in repos:
        print(f"{label}: {repo}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
