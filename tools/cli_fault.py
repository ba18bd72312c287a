"""``euicc-emu fault``: change a running card's faults and response fuzzing, and the ``run`` side of it.

The running card (``euicc-emu run --fault-control``, ``--faults`` or ``--fuzz-responses``) listens
on a Unix socket (:mod:`vpcd_bridge.control`), by default the state file's path + ``.control``;
this command sends it one request and prints the reply.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from tools.cli import add_state_argument, state_path

CONTROL_SUFFIX = ".control"


class InstrumentError(Exception):
    """The instrument options cannot be used (bad rules file, control socket in use)."""


def control_path(state: Path) -> Path:
    """The default control socket of the card whose state file is `state`."""
    return state.with_name(state.name + CONTROL_SUFFIX)


# -- `euicc-emu run` side ------------------------------------------------------------------------
class Instrument:
    """What ``run`` needs: wraps each card in an InstrumentedCard and serves the control socket."""

    def __init__(self, rules: list[Any], control: Path, trace: Any, fuzz: tuple[int, float] | None,
                 replay: Path | None) -> None:
        from vpcd_bridge.faults import FaultTable, RuleError
        from vpcd_bridge.response_fuzz import ReplayError, read_replay
        for rule in rules:                 # refuse a bad rules file before any card starts
            try:
                FaultTable().add(rule)
            except RuleError as exc:
                raise InstrumentError(f"fault rule {json.dumps(rule)}: {exc}") from None
        self.replay: dict[int, Any] | None = None
        if replay is not None:
            try:
                self.replay = read_replay(replay)
            except (OSError, ReplayError) as exc:
                raise InstrumentError(f"--fuzz-replay {replay}: {exc}") from None
        self.rules, self.control, self.trace, self.fuzz = rules, control, trace, fuzz
        self.cards: dict[int, Any] = {}

    def wrap(self, card: Any, slot: int, t0: bool) -> Any:
        from vpcd_bridge.faults import FaultTable
        from vpcd_bridge.instrument import InstrumentedCard
        from vpcd_bridge.response_fuzz import ResponseFuzzer
        table = FaultTable()
        for rule in self.rules:
            table.add(rule)
        fuzzer = None
        if self.replay is not None:
            fuzzer = ResponseFuzzer.replaying(self.replay.get(slot, {}))
        elif self.fuzz is not None:
            fuzzer = ResponseFuzzer(*self.fuzz)
        wrapped = InstrumentedCard(card, t0=t0, faults=table, fuzzer=fuzzer, trace=self.trace, slot=slot)
        self.cards[slot] = wrapped
        return wrapped

    def serve(self, stack: contextlib.ExitStack) -> None:
        from vpcd_bridge.control import ControlError, Controller, ControlServer
        server = ControlServer(self.control, Controller(self.cards))
        try:
            server.start()
        except ControlError as exc:
            raise InstrumentError(str(exc)) from None
        stack.callback(server.stop)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The instrument options of ``euicc-emu run``."""
    group = parser.add_argument_group(
        "test instrument", "make the card misbehave toward the host on purpose (see 'euicc-emu fault')")
    group.add_argument("--faults", type=Path, default=None, metavar="FILE",
                       help="fault rules to start with (a JSON list of rules, see 'euicc-emu fault add')")
    group.add_argument("--fault-control", nargs="?", const="", default=None, metavar="PATH",
                       help="open the control socket at PATH (default: the state file + '.control') "
                            "to change faults while the card runs; implied by --faults and --fuzz-*")
    group.add_argument("--fuzz-responses", type=_seed_rate, default=None, metavar="SEED:RATE",
                       help="mutate responses: each with probability RATE (0..1), reproducibly from SEED")
    group.add_argument("--fuzz-replay", type=Path, default=None, metavar="TRACE",
                       help="apply exactly the mutations recorded in TRACE (a --trace file of a fuzz run)")


def instrument_setup(args: argparse.Namespace, trace: Any) -> Instrument | None:
    """The instrument the options ask for, or None (the card is presented as it is)."""
    wanted = (args.faults, args.fault_control, args.fuzz_responses, args.fuzz_replay)
    if all(option is None for option in wanted):
        return None
    rules: list[Any] = []
    if args.faults is not None:
        try:
            rules = json.loads(args.faults.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InstrumentError(f"--faults {args.faults}: {exc}") from None
        if not isinstance(rules, list):
            raise InstrumentError(f"--faults {args.faults}: expected a JSON list of rules")
    control = Path(args.fault_control) if args.fault_control else control_path(state_path(args))
    return Instrument(rules, control, trace, args.fuzz_responses, args.fuzz_replay)


def _seed_rate(text: str) -> tuple[int, float]:
    seed, sep, rate = text.partition(":")
    try:
        value = (int(seed), float(rate))
    except ValueError:
        value = None
    if not sep or value is None or not 0.0 <= value[1] <= 1.0 or value[0] < 0:
        raise argparse.ArgumentTypeError(f"expected SEED:RATE with SEED >= 0 and RATE in 0..1, got {text!r}")
    return value


# -- `euicc-emu fault` ---------------------------------------------------------------------------
ACTION_OPTIONS = ("sw", "es10_error", "delay", "drop", "wrong_length", "chain", "proactive", "remove",
                  "power_cut")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fault", help="inject faults into a running card, fuzz its responses",
        description="Change the faults of a running card (one started with 'euicc-emu run --fault-control',\n"
                    "--faults or --fuzz-responses): a forced status word or ES10 error, a delayed, dropped,\n"
                    "wrongly sized or needlessly chained answer, an unexpected proactive command, a card\n"
                    "removal or power cut. Each applied fault is written to the card's --trace.",
        epilog="example:\n"
               "  euicc-emu fault add --aid A0000000871002 --sw 6A82     USIM selection fails once\n"
               "  euicc-emu fault add --es10 BF38 --es10-error invalidCertificate --count always\n"
               "  euicc-emu fault list")
    add_state_argument(parser)
    parser.add_argument("--control", type=Path, default=None, metavar="PATH",
                        help="the card's control socket (default: the state file + '.control')")
    parser.add_argument("--slot", type=int, default=None, help="vpcd slot of the card (default: its first card)")
    sub = parser.add_subparsers(dest="fault_command", required=True, metavar="ACTION", title="actions")

    add = sub.add_parser("add", help="add a fault rule",
                         description="Add a fault rule: what to match (all given fields must hold), what to do,\n"
                                     "and how often. Rule fields are those of a --faults file.")
    match = add.add_argument_group("match (hex)")
    for name in ("cla", "ins", "p1", "p2"):
        match.add_argument(f"--{name}", help=f"{name.upper()} byte")
    match.add_argument("--prefix", help="the command data starts with these bytes")
    match.add_argument("--es10", help="an ES10 command with this tag (STORE DATA), e.g. BF38")
    match.add_argument("--aid", help="SELECT of this AID, and the commands on its channel")
    act = add.add_argument_group("action (one)").add_mutually_exclusive_group(required=True)
    act.add_argument("--sw", help="answer this status word (the card does not see the command)")
    act.add_argument("--es10-error", metavar="CODE", help="answer the ES10 error CODE (name or number)")
    act.add_argument("--delay", type=int, metavar="MS", help="answer MS milliseconds late")
    act.add_argument("--drop", action="store_true", help="do not answer; close the link after --hold-ms")
    act.add_argument("--wrong-length", type=int, metavar="DELTA", help="answer DELTA bytes more or fewer")
    act.add_argument("--chain", type=int, metavar="CHUNK", help="deliver the data in 61xx pieces of CHUNK bytes")
    act.add_argument("--proactive", nargs="?", const="", metavar="HEX",
                     help="turn the next 9000 into 91xx and serve HEX (default DISPLAY TEXT) on FETCH")
    act.add_argument("--remove", action="store_true", help="remove the card before the command, reinsert later")
    act.add_argument("--power-cut", action="store_true", help="cut the power (before the command, or at --write)")
    act.add_argument("--json", dest="rule_json", metavar="RULE", help="the whole rule as JSON")
    extra = add.add_argument_group("action parameters")
    extra.add_argument("--data", help="response data with --sw (hex)")
    extra.add_argument("--bpp-command", help="BppCommandId of a LoadBoundProfilePackage error")
    extra.add_argument("--transaction-id", help="transactionId of a forged ES10 error (default: the request's)")
    extra.add_argument("--hold-ms", type=int, help="--drop: how long the host waits before the link closes")
    extra.add_argument("--absent-ms", type=int, help="--drop/--remove/--power-cut: how long the card is away")
    extra.add_argument("--write", type=int, help="--power-cut: at this NVM write of the command")
    extra.add_argument("--terminal-response", choices=("swallow", "pass"),
                       help="--proactive: answer the TERMINAL RESPONSE 9000 (swallow) or pass it to the card")
    add.add_argument("--skip", type=int, default=None, help="let N matching commands through first")
    add.add_argument("--count", default=None, help="how often: a number, 'once' (default) or 'always'")
    add.set_defaults(func=_add)

    sub.add_parser("list", help="list the rules and the fuzzing").set_defaults(func=_simple, op="list")
    remove = sub.add_parser("remove", help="remove a rule by its id")
    remove.add_argument("id", type=int)
    remove.set_defaults(func=_simple, op="remove")
    sub.add_parser("clear", help="remove all rules").set_defaults(func=_simple, op="clear")
    eject = sub.add_parser("eject", help="remove the card now and reinsert it")
    eject.add_argument("--absent-ms", type=int, default=1000, help="how long it stays out (default %(default)s)")
    eject.set_defaults(func=_simple, op="eject")
    fuzz = sub.add_parser("fuzz", help="start or stop response fuzzing",
                          description="Start mutating the card's responses (SEED:RATE) or stop ('off').")
    fuzz.add_argument("setting", metavar="SEED:RATE|off")
    fuzz.set_defaults(func=_simple, op="fuzz")


def build_rule(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON rule an ``add`` command line describes."""
    if args.rule_json is not None:
        try:
            return json.loads(args.rule_json)
        except ValueError as exc:
            raise InstrumentError(f"--json: {exc}") from None
    rule: dict[str, Any] = {}
    match = {k: getattr(args, k) for k in ("cla", "ins", "p1", "p2", "es10", "aid") if getattr(args, k)}
    if args.prefix:
        match["data"] = args.prefix
    rule["match"] = match
    if args.sw is not None:
        rule.update(action="sw", sw=args.sw)
    elif args.es10_error is not None:
        error = args.es10_error
        rule.update(action="es10_error", error=int(error) if error.isdigit() else error)
    elif args.delay is not None:
        rule.update(action="delay", ms=args.delay)
    elif args.wrong_length is not None:
        rule.update(action="wrong_length", delta=args.wrong_length)
    elif args.chain is not None:
        rule.update(action="chain", chunk=args.chain)
    elif args.proactive is not None:
        rule.update(action="proactive", command=args.proactive)
    else:
        rule["action"] = "drop" if args.drop else "remove" if args.remove else "power_cut"
    for option, key in (("data", "data"), ("bpp_command", "bpp_command"), ("transaction_id", "transaction_id"),
                        ("hold_ms", "hold_ms"), ("absent_ms", "absent_ms"), ("write", "write"),
                        ("terminal_response", "terminal_response"), ("skip", "skip")):
        if getattr(args, option) is not None:
            rule[key] = getattr(args, option)
    if args.count is not None:
        rule["count"] = int(args.count) if args.count.isdigit() else args.count
    return rule


def _send(args: argparse.Namespace, message: dict[str, Any]) -> int:
    from vpcd_bridge.control import request
    path = args.control if args.control is not None else control_path(state_path(args))
    if args.slot is not None:
        message["slot"] = args.slot
    try:
        reply = request(path, message)
    except (OSError, ValueError) as exc:
        print(f"euicc-emu fault: no card listens on {path} ({exc}); start it with "
              "'euicc-emu run --fault-control'", file=sys.stderr)
        return 1
    if not reply.get("ok"):
        print(f"euicc-emu fault: {reply.get('error', 'refused')}", file=sys.stderr)
        return 1
    reply.pop("ok")
    if message["op"] == "list":
        for rule in reply["rules"]:
            print(json.dumps(rule))
        print(f"fuzz: {json.dumps(reply['fuzz'])}")
    elif reply:
        print(json.dumps(reply))
    return 0


def _add(args: argparse.Namespace) -> int:
    try:
        rule = build_rule(args)
    except InstrumentError as exc:
        print(f"euicc-emu fault: {exc}", file=sys.stderr)
        return 1
    return _send(args, {"op": "add", "rule": rule})


def _simple(args: argparse.Namespace) -> int:
    message: dict[str, Any] = {"op": args.op}
    if args.op == "remove":
        message["id"] = args.id
    elif args.op == "eject":
        message["absent_ms"] = args.absent_ms
    elif args.op == "fuzz":
        if args.setting == "off":
            message["off"] = True
        else:
            try:
                message["seed"], message["rate"] = _seed_rate(args.setting)
            except argparse.ArgumentTypeError as exc:
                print(f"euicc-emu fault fuzz: {exc}", file=sys.stderr)
                return 2
    return _send(args, message)
