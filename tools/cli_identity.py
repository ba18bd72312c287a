"""``euicc-emu identity import DIR``: give a card the eUICC identity of an SGP.26-layout folder
(``eUICC/``, ``EUM/``, ``CertificateIssuer/``; e.g. the GSMA SGP.26 test eUICC)."""
from __future__ import annotations

import argparse
from pathlib import Path

from euicc.composition import open_card
from euicc.rsp.identity import import_identity
from tools.cli import add_state_argument, state_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "identity", help="manage the card's eUICC identity",
        description="Manage the card's eUICC identity: its EID, its eUICC certificate and key, and the\n"
                    "EUM and CI certificates above them.",
        epilog="example:\n"
               "  euicc-emu identity import ./sgp26    give the card the identity in ./sgp26 (SGP.26 layout)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="ACTION")
    imp = verbs.add_parser(
        "import", help="import certificates and keys from an SGP.26-layout folder",
        description="Give the card the eUICC identity stored in a folder laid out like the GSMA SGP.26\n"
                    "test certificates (eUICC/, EUM/, CertificateIssuer/), e.g. the SGP.26 test eUICC.\n"
                    "The card's EID becomes the one in the eUICC certificate.")
    imp.add_argument("directory", type=Path, help="folder in the SGP.26 layout")
    add_state_argument(imp)
    imp.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    card = open_card(state_path(args), extensions=args.extensions)
    try:
        eid = import_identity(card.store, args.directory)
    finally:
        card.close()
    print(f"identity imported: EID {eid}")
    return 0
