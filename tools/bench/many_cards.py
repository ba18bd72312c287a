"""Many cards in one process: memory and creation time per card.

    python -m tools.bench.many_cards [--cards 1000] [--compare ../main]

Creates ``--cards`` new cards (default test profile) in one process, once with in-memory state
(``open_card(None)``) and once per durability (euicc.nvm: ``power-loss`` fsyncs every commit,
``process-crash`` does not) with state files in a temporary directory, each after one untimed
card (imports, ASN.1 modules).  Per card it reports the median creation time (the
``Card.open`` of a new card: provisioning included) and the memory: the growth of the process's
resident set size over all cards divided by their number (``/proc/self/statm``), after a
garbage collection.  A card is checked to answer SELECT MF with ``9000``.  Targets: under
300 KiB and under 20 ms per card.  With ``--compare PATH`` another checkout (e.g. the code
before a change) is measured too, in alternating processes.  A script, not a test.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SELECT_MF = bytes.fromhex("00A4000C023F00")
TARGET_KIB, TARGET_MS = 300, 20


def rss_kib() -> float:
    """Resident set size of this process (Linux /proc/self/statm, pages)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024


def measure(count: int, state: str) -> dict[str, float]:
    """(median ms to create a card, KiB of resident memory per card) for `count` new cards with
    `state` "memory" or a durability."""
    from euicc.card import Card
    from euicc.composition import open_card

    with tempfile.TemporaryDirectory() as tmp:
        def new_card(i: int) -> Card:
            if state == "memory":
                return open_card(None)
            try:
                return open_card(Path(tmp) / f"card{i}.state", durability=state)
            except TypeError:   # a checkout without the setting: fsync at every commit
                return open_card(Path(tmp) / f"card{i}.state")

        new_card(-1).close()   # imports, ASN.1 modules, caches: not per card
        gc.collect()
        before = rss_kib()
        cards, times = [], []
        clock = time.perf_counter
        for i in range(count):
            start = clock()
            card = new_card(i)
            times.append((clock() - start) * 1000)
            cards.append(card)
        gc.collect()
        per_card = (rss_kib() - before) / count
        for card in cards:
            if card.transmit(SELECT_MF) != b"\x90\x00":
                raise RuntimeError("a card did not answer SELECT MF with 9000")
            card.close()
    return {"ms": statistics.median(times), "kib": per_card}


def run_in(repo: Path, count: int, state: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    args = [sys.executable, __file__, "--worker", str(count), "--state", state]
    out = subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--compare", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state", default="memory", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.state)))
        return 0
    sides = {"this": REPO} | ({"compare": args.compare.resolve()} if args.compare else {})
    print(f"{args.cards} new cards in one process (default test profile), per card")
    print(f"{'side':<8} {'state':<20} {'create ms (median)':>19} {'KiB (RSS growth)':>17}")
    for state in ("memory", "power-loss", "process-crash"):
        for side, repo in sides.items():
            got = run_in(repo, args.cards, state)
            verdict = "met" if got["ms"] < TARGET_MS and got["kib"] < TARGET_KIB else "NOT met"
            label = state if state == "memory" else f"file, {state}"
            print(f"{side:<8} {label:<20} {got['ms']:19.1f} {got['kib']:17.0f}"
                  f"  {verdict} (< {TARGET_MS} ms, < {TARGET_KIB} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
