"""``euicc-emu terminal``: act as the modem for a card on PC/SC (TS 102 223 terminal side).

    terminal [--reader N|NAME] start                  reset + TERMINAL PROFILE, serve proactive commands
    terminal [--reader N|NAME] location normal|limited|none
    terminal [--reader N|NAME] apdu HEX...            send APDUs, serving '91xx' in between
"""
from __future__ import annotations

import argparse
import sys

from tools.cli import CommandParser
from tools.terminal import cat
from tools.terminal.link import CardLink, LinkError, PcscLink
from tools.terminal.terminal import Terminal

COMMAND = "terminal"
STATUSES = {"normal": cat.NORMAL_SERVICE, "limited": cat.LIMITED_SERVICE, "none": cat.NO_SERVICE}
DESCRIPTION = """\
Act as the phone or modem in front of a card in a PC/SC reader (SIM Toolkit).

This is the terminal side of ETSI TS 102 223: reset the card, send TERMINAL PROFILE, and serve the
proactive commands the card asks for; report a network location status; or send APDUs, serving the
card's proactive commands in between."""
EPILOG = """\
examples:
  euicc-emu terminal start
  euicc-emu terminal --reader 1 location normal
  euicc-emu terminal apdu 00A40004023F00"""


def add_reader_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reader", default="0", help="PC/SC reader index or (part of its) name (default 0)")


def open_link(reader: str) -> CardLink:
    return PcscLink(int(reader) if reader.isdigit() else reader)


def print_sms(tpdu: bytes, address: bytes) -> bool:
    print(f"SEND SHORT MESSAGE to {address.hex() or '-'}: {tpdu.hex()}")
    return True


def build_parser() -> CommandParser:
    parser = CommandParser(prog="euicc-emu terminal", description=DESCRIPTION, epilog=EPILOG)
    add_reader_argument(parser)
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("start", help="reset the card, send TERMINAL PROFILE, serve its proactive commands")
    sub.add_parser("location", help="send a location status event (normal service, limited or none)"
                   ).add_argument("status", choices=sorted(STATUSES))
    sub.add_parser("apdu", help="send APDUs (hex), serving proactive commands ('91xx') in between"
                   ).add_argument("apdus", nargs="+", metavar="APDU")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    terminal = None
    try:
        terminal = Terminal(open_link(args.reader), print_sms)
        print(f"ATR {terminal.start().hex()}")
        if args.action == "location":
            print(f"SW {terminal.location_status(STATUSES[args.status]):04X}")
        elif args.action == "apdu":
            for apdu in args.apdus:
                data, sw = terminal.send(bytes.fromhex(apdu))
                print(f"{data.hex()} {sw:04X}")
        for command in terminal.record.proactive:
            print(f"proactive {command.type:02X}/{command.qualifier:02X}: {command.raw.hex()}")
    except (LinkError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if terminal is not None:
            terminal.link.close()
    return 0
