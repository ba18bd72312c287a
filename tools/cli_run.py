"""``euicc-emu run``: start one or more cards on vpcd slots until SIGINT/SIGTERM.

With ``--cards N`` the cards sit on slots ``SLOT .. SLOT+N-1`` with state files
``PATH.0 .. PATH.{N-1}``; with one card the state file is ``PATH`` itself.  Each slot is claimed
first (:mod:`vpcd_bridge.claim`): a second card on a served slot is refused.  On shutdown every
connection is stopped first, then each card is closed (its state flushed).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from euicc.atr import DEFAULT_INTERFACE, INTERFACES
from euicc.nvm import DURABILITIES, POWER_LOSS
from tools.cli import add_state_argument, state_path
from tools.cli_fault import InstrumentError, add_run_options, instrument_setup
from vpcd_bridge import ApduTrace, BridgeRunner, Endpoint, VpcdConnection, VpcdSession, open_sinks
from vpcd_bridge.claim import SlotClaim, SlotInUse
from vpcd_bridge.connection import DEFAULT_HOST, DEFAULT_PORT
from vpcd_bridge.gsmtap import parse_target

if TYPE_CHECKING:
    from euicc.card import CardConfig
    from euicc.m2m.runtime import M2mRuntime

log = logging.getLogger("euicc-emu")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="present the card(s) to PC/SC through vpcd",
        description="Start the card and present it to PC/SC programs through the vsmartcard virtual\n"
                    "reader (vpcd) until Ctrl-C. The first run creates a new card (EID, test profile) in\n"
                    "the state file; later runs continue with what it holds. With --cards N, N cards\n"
                    "sit on consecutive vpcd slots, each with its own state file (PATH.0, PATH.1, ...).",
        epilog="example:\n"
               "  euicc-emu run --trace    card in reader 'Virtual PCD 00 00', APDUs printed on stdout\n"
               "  euicc-emu run --quirks sysmoeuicc1    a card that looks like a sysmoEUICC1-C2T")
    add_state_argument(parser)
    parser.add_argument("--vpcd-host", default=DEFAULT_HOST, help="vpcd host (default %(default)s)")
    parser.add_argument("--vpcd-port", type=int, default=DEFAULT_PORT, help="vpcd base port, slot 0 (default %(default)s)")
    parser.add_argument("--slot", type=_non_negative, default=0, help="vpcd slot of the first card (port = base + slot)")
    parser.add_argument("--cards", type=_positive, default=1, help="number of cards on consecutive slots")
    parser.add_argument("--listen", action="store_true", help="vpcd reversed mode: wait for vpcd to connect to us")
    parser.add_argument("--quirks", metavar="NAME|FILE", default=None,
                        help="make the card look like a card model: a vendor quirk profile "
                             "('euicc-emu quirks list') or a TOML file; --protocols, --atr and "
                             "--t1-direct given too override its ATR and delivery")
    protocols = parser.add_mutually_exclusive_group()
    protocols.add_argument("--protocols", choices=tuple(INTERFACES), default=None,
                           help="the built-in ATR by the protocols it offers: "
                                + "; ".join(f"{name}: {i.use}" for name, i in INTERFACES.items()))
    protocols.add_argument("--atr", type=_hex_bytes, default=None,
                           help="present this ATR (hex) instead, with T=0 delivery unless --t1-direct")
    parser.add_argument("--t1-direct", action="store_true",
                        help="return response data directly (no T=0 61xx/GET RESPONSE, no 6Cxx); "
                             "with --atr or --protocols t0-t1 (--protocols t1 implies it)")
    parser.add_argument("--svn", choices=SVN_CHOICES, default=None,
                        help="highest SGP.22 version the card speaks: 3.1.0 (the default: v3.1 to "
                             "servers that choose v3, v2 to the others) or 2.5.0 (v2 only: the "
                             "card's own svn, e.g. a quirk profile's, is also its highest)")
    parser.add_argument("--mep", choices=("off", "A1", "A2", "B"), default=None,
                        help="SGP.22 v3 Multiple Enabled Profiles: off (one enabled profile, the "
                             "default), A1 / A2 (ISD-R on eSIM port 0, profiles on ports 1-2, the "
                             "LPA / the eUICC chooses the port) or B (ports 0-1, ISD-R on both); "
                             "ports are selected with MANAGE LSI (TS 102 221 V17)")
    parser.add_argument("--first-profile", choices=("test", "minimal"), default="test",
                        help="profile a NEW card carries: the SAIP test profile (default) or a "
                             "small hand-built UICC file system")
    parser.add_argument("--durability", choices=tuple(DURABILITIES), default=POWER_LOSS,
                        help="what a committed write survives: the card process being killed "
                             "always; with power-loss (default) also a host power loss or OS crash "
                             "(fsync at every commit); process-crash skips the fsync (faster writes)")
    parser.add_argument("--trace", nargs="?", const="-", default=None, metavar="FILE",
                        help="APDU trace to FILE (appended), or stdout when FILE is '-' or omitted")
    parser.add_argument("--gsmtap", type=_gsmtap_target, default=None, metavar="HOST[:PORT]",
                        help="send every command/response pair and ATR as GSMTAP (type SIM) over UDP "
                             "to HOST, port 4729 unless given (for Wireshark)")
    parser.add_argument("--pcap", type=Path, default=None, metavar="FILE",
                        help="write the same GSMTAP messages to a pcap FILE (overwritten) for Wireshark/tshark")
    parser.add_argument("--m2m-validity-period", type=_seconds, default=None, metavar="SECONDS",
                        help="SGP.02: seconds after which an unconfirmed profile switch is rolled back "
                             "(notification 03); default the card's own (euicc.m2m.settings validity_period)")
    parser.add_argument("--m2m-notification-retry-interval", type=_seconds, default=None, metavar="SECONDS",
                        help="SGP.02 §3.15: seconds before an unconfirmed notification is sent again; "
                             "default the card's own (notification_retry_interval)")
    parser.add_argument("--m2m-notification-transport", choices=NOTIFICATION_TRANSPORTS, default=None,
                        help="SGP.02 §3.15: how the card delivers its notifications to the SM-SR: sms "
                             "(SEND SHORT MESSAGE) or https (an HTTPS administration session to the "
                             "SM-SR's address from its last trigger, SMS while none is known or the "
                             "terminal has no BIP); default the card's own (notification_transport)")
    add_run_options(parser)
    parser.set_defaults(func=run)


def card_plan(path: Path, slot: int, cards: int) -> list[tuple[int, Path]]:
    """(slot, state file) of each card."""
    if cards == 1:
        return [(slot, path)]
    return [(slot + i, path.with_name(f"{path.name}.{i}")) for i in range(cards)]


SVN_CHOICES = ("2.5.0", "3.1.0")
NOTIFICATION_TRANSPORTS = ("sms", "https")
M2M_OPTIONS = ("validity_period", "notification_retry_interval", "notification_transport")
"""The euicc.m2m.settings.M2mSettings fields ``run --m2m-FIELD`` sets (dashes for underscores)."""


def card_config(args: argparse.Namespace) -> CardConfig:
    """The card's settings: those of the --quirks profile (tools.quirks; raises QuirkError), then
    the ATR and response delivery chosen by --protocols / --atr / --t1-direct (euicc.atr), which
    override the profile's, then the highest SGP.22 version of --svn (EUICCInfo highestSvn) and
    the MEP option of --mep (a v3 feature: refused on a v2-only card)."""
    from euicc.rsp import mep
    from euicc.rsp.euicc_info import settings
    config = _interface_config(args)
    if getattr(args, "mep", None) is not None:
        config = replace(config, ports=mep.layout(args.mep))
    info = settings(config)   # the profile's EUICCInfo values, or the SGP.22 extension's own
    if args.svn is not None:
        highest = bytes(int(n) for n in args.svn.split(".")) if args.svn != SVN_CHOICES[0] else info.svn
        info = replace(info, highest_svn=highest)
    if config.ports.mode != mep.OFF and not info.v3:
        raise ValueError(f"--mep {config.ports.mode}: Multiple Enabled Profiles is SGP.22 v3 "
                         "(this card's highest version is 2.x)")
    return replace(config, euicc_info=info)


def _interface_config(args: argparse.Namespace) -> CardConfig:
    from euicc.card import CardConfig
    from tools.quirks import load
    profile = load(args.quirks) if args.quirks else None
    base = profile.config if profile else CardConfig()
    if args.atr is not None:
        return replace(base, atr=args.atr, t0=not args.t1_direct)
    if args.protocols is None and profile is not None:
        if args.t1_direct and profile.protocols == "t0":
            raise ValueError(f"--t1-direct needs an ATR that offers T=1: profile {profile.name}'s "
                             "offers T=0 only (add --protocols t1 or --protocols t0-t1)")
        return replace(base, t0=base.t0 and not args.t1_direct)
    name = args.protocols or DEFAULT_INTERFACE
    interface = INTERFACES[name]
    if args.t1_direct and name == "t0":
        raise ValueError("--t1-direct needs an ATR that offers T=1: a T=0 card delivers data with "
                         "61xx/6Cxx (use --protocols t1 or --protocols t0-t1 --t1-direct)")
    return replace(base, atr=interface.atr, t0=interface.t0_delivery and not args.t1_direct)


def m2m_runtime(args: argparse.Namespace) -> M2mRuntime | None:
    """The SGP.02 runtime with the settings given on the command line (``--m2m-*``; None: the
    card's defaults); ValueError when they are given for a card opened without the m2m extension."""
    from euicc.composition import default_names
    from euicc.m2m.runtime import M2mRuntime
    from euicc.m2m.settings import M2mSettings
    given = {field: value for field in M2M_OPTIONS if (value := getattr(args, "m2m_" + field)) is not None}
    if not given:
        return None
    if "m2m" not in (args.extensions if args.extensions is not None else default_names()):
        options = ", ".join("--m2m-" + field.replace("_", "-") for field in given)
        raise ValueError(f"{options}: the card is opened without the m2m extension (--extensions)")
    return M2mRuntime(settings=M2mSettings(**given))


def run(args: argparse.Namespace) -> int:
    from euicc.asn1 import precompile
    from euicc.composition import open_card
    from euicc.nvm import StateFileError
    from tools.quirks import QuirkError
    try:
        config = card_config(args)
        m2m = m2m_runtime(args)
    except QuirkError as exc:
        print(f"euicc-emu: quirks {args.quirks}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"euicc-emu: {exc}", file=sys.stderr)
        return 2
    if args.quirks:
        log.info("quirks profile %s", args.quirks)
    if m2m is not None:
        log.info("SGP.02 settings: %s", ", ".join(f"{field.replace('_', ' ')} {getattr(m2m.settings, field)}"
                                                  for field in M2M_OPTIONS))
    with contextlib.ExitStack() as stack:
        try:
            sinks = open_sinks(stack, args.trace, args.gsmtap, args.pcap)
        except OSError as exc:
            print(f"euicc-emu: cannot open the trace: {exc}", file=sys.stderr)
            return 1
        trace = next((sink for sink in sinks if isinstance(sink, ApduTrace)), None)
        try:
            instrument = instrument_setup(args, trace)
        except InstrumentError as exc:
            print(f"euicc-emu: {exc}", file=sys.stderr)
            return 1
        connections = []
        for slot, path in card_plan(state_path(args), args.slot, args.cards):
            endpoint = Endpoint(args.vpcd_host, args.vpcd_port, slot, listen=args.listen)
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                stack.enter_context(SlotClaim(endpoint))
                card = open_card(path, config, first_profile=args.first_profile, extensions=args.extensions,
                                 m2m=m2m, durability=args.durability)
            except (SlotInUse, StateFileError) as exc:
                print(f"euicc-emu: {exc}", file=sys.stderr)
                return 1
            except ValueError as exc:   # settings the card's extensions do not have (CardConfig.disabled)
                print(f"euicc-emu: {exc}", file=sys.stderr)
                return 2
            stack.callback(_close_card, card, path)
            log.info("slot %d: card %s (ATR %s) from %s", slot, _eid(card), card.atr.hex().upper(), path)
            presented = instrument.wrap(card, slot, config.t0) if instrument else card
            connections.append(VpcdConnection(VpcdSession(presented, slot, sinks), endpoint))
            if instrument:
                presented.attach(connections[-1])
        if instrument:
            try:
                instrument.serve(stack)
            except InstrumentError as exc:
                print(f"euicc-emu: {exc}", file=sys.stderr)
                return 1
        started = time.perf_counter()
        precompile()   # before any card is presented: the first ES10 command must not compile them
        log.info("ASN.1 modules ready in %.2f s", time.perf_counter() - started)
        gc.freeze()   # the card OS, its ASN.1 modules and state are long-lived: keep the collector off them
        signum = BridgeRunner(connections).serve_until_signalled()
        log.info("stopped%s; closing card state", f" by signal {signum}" if signum else "")
    return 0


def _close_card(card: object, path: Path) -> None:
    card.close()  # type: ignore[attr-defined]
    log.info("state flushed to %s", path)


def _eid(card: object) -> str:
    describe = getattr(card, "describe", None)
    return str(describe().get("eid", "?")) if callable(describe) else "?"


def _gsmtap_target(text: str) -> tuple[str, int]:
    try:
        return parse_target(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _hex_bytes(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.replace(" ", "").replace(":", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not hex: {text!r}") from None
    if not 2 <= len(value) <= 33:  # ISO 7816-3 §8.2: TS, T0 ... at most 32 bytes after TS
        raise argparse.ArgumentTypeError(f"an ATR has 2..33 bytes, got {len(value)}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value
