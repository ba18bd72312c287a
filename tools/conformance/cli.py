"""``euicc-emu conformance``: run the conformance rehearsal against the card in a PC/SC reader."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tools.conformance import description, report_html, report_junit, runner
from tools.conformance.environment import Environment
from tools.conformance.session import Session
from tools.conformance.transport import PcscTransport, TransportError

DESCRIPTION = """\
Run SGP.23 / SGP.11-style test cases against whatever card is in a PC/SC reader (this project's
card through vpcd, or a physical eUICC) and print one line per case: PASS, FAIL (the card answered
something the specification forbids) or INCONCLUSIVE (a precondition is not met, e.g. the card
does not trust the test CI), with the reason.  The exit status is 1 when any case fails.

What the runner knows about the card (EID, SGP.22 version, trusted CI, SCP03/SCP80 keys, PINs,
USIM K/OPc) comes from a card description file (JSON or TOML); the default describes a new
euicc-emu card.  Download cases start the project's test SM-DP+ on a loopback port."""
EPILOG = """\
example:
  euicc-emu conformance --reader 'Virtual PCD 00 00' --junit report.xml --html report.html
  euicc-emu conformance --reader 'Virtual PCD 00 00' --case TC_eUICC_ES10c.GetEID#01"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("conformance", help="run SGP.23/SGP.11-style test cases against a card on PC/SC",
                                   description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--reader", help="PC/SC reader name, e.g. 'Virtual PCD 00 00'")
    parser.add_argument("--card", type=Path, default=description.DEFAULT_CARD, metavar="FILE",
                        help="card description, JSON or TOML (default: the euicc-emu default card)")
    parser.add_argument("--suite", action="append", choices=runner.SUITES, default=[],
                        help="consumer (SGP.23) or m2m (SGP.11); repeat for both (default: both)")
    parser.add_argument("--case", action="append", default=[], metavar="ID", help="run only this case (repeatable)")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        cases = runner.select(args.suite, args.case)
    except KeyError as exc:
        print(f"conformance: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.list:
        for c in cases:
            print(f"{c.id:50} {c.suite:8} {c.group:9} {c.title}")
        return 0
    if not args.reader:
        print("conformance: --reader is required (e.g. --reader 'Virtual PCD 00 00')", file=sys.stderr)
        return 2
    try:
        card = description.load(args.card)
        transport = PcscTransport(args.reader)
    except (description.DescriptionError, TransportError) as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="conformance-") as workdir:
        env = Environment(card, Path(workdir))
        try:
            results = runner.run_all(cases, lambda c: Session(c, transport, card, env),
                                     lambda r: print(f"{r.verdict.value:<12} {r.case.id}  {r.reason}", flush=True))
        finally:
            env.close()
            transport.close()
    elapsed = time.monotonic() - start
    counts = {v.value: sum(r.verdict == v for r in results) for v in runner.Verdict}
    print(f"{len(results)} cases in {elapsed:.1f} s: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    if args.junit:
        report_junit.write(results, args.junit)
    if args.html:
        report_html.write(results, args.html, card.name, args.reader)
    return 1 if counts["FAIL"] else 0
