"""``euicc-emu terminal``: act as the modem for a card on PC/SC (TS 102 223 terminal side).

    terminal [--reader N|NAME] [--terminal-profile HEX | --no-bip] [--dns-server ADDRESS]... ACTION
      start                  reset + TERMINAL PROFILE, serve proactive commands
      location normal|limited|none   report a location status (when the card registered it)
      apdu HEX...            send APDUs, serving '91xx' in between
      serve [--seconds S] [--network normal|limited|none]
                             keep the card's timers and BIP channels (real sockets) running
    --smsc URL               the card's SMS go to this SMSC endpoint (an SM-SR service's --mo-port)
    --mt-port PORT           while serving, take SMS for the card here (an SM-SR service's --device)
"""
from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from contextlib import nullcontext

from tools.cli import CommandParser
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
from tools.terminal.link import CardLink, LinkError, PcscLink
from tools.terminal.sms_network import HttpSmsc, MtEndpoint
from tools.terminal.terminal import Terminal

COMMAND = "terminal"
STATUSES = {"normal": cat.NORMAL_SERVICE, "limited": cat.LIMITED_SERVICE, "none": cat.NO_SERVICE}
DESCRIPTION = """\
Act as the phone or modem in front of a card in a PC/SC reader (SIM Toolkit).

This is the terminal side of ETSI TS 102 223: reset the card, send TERMINAL PROFILE, and serve the
proactive commands the card asks for; report a network location status; or send APDUs, serving the
card's proactive commands in between.  Events are sent only when the card registered them with
SET UP EVENT LIST; the card's timers (TIMER MANAGEMENT) expire in real time and its BIP channels
(OPEN CHANNEL) are carried over real sockets while the terminal serves."""
EPILOG = """\
examples:
  euicc-emu terminal start
  euicc-emu terminal --reader 1 location normal
  euicc-emu terminal apdu 00A40004023F00
  euicc-emu terminal --no-bip serve --seconds 60
  euicc-emu terminal --dns-server 127.0.0.1 serve   give the card a DNS server when it asks
  euicc-emu terminal --smsc http://127.0.0.1:8446/ --mt-port 8447 serve --seconds 3600 --network normal"""


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
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--terminal-profile", type=_hex, metavar="HEX",
                         help="TERMINAL PROFILE to send (TS 102 223 §5.2; default: a modem with BIP, timers, events)")
    profile.add_argument("--no-bip", action="store_true",
                         help="the default profile without BIP (the card then uses SMS only)")
    parser.add_argument("--dns-server", action="append", default=[], type=ip_text, metavar="ADDRESS",
                        help="a DNS server (IPv4 or IPv6) the terminal gives when OPEN CHANNEL asks for "
                             "them (TS 102 223 §6.4.27; repeatable)")
    parser.add_argument("--smsc", metavar="URL",
                        help="send the card's SMS (SEND SHORT MESSAGE) to this SMSC endpoint over HTTP "
                             "(an SM-SR service's --mo-port) instead of printing them")
    parser.add_argument("--mt-port", type=int, metavar="PORT",
                        help="serve: deliver the SMS an SM-SR service sends to PORT (0: any free one) to the card "
                             "(the service's --device URL)")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("start", help="reset the card, send TERMINAL PROFILE, serve its proactive commands")
    sub.add_parser("location", help="send a location status event (normal service, limited or none)"
                   ).add_argument("status", choices=sorted(STATUSES))
    sub.add_parser("apdu", help="send APDUs (hex), serving proactive commands ('91xx') in between"
                   ).add_argument("apdus", nargs="+", metavar="APDU")
    serve = sub.add_parser("serve", help="run the card's timers and BIP channels for a while")
    serve.add_argument("--seconds", type=float, default=60.0, help="how long (default %(default)s)")
    serve.add_argument("--network", choices=sorted(STATUSES),
                       help="the network the device finds: reported after each reset of the card (TERMINAL "
                            "PROFILE, REFRESH), as a modem does when it attaches")
    return parser


def _hex(text: str) -> bytes:
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hexadecimal: {text!r}") from None
    if not value:
        raise argparse.ArgumentTypeError("an empty TERMINAL PROFILE")
    return value


def ip_text(text: str) -> str:
    """An IPv4 or IPv6 address argument, normalised."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def terminal_profile(args: argparse.Namespace) -> bytes:
    if args.terminal_profile:
        return args.terminal_profile
    return cat.profile_bytes(cat.MODEM_PROFILE, cat.NO_BIP) if args.no_bip else cat.MODEM_PROFILE


def serve(terminal: Terminal, args: argparse.Namespace, step: float = 0.05) -> None:
    """Run the card's timers and channels; with ``--mt-port`` take MT SMS for it meanwhile, with
    ``--network`` report that location status whenever the card was reset (TS 102 223 §7.5.4)."""
    endpoint = MtEndpoint(terminal, port=args.mt_port).start() if args.mt_port is not None else None
    if endpoint is not None:
        print(f"MT endpoint on {endpoint.url}", flush=True)
    end, reported = time.monotonic() + args.seconds, -1
    try:
        while time.monotonic() < end:
            with endpoint.device() if endpoint is not None else nullcontext():
                if args.network and reported != terminal.record.resets:
                    reported = terminal.record.resets
                    terminal.location_status(STATUSES[args.network])
                terminal.poll()
            time.sleep(step)
    finally:
        if endpoint is not None:
            endpoint.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    terminal = None
    try:
        terminal = Terminal(open_link(args.reader), HttpSmsc(args.smsc) if args.smsc else print_sms,
                            profile=terminal_profile(args), bip=BipTerminal(dns_servers=tuple(args.dns_server)))
        print(f"ATR {terminal.start().hex()}")
        print("events registered: " + (" ".join(f"{e:02X}" for e in sorted(terminal.event_list)) or "none"))
        if args.action == "location":
            if cat.EVENT_LOCATION_STATUS not in terminal.event_list:
                print("the card did not register the location status event: nothing sent")
            print(f"SW {terminal.location_status(STATUSES[args.status]):04X}")
        elif args.action == "serve":
            serve(terminal, args)
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
