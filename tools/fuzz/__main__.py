"""``python -m tools.fuzz {run,campaign,seeds,report,list}`` (see tools/fuzz/__init__.py)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tools.fuzz import report as report_mod
from tools.fuzz import runner


def _names(selected: list[str] | None) -> list[str]:
    from tools.fuzz.harnesses import HARNESSES
    names = selected or list(HARNESSES)
    unknown = [n for n in names if n not in HARNESSES]
    if unknown:
        raise SystemExit(f"unknown harness {unknown}; known: {', '.join(HARNESSES)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, default, text in (("run", 10, "bounded run of every (or the named) harness"),
                                ("campaign", 3600, "long campaign: restarts after a crash")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--seconds-per-harness", type=int, default=default)
        p.add_argument("--harness", action="append", help="only this harness (repeatable)")
        p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
        p.add_argument("--out", type=Path, default=runner.DEFAULT_OUT)
    seeds = sub.add_parser("seeds", help="regenerate tools/fuzz/corpus from the reference data")
    seeds.add_argument("--harness", action="append")
    rep = sub.add_parser("report", help="print the assurance figures")
    rep.add_argument("--out", type=Path, default=runner.DEFAULT_OUT)
    rep.add_argument("--run-tests", action="store_true", help="run tests/robustness first")
    rep.add_argument("--json", action="store_true")
    sub.add_parser("list", help="list the harnesses")
    args = parser.parse_args(argv)

    if args.command in ("run", "campaign"):
        summary = runner.run_all(_names(args.harness), args.seconds_per_harness, args.out,
                                 args.jobs, keep_going=args.command == "campaign")
        for name, h in summary["harnesses"].items():
            print(f"{name:<16} runs {h['runs']:>10,}  crashes {h['crashes']}")
            for error in h["errors"]:
                print("    " + error.replace("\n", "\n    "))
        print(f"results: {args.out / 'results.json'}")
        return 1 if summary["total_crashes"] else 0
    if args.command == "seeds":
        from tools.fuzz.seeds import write_seeds
        for name, n in write_seeds(_names(args.harness)).items():
            print(f"{name:<16} {n} seeds")
        return 0
    if args.command == "list":
        from tools.fuzz.harnesses import HARNESSES
        for h in HARNESSES.values():
            print(f"{h.name:<16} {h.summary}")
        return 0
    if args.run_tests:
        report_mod.run_tests(args.out)
    built = report_mod.build(args.out)
    print(json.dumps(built, indent=2) if args.json else report_mod.render(built))
    return 0 if built["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
