"""``euicc-emu info``: EID, ICCIDs, applets and profiles of a state file (``Card.describe()``)."""
from __future__ import annotations

import argparse
import json

from tools.cli import add_state_argument, state_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="print EID, ICCIDs, applets and profiles of a state file",
        description="Print what a card holds, read from its state file (the card need not be running):\n"
                    "its EID, the ICCIDs of its profiles, its applets with their life-cycle states and\n"
                    "privileges, and its profiles.",
        epilog="example:\n"
               "  euicc-emu info --json    the same information as JSON, for scripts")
    add_state_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the information as JSON")
    parser.set_defaults(func=info)


def info(args: argparse.Namespace) -> int:
    from euicc.card import Card
    from euicc.composition import open_card
    card = open_card(state_path(args), extensions=args.extensions, create=False)   # never makes a card; a bad file: tools.cli.main
    try:
        description = card.describe()
    finally:
        card.close()
    print(json.dumps(description, indent=2, default=str) if args.json else format_description(description))
    return 0


def format_description(desc: dict) -> str:
    """Human-readable rendering of ``Card.describe()``."""
    lines = [f"EID:      {desc.get('eid', '?')}"]
    iccids = desc.get("iccids") or []
    lines.append("ICCIDs:   " + (", ".join(map(str, iccids)) if iccids else "(none)"))
    lines.append("Applets:")
    for applet in desc.get("applets") or []:
        privileges = applet.get("privileges", "")
        if isinstance(privileges, (list, tuple)):
            privileges = ",".join(map(str, privileges))
        lines.append(f"  {applet.get('aid', '?'):<34} {str(applet.get('kind', '')):<8} "
                     f"{str(applet.get('lifecycle', '')):<12} {privileges}")
    profiles = desc.get("profiles") or []
    lines.append("Profiles:" + ("" if profiles else " (none)"))
    for profile in profiles:
        if isinstance(profile, dict):
            lines.append("  " + "  ".join(f"{k}={v}" for k, v in profile.items()))
        else:
            lines.append(f"  {profile}")
    scp03 = desc.get("isd_r_scp03")
    if scp03:
        lines.extend(format_scp03(scp03))
    return "\n".join(lines)


def format_scp03(scp03: dict) -> list[str]:
    """The ISD-R's SCP03 key sets (test keys, shown in clear) of ``Card.describe()``."""
    lines = [f"ISD-R SCP03 (i={scp03['i']}, {scp03['mode']}):" + ("" if scp03["key_sets"] else " (no key set)")]
    for k in scp03["key_sets"]:
        lines.append(f"  KVN {k['kvn']}  ENC {k['enc'] or '-'}  MAC {k['mac'] or '-'}  DEK {k['dek'] or '-'}"
                     f"  KCV {'/'.join(c or '-' for c in k['kcv'])}  counter {k['sequence_counter']}")
    return lines
