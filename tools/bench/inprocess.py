"""In-process throughput: APDUs per second through ``Card.transmit`` on one core, no transport.

    python -m tools.bench.inprocess [--seconds 2] [--rounds 3] [--compare ../main]

Runs, on a fresh card whose state is a file in a temporary directory, SELECT
(``00 A4 00 0C 02 3F00``), READ BINARY of EF.ICCID (``00 B0 00 00 0A``), AUTHENTICATE in the 3G
context (TS 31.102 §7.1.2, P2 '81', on ADF.USIM of the default test profile with TS 35.208 test
set 1 and a fresh SQN each time, made host-side by :mod:`tools.bench.aka_host`) and UPDATE
BINARY of EF.PL, each in a tight loop, and prints APDUs/s.  AUTHENTICATE and UPDATE BINARY
commit a write each: they run once per ``--durability`` (``power-loss``: fsync at every commit;
``process-crash``: no fsync, see euicc.nvm) and once on an in-memory state.

With ``--compare PATH`` (another checkout, e.g. the code before a change) the two alternate in
``--rounds`` rounds, each in its own process, and the medians and ratios are printed.
Targets: >= 150,000 SELECT/s, >= 100,000 READ BINARY/s, >= 20,000 AUTHENTICATE/s.  A script,
not a test.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SELECT_MF = bytes.fromhex("00A4000C023F00")
SELECT_ICCID = bytes.fromhex("00A4000C022FE2")
SELECT_PL = bytes.fromhex("00A4000C022F05")
READ_BINARY = bytes.fromhex("00B000000A")
UPDATE_BINARY = bytes.fromhex("00D6000002") + b"en"
TARGETS = {"SELECT": 150_000, "READ BINARY": 100_000, "AUTHENTICATE": 20_000}
REPO = Path(__file__).resolve().parents[2]


def rate(transmit, apdus, seconds: float, sw: bytes = b"\x90\x00") -> float:
    """APDUs per second sending `apdus` (an iterator), checking every answer's status word."""
    count, batch = 0, 250
    clock = time.perf_counter
    start = clock()
    while True:
        for _ in range(batch):
            apdu = next(apdus)
            if transmit(apdu)[-2:] != sw:
                raise RuntimeError(f"{apdu.hex()} did not end in {sw.hex()}")
        count += batch
        elapsed = clock() - start
        if elapsed >= seconds:
            return count / elapsed


def repeat(apdu: bytes):
    while True:
        yield apdu


def open_card(where: Path | None, durability: str):
    """A new card (default test profile), its state in `where` or in memory."""
    try:
        from euicc.composition import open_card as open_
    except ImportError:   # a checkout from before the composition root (--compare)
        from euicc.card import Card
        open_ = Card.open

    if where is None:
        return open_(None)
    try:
        return open_(where / f"{durability}.state", durability=durability)
    except TypeError:   # a checkout without the durability setting (always fsync)
        return open_(where / f"{durability}.state")


def _aka_host():
    """tools.bench.aka_host of this checkout, also when another checkout's code is measured."""
    spec = importlib.util.spec_from_file_location("bench_aka_host", Path(__file__).with_name("aka_host.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def authenticate_rate(card, seconds: float) -> float:
    host = _aka_host()
    SELECT_USIM, challenges = host.SELECT_USIM, host.challenges
    work = challenges(int(seconds * 40_000) + 1000)
    if card.transmit(SELECT_USIM) != b"\x90\x00":
        raise RuntimeError("SELECT ADF.USIM failed")
    apdu, res = work[0]
    answer = card.transmit(apdu)
    if card.transmit(bytes.fromhex("00C00000") + answer[1:2])[2:10] != res:   # 'DB' 08 RES
        raise RuntimeError("AUTHENTICATE answered a wrong RES")
    return rate(card.transmit, iter(apdu for apdu, _ in work[1:]), seconds, b"\x61\x35")


def measure(seconds: float) -> dict[str, float]:
    """One round in this process: the read rates on a file-backed card, the write rates per
    durability and in memory."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for where, durability in ((Path(tmp), "power-loss"), (Path(tmp), "process-crash"), (None, "memory")):
            card = open_card(where, durability)
            try:
                if durability == "power-loss":
                    out["SELECT"] = rate(card.transmit, repeat(SELECT_MF), seconds)
                    card.transmit(SELECT_ICCID)
                    out["READ BINARY"] = rate(card.transmit, repeat(READ_BINARY), seconds)
                    card.transmit(SELECT_MF)
                card.transmit(SELECT_PL)
                out[f"UPDATE BINARY [{durability}]"] = rate(card.transmit, repeat(UPDATE_BINARY),
                                                            seconds / 2)
                out[f"AUTHENTICATE [{durability}]"] = authenticate_rate(card, seconds / 2)
            finally:
                card.close()
    return out


def run_in(repo: Path, seconds: float) -> dict[str, float]:
    """One round of :func:`measure` in a new process running `repo`'s card code."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    out = subprocess.run([sys.executable, __file__, "--worker", str(seconds)], cwd=repo, env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--worker", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker)))
        return 0
    sides = {"this": REPO} | ({"compare": args.compare.resolve()} if args.compare else {})
    samples: dict[str, dict[str, list[float]]] = {side: {} for side in sides}
    for _ in range(args.rounds):
        for side, repo in sides.items():
            for command, value in run_in(repo, args.seconds).items():
                samples[side].setdefault(command, []).append(value)
    print(f"APDU/s through Card.transmit, median of {args.rounds} rounds"
          + (" (alternating with --compare)" if args.compare else ""))
    header = f"{'command':<32} {'this':>10}" + (f" {'compare':>10} {'ratio':>6}" if args.compare else "")
    print(header)
    for command, values in samples["this"].items():
        value = statistics.median(values)
        line = f"{command:<32} {value:10,.0f}"
        if args.compare:
            other = statistics.median(samples["compare"].get(command, [float("nan")]))
            line += f" {other:10,.0f} {value / other:6.2f}"
        target = TARGETS.get(command.split(" [")[0])
        if target and (command in ("SELECT", "READ BINARY") or "[memory]" not in command):
            line += f"  target {target:,}/s {'met' if value >= target else 'NOT met'}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
