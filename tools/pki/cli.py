"""``python -m tools.pki`` / ``euicc-emu pki``: create a test RSP PKI, compute or check EIDs.

    create --out DIR [--curves NIST,BRP] [--eid EID | --eid-prefix 89049032] [--dp-oid 2.999.10]
    crl --ca-cert CERT.der --ca-key SK.pem --out CRL.der [--revoke SERIAL ...] [--days N]
    eid check EID         exit 0 if the check digits are right, 1 otherwise
    eid complete BASE30   print BASE30 followed by its check digits
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tools.pki import eid as eid_util
from tools.pki.crl import make_crl
from tools.cli import CommandParser
from tools.pki.hierarchy import CURVES, make_hierarchy, write_hierarchy

DEFAULT_EID_PREFIX = "89049032"
"""Same EUM prefix as the SGP.26 test EUM (country 049, issuer 032)."""


DESCRIPTION = """\
Create a test PKI for consumer eSIM (SGP.22), compute or check EIDs.

'create' makes a certificate issuer (CI), an eUICC manufacturer (EUM), an eUICC and the SM-DP+
certificates with their keys, in the folder layout of the GSMA SGP.26 test certificates. For
tests only: the private keys are written in the clear. 'eid' computes or checks the two check
digits of an EID."""
EPILOG = """\
examples:
  euicc-emu pki create --out ./pki
  euicc-emu pki eid check 89049032000000000000000000000163"""


def build_parser() -> CommandParser:
    parser = CommandParser(prog="euicc-emu pki", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="create CI, EUM, eUICC and SM-DP+ certificates and keys")
    create.add_argument("--out", required=True, type=Path, help="output folder (SGP.26 layout)")
    create.add_argument("--curves", default="NIST,BRP", help="comma list of NIST, BRP")
    create.add_argument("--eid", help="32-digit EID (default: from --eid-prefix)")
    create.add_argument("--eid-prefix", default=DEFAULT_EID_PREFIX, help="EUM name-constraint EID prefix")
    create.add_argument("--dp-oid", default="2.999.10", help="SM-DP+ OID (subjectAltName registeredID)")
    create.add_argument("--dp-sub-ca", action="store_true",
                        help="SGP.22 v3.1 chain: DPauth/DPpb issued by an SM-DP+ sub-CA (DPSubCA/)")
    crl = sub.add_parser("crl", help="a CRL of a CA (CI or sub-CA): RFC 5280, ECDSA-SHA256, for CRL stapling "
                                     "(SGP.22 v3.1 crlList)")
    crl.add_argument("--ca-cert", required=True, type=Path, help="the CA's certificate (DER)")
    crl.add_argument("--ca-key", required=True, type=Path, help="the CA's private key (PEM)")
    crl.add_argument("--out", required=True, type=Path, help="CRL file to write (DER)")
    crl.add_argument("--revoke", action="append", default=[], type=_serial, metavar="SERIAL",
                     help="revoke this certificate serial number (hex; repeatable)")
    crl.add_argument("--days", type=int, default=30, help="validity (nextUpdate - thisUpdate) in days")
    eid = sub.add_parser("eid", help="check an EID's check digits, or complete 30 digits with them "
                                     "(ISO 7064 MOD 97-10)")
    eid.add_argument("action", choices=("check", "complete"))
    eid.add_argument("value", help="32-digit EID (check) or its first 30 digits (complete)")
    return parser


def _create(args: argparse.Namespace) -> int:
    tags = [t.strip().upper() for t in args.curves.split(",") if t.strip()]
    unknown = [t for t in tags if t not in CURVES]
    if unknown or not tags:
        print(f"unknown curve tag(s): {unknown or args.curves}; use NIST, BRP", file=sys.stderr)
        return 2
    eid = args.eid or eid_util.from_prefix(args.eid_prefix)
    for tag in tags:
        h = make_hierarchy(CURVES[tag](), eid, dp_oid=args.dp_oid, eid_prefix=args.eid_prefix,
                           dp_sub_ca=args.dp_sub_ca)
        for path in write_hierarchy(h, args.out, tag):
            print(path)
    print(f"EID {eid}")
    return 0


def _serial(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a hexadecimal serial number") from None


def _crl(args: argparse.Namespace) -> int:
    try:
        cert = x509.load_der_x509_certificate(args.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(args.ca_key.read_bytes(), None)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        print("error: the CA key is not an EC key", file=sys.stderr)
        return 2
    now = dt.datetime.now(dt.timezone.utc)
    args.out.write_bytes(make_crl(cert, key, args.revoke, now, now + dt.timedelta(days=args.days)))
    print(args.out)
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
    args = build_parser().parse_args(argv)
    try:
        return {"create": _create, "crl": _crl, "eid": _eid}[args.command](args)
    except eid_util.EidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
