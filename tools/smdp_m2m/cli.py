"""``euicc-emu smdp-m2m``: a test SM-DP for a card on PC/SC, through the test SM-SR (SGP.02 ES3/ES8).

    smdp-m2m [SM-SR options] download --key SK_DP.pem --cert CERT_DP.hex [--eum-key PEM] [--isdp AID] UPP.der
    smdp-m2m [SM-SR options] update-connectivity AID --smsc DIGITS [--ton-npi 91]
    smdp-m2m [--eis FILE] master-delete-token AID [--control HEX] [--token-key HEX]
    smdp-m2m [SM-SR options] --key SK_DP.pem --cert CERT_DP.hex UPP.der      (earlier form of download)

SM-SR options are those of ``euicc-emu smsr`` (``--eis FILE``, ``--kic/--kid/--kvn/--algo/--counter``,
``--reader``, ``--transport sms|https --psk HEX [--psk-kvn N] [--https-port N]``).  With
``--transport https`` every script the SM-SR relays (ES3.SendData to the ISD-P's TAR, and its
own ES5 ones) goes in a GP Amd B HTTPS administration session with the ISD-R's SCP81 PSK
(X-Admin-Targeted-Application naming the ISD-P), exactly as ``smsr --transport https`` runs
them (:func:`tools.smsr.cli.run_on_card`); the triggers still go by SMS.  ``download`` creates the ISD-P (ES3 -> ES5.CreateISDP) unless ``--isdp`` names a
SELECTABLE one, reads CERT.ECASD.ECKA (audit, checked with ``--eum-key``), runs
ES8.EstablishISDPKeySet, ES8.DownloadAndInstallation over SCP03t, and puts a delete-token key
(PUT KEY).  The ISD-P's SCP03 keys and token key go to the EIS file's SM-DP section, so that
``update-connectivity`` (ES8.UpdateConnectivityParameters, SGP.02 §4.1.3.4) and
``master-delete-token`` (the token for ES5.MasterDelete, §4.1.1.6; no card needed) work later.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.cli import CommandParser
from tools.scp.scp03_host import Scp03HostError
from tools.smdp_m2m.scp03t import Scp03tError
from tools.smdp_m2m.smdp import DownloadRefused, SmDp, master_delete_token, sms_connectivity_parameters
from tools.smsr import es5
from tools.smsr.cli import (
    FAILURES,
    UsageError,
    add_keyset_arguments,
    load_document,
    check_transport,
    run_on_card,
    save_document,
)
from tools.smsr.eis_file import EisDocument, IsdpKeys, load
from tools.smsr.pki_files import load_private_key, load_public_key
from tools.smsr.smsr import SmSr

COMMAND = "smdp-m2m"
FUNCTIONS = ("download", "update-connectivity", "master-delete-token")
SMDP_FAILURES = FAILURES + (Scp03tError, Scp03HostError, KeyError, DownloadRefused)
DESCRIPTION = """\
Act as a test SM-DP (M2M eSIM, SGP.02): download profiles through the test SM-SR.

The SM-DP (GSMA SGP.02) reaches the card in a PC/SC reader through the test SM-SR ('euicc-emu
smsr', same SM-SR options). It downloads a profile package into a new ISD-P on the card, changes
its SMS centre address, or prints the token the SM-SR needs to force-delete a profile (no card
needed). The keys each download sets up are kept in the EIS file (--eis), so the later functions
can use them. With --transport https --psk HEX the SM-SR carries everything in HTTPS
administration sessions (SCP81) instead of secured SMS."""
EPILOG = """\
examples:
  euicc-emu smdp-m2m --eis m2m/eis.json download --key m2m/SK_DP.pem --cert m2m/CERT_DP.hex profile.der
  euicc-emu smdp-m2m --eis m2m/eis.json --transport https --psk PSK download --key m2m/SK_DP.pem \\
      --cert m2m/CERT_DP.hex profile.der      (the same over HTTPS; 'smsr put-psk' gives the card PSK)
  euicc-emu smdp-m2m --eis m2m/eis.json master-delete-token A0000005591010FFFFFFFF8900001000"""


def _download_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--key", type=Path, required=True, help="SK.DP.ECDSA (PEM)")
    parser.add_argument("--cert", type=Path, required=True, help="CERT.DP.ECDSA, GP '7F21' format (hex text)")
    parser.add_argument("--eum-key", type=Path, help="EUM public key (PEM/cert): check CERT.ECASD.ECKA")
    parser.add_argument("--isdp", help="an existing SELECTABLE ISD-P (hex AID) instead of a new one")
    parser.add_argument("upp", type=Path, help="Unprotected Profile Package (SAIP DER)")


def build_parser(legacy: bool = False) -> CommandParser:
    parser = CommandParser(prog="euicc-emu smdp-m2m", description=DESCRIPTION, epilog=EPILOG)
    add_keyset_arguments(parser)
    if legacy:
        _download_arguments(parser)
        parser.set_defaults(function="download")
        return parser
    sub = parser.add_subparsers(dest="function", required=True, metavar="FUNCTION")
    _download_arguments(sub.add_parser(
        "download", help="create an ISD-P, set up its keys (ES8 key establishment), download a profile into it"))
    update = sub.add_parser("update-connectivity", help="change the SMS centre address of the profile in an ISD-P "
                                                        "(ES8.UpdateConnectivityParameters)")
    update.add_argument("aid")
    update.add_argument("--smsc", required=True, help="SMS-C address digits")
    update.add_argument("--ton-npi", default="91", help="TON/NPI byte (hex, default 91: international, ISDN)")
    token = sub.add_parser("master-delete-token", help="print the token 'euicc-emu smsr master-delete' needs "
                                                        "(no card needed)")
    token.add_argument("aid")
    token.add_argument("--control", help="'B6' value the token covers (hex; default: the test SM-DP's)")
    token.add_argument("--token-key", help="token key (hex; default: the one in the EIS file)")
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    """Subcommand form, or the earlier ``--key --cert UPP.der`` form when no subcommand is named
    (``--help`` alone shows the subcommand form)."""
    legacy = not any(a in FUNCTIONS or a in ("-h", "--help") for a in argv)
    return build_parser(legacy=legacy).parse_args(argv)


def _download(smdp: SmDp, doc: EisDocument, args: argparse.Namespace) -> list[str]:
    isdp = smdp.prepare_isdp(bytes.fromhex(args.isdp) if args.isdp else None,
                             load_public_key(args.eum_key) if args.eum_key else None)
    doc.isdp_keys[isdp] = IsdpKeys(smdp.keys[isdp])
    try:
        result = smdp.download_profile(isdp, args.upp.read_bytes())
    except DownloadRefused as exc:
        smdp.delete_isdp(isdp)               # SGP.02 §3.1.3: the ISD-P of a failed download goes
        doc.isdp_keys.pop(isdp, None)
        raise DownloadRefused(f"{exc}; the ISD-P was deleted") from exc
    doc.isdp_keys[isdp].token_key = smdp.put_token_key(isdp)
    return [f"ISD-P {isdp.hex().upper()}: {result.segments} segments, answers {[a.hex() for a in result.answers]}",
            "delete-token key put"]


def _token(doc: EisDocument, args: argparse.Namespace) -> int:
    aid = bytes.fromhex(args.aid)
    key = bytes.fromhex(args.token_key) if args.token_key else None
    if key is None:
        stored = doc.isdp_keys.get(aid)
        key = stored.token_key if stored else None
    if key is None:
        print(f"error: no token key for ISD-P {args.aid} (give --eis with the download's file, or --token-key)",
              file=sys.stderr)
        return 1
    ident = es5.MasterDeleteData.from_control(bytes.fromhex(args.control)) if args.control else es5.TEST_DELETE_IDENT
    print(master_delete_token(key, aid, ident).hex().upper())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.function == "master-delete-token":
        try:
            return _token(load(args.eis) if args.eis else EisDocument(), args)
        except (es5.Es5FormatError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    try:
        doc = load_document(args)
    except UsageError as exc:
        build_parser().error(str(exc))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    check_transport(build_parser(), args, doc)
    try:
        key = load_private_key(args.key) if args.function == "download" else None
        cert = bytes.fromhex(args.cert.read_text().strip()) if args.function == "download" else b""
    except SMDP_FAILURES as exc:
        print(f"error: {exc}", file=sys.stderr)
        return save_document(args, doc, 1)

    def work(smsr: SmSr) -> list[str]:
        smdp = SmDp(key, cert, smsr)
        smdp.keys.update({aid: k.scp03 for aid, k in doc.isdp_keys.items()})
        if args.function == "download":
            return _download(smdp, doc, args)
        smdp.update_connectivity_parameters(bytes.fromhex(args.aid),
                                            sms_connectivity_parameters(args.smsc, int(args.ton_npi, 16)))
        return ["ok"]
    return run_on_card(args, doc, work, SMDP_FAILURES)
