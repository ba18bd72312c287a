"""``python -m tools.pki`` / ``euicc-emu pki``: create a test RSP PKI, compute or check EIDs.

    create --out DIR [--curves NIST,BRP] [--eid EID | --eid-prefix 89049032] [--dp-oid 2.999.10]
    eid check EID         exit 0 if the check digits are right, 1 otherwise
    eid complete BASE30   print BASE30 followed by its check digits
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.pki import eid as eid_util
from tools.pki.hierarchy import CURVES, make_hierarchy, write_hierarchy

DEFAULT_EID_PREFIX = "89049032"
"""Same EUM prefix as the SGP.26 test EUM (country 049, issuer 032)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pki", description="SGP.22 test PKI and EID tools")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create CI, EUM, eUICC and SM-DP+ certificates")
    create.add_argument("--out", required=True, type=Path, help="output folder (SGP.26 layout)")
    create.add_argument("--curves", default="NIST,BRP", help="comma list of NIST, BRP")
    create.add_argument("--eid", help="32-digit EID (default: from --eid-prefix)")
    create.add_argument("--eid-prefix", default=DEFAULT_EID_PREFIX, help="EUM name-constraint EID prefix")
    create.add_argument("--dp-oid", default="2.999.10", help="SM-DP+ OID (subjectAltName registeredID)")
    eid = sub.add_parser("eid", help="EID check digits (ISO 7064 MOD 97-10)")
    eid.add_argument("action", choices=("check", "complete"))
    eid.add_argument("value")
    return parser


def _create(args: argparse.Namespace) -> int:
    tags = [t.strip().upper() for t in args.curves.split(",") if t.strip()]
    unknown = [t for t in tags if t not in CURVES]
    if unknown or not tags:
        print(f"unknown curve tag(s): {unknown or args.curves}; use NIST, BRP", file=sys.stderr)
        return 2
    eid = args.eid or eid_util.from_prefix(args.eid_prefix)
    for tag in tags:
        h = make_hierarchy(CURVES[tag](), eid, dp_oid=args.dp_oid, eid_prefix=args.eid_prefix)
        for path in write_hierarchy(h, args.out, tag):
            print(path)
    print(f"EID {eid}")
    return 0


def _eid(args: argparse.Namespace) -> int:
    if args.action == "check":
        ok = eid_util.is_valid(args.value)
        print("valid" if ok else "invalid")
        return 0 if ok else 1
    print(eid_util.complete(args.value))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        return _create(args) if args.command == "create" else _eid(args)
    except eid_util.EidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
