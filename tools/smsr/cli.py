"""``euicc-emu smsr``: a test SM-SR driving the ISD-R of a card on PC/SC over SCP80 SMS-PP (SGP.02 ES5).

    smsr --kic HEX --kid HEX [--kvn 1] [--algo aes] [--counter N] [--reader R] FUNCTION [ARGS]
    functions: audit | create-isdp [AID] | enable AID | disable AID | delete AID |
               set-fallback AID | set-emergency AID | update-address MSISDN | notifications
"""
from __future__ import annotations

import argparse
import sys

from tools.ota.packet import AES, TDES2, TDES3, OtaKeyset
from tools.smsr.eis import Eis
from tools.smsr.smsr import CommandFailed, OtaFailure, SmSr
from tools.terminal.cli import add_reader_argument, open_link
from tools.terminal.link import LinkError
from tools.terminal.terminal import Terminal

COMMAND = "smsr"
ALGORITHMS = {"aes": AES, "3des2": TDES2, "3des3": TDES3}
ONE_AID = ("enable", "disable", "delete", "set-fallback", "set-emergency")


def add_keyset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kic", required=True, help="ISD-R KIc (hex)")
    parser.add_argument("--kid", required=True, help="ISD-R KID (hex)")
    parser.add_argument("--kvn", type=int, default=1)
    parser.add_argument("--algo", choices=sorted(ALGORITHMS), default="aes")
    parser.add_argument("--counter", type=int, default=1, help="first SCP80 counter value to use")
    add_reader_argument(parser)


def connect(args: argparse.Namespace) -> SmSr:
    """An SM-SR attached to a terminal on the chosen reader, counter primed from ``--counter``."""
    algorithm = ALGORITHMS[args.algo]
    keyset = OtaKeyset(args.kvn, algorithm, bytes.fromhex(args.kic), algorithm, bytes.fromhex(args.kid))
    eis = Eis(counters={args.kvn: args.counter - 1})
    smsr = SmSr(eis, keyset)
    terminal = Terminal(open_link(args.reader))
    smsr.attach(terminal)
    terminal.start()
    return smsr


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="euicc-emu smsr", description=__doc__.splitlines()[0])
    add_keyset_arguments(parser)
    sub = parser.add_subparsers(dest="function", required=True)
    sub.add_parser("audit")
    sub.add_parser("create-isdp").add_argument("aid", nargs="?")
    for name in ONE_AID:
        sub.add_parser(name).add_argument("aid")
    sub.add_parser("update-address").add_argument("msisdn")
    sub.add_parser("notifications")
    return parser


def run(smsr: SmSr, args: argparse.Namespace) -> list[str]:
    aid = bytes.fromhex(args.aid) if getattr(args, "aid", None) else None
    if args.function == "audit":
        return [f"{e.aid.hex().upper()} {e.state} fallback={e.fallback}" for e in smsr.audit()] + \
               [f"ECASD certificate {smsr.eis.ecasd_certificate.hex()}"]
    if args.function == "create-isdp":
        return [f"created {smsr.create_isdp(aid).hex().upper()}"]
    if args.function == "update-address":
        smsr.update_smsr_addressing_parameters(args.msisdn)
        return ["ok"]
    if args.function == "notifications":
        return [f"confirmed {n.type_name} seq {n.sequence}" for n in smsr.confirm_all()]
    action = {"enable": smsr.enable_profile, "disable": smsr.disable_profile, "delete": smsr.delete_profile,
              "set-fallback": smsr.set_fallback_attribute, "set-emergency": smsr.set_emergency_profile_attribute}
    action[args.function](aid)
    return ["ok"]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        smsr = connect(args)
        lines = run(smsr, args)
        lines.append(f"next counter {smsr.eis.counters[args.kvn] + 1}")
    except (CommandFailed, OtaFailure, LinkError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
