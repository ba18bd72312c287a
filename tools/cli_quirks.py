"""``euicc-emu quirks list|show``: the vendor quirk profiles (:mod:`tools.quirks`, imported when a
command runs: it loads the card's modules, which other commands' start-up need not pay for)."""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "quirks", help="list and show vendor quirk profiles (euicc-emu run --quirks)",
        description="Vendor quirk profiles make the card look like a card model: its ATR, ISD-R AID,\n"
                    "EUICCInfo versions, Le policy, logical channels, STORE DATA block size and optional\n"
                    "features. Shipped profiles and your own NAME.toml files in\n"
                    "~/.config/euicc-emu/quirks are listed by name; any file can be given by path.",
        epilog="example:\n"
               "  euicc-emu quirks show sysmoeuicc1    the settings 'euicc-emu run --quirks sysmoeuicc1' uses")
    commands = parser.add_subparsers(dest="quirks_command", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="the profiles by name, with a one-line description",
                                  epilog="example:\n  euicc-emu quirks list")
    listing.set_defaults(func=list_profiles)
    show = commands.add_parser("show", help="the resolved settings of one profile (defaults included)",
                               epilog="example:\n  euicc-emu quirks show ./my-card.toml --json")
    show.add_argument("profile", metavar="NAME|FILE", help="a profile name (see 'list') or a TOML file")
    show.add_argument("--json", action="store_true", help="as JSON, for scripts")
    show.set_defaults(func=show_profile)


def list_profiles(args: argparse.Namespace) -> int:
    from tools.quirks import QuirkError, load, presets
    found = presets()
    width = max(len(name) for name in found)
    for name in found:
        try:
            text = load(str(found[name])).description
        except QuirkError as exc:
            text = f"(invalid: {exc})"
        print(f"{name:<{width}}  {text}")
    return 0


def show_profile(args: argparse.Namespace) -> int:
    from tools.quirks import QuirkError, load, settings
    try:
        profile = load(args.profile)
    except QuirkError as exc:
        print(f"euicc-emu: quirks {args.profile}: {exc}", file=sys.stderr)
        return 1
    values = {"name": profile.name, "file": str(profile.path), "description": profile.description,
              "source": profile.source, **settings(profile)}
    if args.json:
        print(json.dumps(values, indent=2))
        return 0
    width = max(len(key) for key in values)
    for key, value in values.items():
        shown = ", ".join(value) or "none" if isinstance(value, list) else value
        print(f"{key + ':':<{width + 1}} {shown}")
    return 0
