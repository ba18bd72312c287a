"""Command line: ``python -m tools.profile_builder build|dump|default``.

``main(argv)`` is what ``euicc-emu profile ...`` mounts. Exit codes: 0 ok, 2 bad arguments or
values (argparse convention), 1 a package that does not decode.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from euicc.profiles.saip_codec import SaipError
from tools.cli import CommandParser

from .builder import IsimParameters, KeySet, ProfileParameters, build_upp
from .coding import luhn_check_digit
from .default_profile import default_test_profile
from .dump import dump_upp

COMMAND = "profile"   # mounted as `euicc-emu profile ...`
DESCRIPTION = """\
Build, read and write SIM profile packages (SAIP).

The packages are in the interoperable format of the Trusted Connectivity Alliance (SAIP, the
Unprotected Profile Package an SM-DP+ serves): build one from subscription parameters (ICCID,
IMSI, keys, PINs), print one as JSON, or write the test profile every new card carries."""
EPILOG = """\
examples:
  euicc-emu profile build --iccid 8900100000000000001 --add-luhn --imsi 001010000000002 \\
      --k 465B5CE8B199B49FAA5F0A2EE238A6BC --opc CD63CB71954A9F4E48A5994E37A02BAF --out my.der
  euicc-emu profile dump my.der"""


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from exc


def build_parser() -> CommandParser:
    parser = CommandParser(prog="euicc-emu profile", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="build a profile package (DER) from subscription parameters")
    build.add_argument("--iccid", required=True, help="18-20 digits (see --add-luhn)")
    build.add_argument("--add-luhn", action="store_true", help="append the Luhn check digit")
    build.add_argument("--imsi", required=True)
    build.add_argument("--mnc-length", type=int, default=2, choices=(2, 3))
    build.add_argument("--algorithm", default="milenage", choices=("milenage", "tuak", "xor"))
    build.add_argument("--k", type=_hex, required=True, help="subscriber key K (hex)")
    build.add_argument("--opc", type=_hex, help="OPc (Milenage) / TOPc (TUAK), hex")
    build.add_argument("--op", type=_hex, help="OP (Milenage only), hex; OPc is derived")
    build.add_argument("--amf", type=_hex, default=b"\x80\x00", help="kept for reference only")
    build.add_argument("--milenage-r", type=_hex, help="r1..r5, 5 bytes hex")
    build.add_argument("--milenage-c", type=_hex, help="c1..c5, 80 bytes hex")
    build.add_argument("--keccak-iterations", type=int, default=1)
    for name, default in (("pin1", "0000"), ("pin2", "9999"), ("puk1", "11111111"),
                          ("puk2", "22222222"), ("adm1", "55555555"), ("adm2", None)):
        build.add_argument(f"--{name}", default=default)
    build.add_argument("--spn", default="euicc-emu")
    build.add_argument("--kvn", type=lambda v: int(v, 0), default=None,
                       help="MNO-SD key version number (enables the key set)")
    build.add_argument("--key-algorithm", default="aes", choices=("aes", "des"))
    for name in ("kic", "kid", "kik"):
        build.add_argument(f"--{name}", type=_hex)
    build.add_argument("--impi")
    build.add_argument("--impu", action="append", default=[])
    build.add_argument("--domain")
    build.add_argument("--out", required=True, type=Path)
    dump = sub.add_parser("dump", help="print a profile package as JSON")
    dump.add_argument("file", type=Path)
    default = sub.add_parser("default", help="write the test profile every new card carries")
    default.add_argument("--out", required=True, type=Path)
    return parser


def _params(args: argparse.Namespace) -> ProfileParameters:
    iccid = args.iccid + luhn_check_digit(args.iccid) if args.add_luhn else args.iccid
    key_sets: tuple[KeySet, ...] = ()
    if args.kvn is not None:
        if not (args.kic and args.kid and args.kik):
            raise ValueError("--kvn needs --kic, --kid and --kik")
        key_sets = (KeySet(args.kvn, args.kic, args.kid, args.kik, args.key_algorithm),)
    isim = None
    if args.impi or args.impu or args.domain:
        if not (args.impi and args.impu and args.domain):
            raise ValueError("an ISIM needs --impi, --impu and --domain")
        isim = IsimParameters(args.impi, tuple(args.impu), args.domain)
    extra = {}
    if args.milenage_r is not None:
        extra["milenage_r"] = args.milenage_r
    if args.milenage_c is not None:
        extra["milenage_c"] = args.milenage_c
    return ProfileParameters(
        iccid=iccid, imsi=args.imsi, k=args.k, opc=args.opc, op=args.op, amf=args.amf,
        algorithm=args.algorithm, keccak_iterations=args.keccak_iterations,
        mnc_length=args.mnc_length, pin1=args.pin1, pin2=args.pin2, puk1=args.puk1,
        puk2=args.puk2, adm1=args.adm1, adm2=args.adm2, spn=args.spn, key_sets=key_sets,
        isim=isim, **extra)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tool; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "build":
            args.out.write_bytes(build_upp(_params(args)))
        elif args.command == "default":
            args.out.write_bytes(default_test_profile())
        else:
            json.dump(dump_upp(args.file.read_bytes()), sys.stdout, indent=2)
            sys.stdout.write("\n")
    except SaipError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
