"""``euicc-emu modem``: a virtual AT modem (3GPP TS 27.007 SIM commands) on a pseudo-terminal.

    euicc-emu modem [--state PATH | --reader NAME] [--link PATH] [quirk options]

The card is the one of the state file (in this process) or the card in a PC/SC reader (so a
real card can be fronted too).  The port's path is printed on stdout; SIGINT/SIGTERM stop it.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from tools.cli import add_state_argument, state_path
from tools.modem.commands import SHORT_APDU_MAX, Quirks, make_modem
from tools.modem.pty import PtyPort
from tools.modem.sim import SimAccess
from tools.terminal.link import CallableLink, CardLink, LinkError, PcscLink

log = logging.getLogger("euicc-emu.modem")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "modem", help="a virtual AT modem (27.007 +CSIM/+CRSM/+CGLA...) on a pty",
        description="Put a card behind a serial port (a pseudo-terminal, its path printed) that answers\n"
                    "the 3GPP TS 27.007 SIM commands (+CSIM, +CRSM, +CCHO/+CCHC/+CGLA, +CIMI, +CPIN,\n"
                    "+CFUN, +CMEE, ATE, ATI) the way modem-side software reaches a card: the card of a\n"
                    "state file in this process, or any card in a PC/SC reader.",
        epilog="examples:\n"
               "  euicc-emu modem --state card.state --link /tmp/ttyEUICC\n"
               "  euicc-emu modem --reader 'Virtual PCD 00 00' --lower-hex --csim-length bytes")
    add_state_argument(parser)
    parser.add_argument("--reader", default=None, metavar="NAME",
                        help="front the card in this PC/SC reader (index, name or part of it) instead of --state")
    parser.add_argument("--link", type=Path, default=None, metavar="PATH", help="also make PATH a symlink to the port")
    quirks = parser.add_argument_group("quirks of real modems")
    quirks.add_argument("--lower-hex", action="store_true", help="hex responses in lower case")
    quirks.add_argument("--no-logical-channels", action="store_true", help="+CCHO/+CCHC/+CGLA answer ERROR")
    quirks.add_argument("--max-apdu", type=int, default=SHORT_APDU_MAX, metavar="N",
                        help="longest APDU taken by +CSIM/+CGLA, in bytes (default %(default)s)")
    quirks.add_argument("--csim-length", choices=("hex", "bytes"), default="hex",
                        help="+CSIM/+CGLA <length> in hex characters (27.007) or in bytes")
    quirks.add_argument("--fetch-response", action="store_true",
                        help="+CSIM/+CGLA fetch 61xx data (GET RESPONSE) and repeat on 6Cxx themselves")
    quirks.add_argument("--ccho-prefix", action="store_true",
                        help='+CCHO answers "+CCHO: <sessionid>" (what lpac expects) instead of "<sessionid>"')
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reader is not None and args.state is not None:
        print("euicc-emu modem: --state and --reader exclude each other", file=sys.stderr)
        return 2
    if args.max_apdu < 4:
        print("euicc-emu modem: --max-apdu must be at least 4 (an APDU header)", file=sys.stderr)
        return 2
    quirks = Quirks(lower_hex=args.lower_hex, logical_channels=not args.no_logical_channels,
                    max_apdu=args.max_apdu, length_in_bytes=args.csim_length == "bytes",
                    fetch_response=args.fetch_response, ccho_prefix=args.ccho_prefix)
    with contextlib.ExitStack() as stack:
        try:
            link = _open_link(args, stack)
            modem = make_modem(SimAccess(link), quirks)
            port = PtyPort(args.link)
        except (LinkError, OSError) as exc:
            print(f"euicc-emu modem: {exc}", file=sys.stderr)
            return 1
        stack.callback(port.close)
        print(port.path, flush=True)
        log.info("modem on %s%s", port.path, f" (link {args.link})" if args.link else "")
        stop = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            port.serve(modem.feed, stop)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    return 0


def _open_link(args: argparse.Namespace, stack: contextlib.ExitStack) -> CardLink:
    if args.reader is not None:
        link = PcscLink(int(args.reader) if args.reader.isdigit() else args.reader)
        stack.callback(link.close)
        return link
    from euicc.composition import open_card
    from euicc.nvm import StateFileError

    path = state_path(args)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        card = open_card(path)
    except StateFileError as exc:
        raise LinkError(str(exc)) from exc
    stack.callback(card.close)
    return CallableLink(card.transmit, card.reset)
