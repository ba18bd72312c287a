"""``euicc-emu smsr``: a test SM-SR driving the ISD-R of a card on PC/SC over SCP80 SMS-PP or over
HTTPS (SCP81, GP Amd B) (SGP.02 ES5).

    smsr [--eis FILE] [--kic HEX --kid HEX] [--kvn N] [--algo aes] [--counter N] [--reader R]
         [--transport sms|https --psk HEX [--psk-kvn N] [--https-port N] [--https-linger S]
          [--dns-name NAME [--dns-server ADDRESS] [--dns-port N] [--terminal-dns ADDRESS]]] FUNCTION [ARGS]
    functions: audit | create-isdp [AID] | enable AID | disable AID | delete AID |
               set-fallback AID | set-emergency AID | update-address MSISDN | notifications |
               put-psk --psk HEX [--psk-dek HEX] --dek HEX [--replace] |
               change-smsr --new-key SK.pem --new-cert CERT.hex [--ci-key PEM] [--eum-key PEM] |
               master-delete AID --token HEX [--control HEX] | pki --out DIR [--ci-key SK_CI.pem]

With ``--eis FILE`` (JSON, :mod:`tools.smsr.eis_file`) the ISD-R key set, its SCP80 counter, the
ECASD certificate and the ISD-Ps carry over from one run to the next (written back even when the
card refused the command, since it has seen the counter); ``--kic``/``--kid`` are then optional,
and when given they replace the file's key set.  Without ``--counter`` a run starts from one more
than the higher of the EIS file's counter and the counter ledger's for that key set (kept under
``$XDG_STATE_HOME/euicc-emu``, see :mod:`tools.smsr.eis_file`), so runs with keys on the command
line and runs with an EIS file chain in any order; ``--counter N`` uses N as given.  ``pki`` needs
no card.

With ``--transport https`` every script goes in an HTTPS administration session
(:mod:`tools.smsr_https`): the SM-SR serves HTTPS with PSK-TLS on loopback, pushes the session
trigger by SCP80 SMS-PP, and the terminal carries the card's BIP channel to it; the card needs
the SCP81 key set of ``--psk`` (``put-psk`` creates it, by SMS).  ``--dns-name NAME``: the trigger
names the SM-SR by NAME only (GP Amd B 'B3'), which the card resolves over a BIP UDP channel with
the DNS server ``--dns-server`` (in 'B3') or, failing that, those the terminal simulator gives when
OPEN CHANNEL asks (``--terminal-dns``, TS 102 223 §6.4.27), on UDP port ``--dns-port`` (default 53).
A session stays open
``--https-linger`` seconds after each answer for the run's next script (one trigger and one TLS
handshake for all the scripts of a run that follow each other closely: in GP Amd B §3.2 / §3.5 a
session lasts until the server answers ``204``).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from tools.cli import CommandParser
from tools.ota.packet import OtaKeyset
from tools.smsr import es5
from tools.smsr.eis import PskKeyset
from tools.smsr.eis_file import ALGORITHMS, CounterLedger, EisDocument, EisFileError, load, save
from tools.smsr.gp_certificate import CertificateError, parse_certificate
from tools.smsr.handover import change_smsr
from tools.smsr.key_establishment import KeyEstablishmentError
from tools.smsr.mo import Notification
from tools.smsr.pki_files import (
    PkiError,
    load_private_key,
    load_public_key,
    write_test_pki,
)
from tools.smsr.smsr import CommandFailed, OtaFailure, SmSr, read_eid
from tools.smsr_https.psk_keys import put_psk_key
from tools.smsr_https.transport import LINGER, HttpsTransport
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
from tools.terminal.cli import add_reader_argument, ip_text, open_link
from tools.terminal.link import LinkError
from tools.terminal.terminal import Terminal

COMMAND = "smsr"
DNS_PORT = 53               # RFC 1035 §4.2.1
NOTIFICATION_WAIT = 10.0     # seconds the terminal is served for notification sessions over HTTPS
ONE_AID = ("enable", "disable", "delete", "set-fallback", "set-emergency")
FAILURES = (CommandFailed, OtaFailure, LinkError, CertificateError, KeyEstablishmentError, EisFileError, PkiError,
            es5.Es5FormatError, OSError, ValueError)
"""What a run reports as ``error: ...`` with exit status 1."""
DESCRIPTION = """\
Act as a test SM-SR (M2M eSIM, SGP.02): manage a card's profiles over secured SMS.

The card is in a PC/SC reader; this program sends it secured SMS (SCP80 over SMS-PP, the ES5
functions of GSMA SGP.02) and plays the modem too. With --eis FILE the card's OTA keys, message
counter, certificate and list of profiles are kept from one run to the next (also after an error,
since the card has seen the counter). 'pki' writes test keys and an EIS file for the default card
and needs no card."""
EPILOG = """\
examples:
  euicc-emu smsr pki --out m2m                   test PKI files and m2m/eis.json for the default card
  euicc-emu smsr --eis m2m/eis.json audit        list the card's profiles (ISD-Ps) and their states
  euicc-emu smsr --eis m2m/eis.json create-isdp  make an ISD-P for a new profile"""


class UsageError(ValueError):
    """The command line does not say which key set to use (exit status 2)."""


def add_keyset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--eis", type=Path, help="EIS/keys file (JSON) kept between runs")
    parser.add_argument("--kic", help="ISD-R KIc (hex); optional with an --eis file holding the key set")
    parser.add_argument("--kid", help="ISD-R KID (hex)")
    parser.add_argument("--kvn", type=int, help="key set version (default: the EIS file's, else 1)")
    parser.add_argument("--algo", choices=sorted(ALGORITHMS), default="aes")
    parser.add_argument("--counter", type=int,
                        help="first SCP80 counter value to use (default: one more than the higher of the EIS "
                             "file's counter and the counter ledger's for that key set, "
                             "$XDG_STATE_HOME/euicc-emu/scp80-counters.json)")
    parser.add_argument("--transport", choices=("sms", "https"), default="sms",
                        help="ES5 over SCP80 SMS-PP (default) or over HTTPS administration sessions (SCP81)")
    parser.add_argument("--psk", help="the card's SCP81 pre-shared key (hex) for --transport https "
                                      "(default: the EIS file's key set --psk-kvn)")
    parser.add_argument("--psk-kvn", type=lambda t: int(t, 0), default=0x40, help="its key set version (default 0x40)")
    parser.add_argument("--https-port", type=int, default=0, help="loopback port of the HTTPS server (default: any)")
    parser.add_argument("--dns-name", metavar="NAME",
                        help="with --transport https: give the SM-SR by this name, which the card resolves (DNS over BIP)")
    parser.add_argument("--dns-server", type=ip_text, metavar="ADDRESS", help="the DNS server the trigger gives the card")
    parser.add_argument("--dns-port", type=int, help="UDP port of the DNS servers (default 53)")
    parser.add_argument("--terminal-dns", type=ip_text, action="append", default=[], metavar="ADDRESS",
                        help="a DNS server the terminal gives when the card's OPEN CHANNEL asks (repeatable)")
    parser.add_argument("--https-linger", type=float, default=LINGER, metavar="SECONDS",
                        help="how long an HTTPS session waits for the next script before it ends (default "
                             "%(default)s; 0: one session per script)")
    add_reader_argument(parser)


def load_document(args: argparse.Namespace) -> EisDocument:
    """The EIS file (or an empty EIS), with the key set and counter of the command line applied."""
    doc = load(args.eis) if args.eis else EisDocument()
    if (args.kic is None) != (args.kid is None):
        raise UsageError("give both --kic and --kid, or neither")
    if args.kic is not None:
        algorithm = ALGORITHMS[args.algo]
        doc.use_keyset(OtaKeyset(args.kvn or 1, algorithm, bytes.fromhex(args.kic), algorithm, bytes.fromhex(args.kid)))
    elif args.kvn is not None:
        if doc.active_keyset(args.kvn) is None:
            raise UsageError(f"the EIS file holds no key set {args.kvn}")
        doc.active_kvn = args.kvn
    if doc.active_keyset() is None:
        raise UsageError("no ISD-R key set: give --kic and --kid, or an --eis file that holds one")
    if args.counter is not None:
        doc.eis.counters[doc.active_kvn] = args.counter - 1
    else:
        last = CounterLedger.load().last(doc.active_keyset())
        doc.eis.counters[doc.active_kvn] = max(doc.eis.counters.get(doc.active_kvn, 0), last)
    return doc


def connect(args: argparse.Namespace, doc: EisDocument) -> SmSr:
    """An SM-SR on ``doc``'s EIS, attached to a terminal on the chosen reader (reset, TERMINAL PROFILE)."""
    smsr = SmSr(doc.eis, doc.active_keyset())
    terminal = Terminal(open_link(args.reader), bip=BipTerminal(dns_servers=tuple(getattr(args, "terminal_dns", ()))))
    smsr.attach(terminal)
    try:
        terminal.start()
    except BaseException:
        terminal.link.close()
        raise
    return smsr


def disconnect(smsr: SmSr | None) -> None:
    """Release the reader after a run."""
    if smsr is not None and smsr.terminal is not None:
        smsr.terminal.link.close()


def build_parser() -> CommandParser:
    parser = CommandParser(prog="euicc-emu smsr", description=DESCRIPTION, epilog=EPILOG)
    add_keyset_arguments(parser)
    sub = parser.add_subparsers(dest="function", required=True, metavar="FUNCTION")
    sub.add_parser("audit", help="read the card's profiles (ISD-Ps), their states and its ECASD certificate "
                                 "(ES5.AuditEIS)")
    sub.add_parser("create-isdp", help="create an ISD-P to hold a new profile (ES5.CreateISDP)"
                   ).add_argument("aid", nargs="?", help="its AID (hex; default: the next free one)")
    helps = {"enable": "enable the profile in ISD-P AID (ES5.EnableProfile)",
             "disable": "disable it; the fall-back profile becomes enabled (ES5.DisableProfile)",
             "delete": "delete the profile and its ISD-P (ES5.DeleteProfile)",
             "set-fallback": "make it the fall-back profile (ES5.SetFallBackAttribute)",
             "set-emergency": "make it the emergency profile (ES5.SetEmergencyProfileAttribute)"}
    for name in ONE_AID:
        sub.add_parser(name, help=helps[name]).add_argument("aid", help="ISD-P AID (hex)")
    sub.add_parser("update-address", help="give the card the SM-SR's SMS address "
                                          "(ES5.UpdateSMSRAddressingParameters)").add_argument("msisdn")
    sub.add_parser("notifications", help="report network attachment, confirm the notifications that arrive")
    change = sub.add_parser("change-smsr", help="SM-SR change (SGP.02 §3.8) to the SM-SR of --new-key")
    change.add_argument("--new-key", type=Path, required=True, help="SK.SR.ECDSA of the new SM-SR (PEM)")
    change.add_argument("--new-cert", type=Path, required=True, help="its CERT.SR.ECDSA, GP '7F21' (hex text)")
    change.add_argument("--ci-key", type=Path, help="CI public key (PEM/cert): check --new-cert before use")
    change.add_argument("--eum-key", type=Path, help="EUM public key (PEM/cert): check CERT.ECASD.ECKA")
    put = sub.add_parser("put-psk", help="create (or --replace) the ISD-R's SCP81 key set --psk-kvn (PUT KEY)")
    put.add_argument("--psk", dest="new_psk", required=True, help="the TLS pre-shared key (hex, 16/24/32 bytes)")
    put.add_argument("--psk-dek", help="the key set's DEK (hex; ciphers later PUT KEYs over HTTPS)")
    put.add_argument("--dek", required=True, help="DEK of the key set securing this command (hex; by SMS: the "
                                                  "ISD-R SCP80 key set's key 03)")
    put.add_argument("--replace", action="store_true", help="replace the existing key set --psk-kvn")
    master = sub.add_parser("master-delete", help="ES5.MasterDelete with the SM-DP's token")
    master.add_argument("aid")
    master.add_argument("--token", required=True, help="delete token from `smdp-m2m master-delete-token` (hex)")
    master.add_argument("--control", help="'B6' value the token covers (hex; default: the test SM-DP's)")
    pki = sub.add_parser("pki", help="write test PKI files and an EIS file for the default card (no card needed)")
    pki.add_argument("--out", type=Path, required=True)
    pki.add_argument("--ci-key", type=Path, help="CI private key (PEM; default: the package's test CI)")
    return parser


def _hex_aid(text: str | None) -> bytes | None:
    return bytes.fromhex(text) if text else None


def run(smsr: SmSr, doc: EisDocument, args: argparse.Namespace) -> list[str]:
    """One ES5 function on a connected SM-SR; the lines to print."""
    aid = _hex_aid(getattr(args, "aid", None))
    if args.function == "audit":
        return [f"{e.aid.hex().upper()} {e.state} fallback={e.fallback}" for e in smsr.audit()] + \
               [f"ECASD certificate {smsr.eis.ecasd_certificate.hex()}"]
    if args.function == "create-isdp":
        return [f"created {smsr.create_isdp(aid).hex().upper()}"]
    if args.function == "update-address":
        smsr.update_smsr_addressing_parameters(args.msisdn)
        return ["ok"]
    if args.function == "notifications":
        smsr.terminal.location_status(cat.NORMAL_SERVICE)
        over_https = smsr.https.serve_notifications(NOTIFICATION_WAIT) if smsr.https is not None else []
        return ([_confirmed(n, f"over HTTPS type {n.type:02x}") for n in over_https]
                + [_confirmed(n, n.type_name) for n in smsr.confirm_all()]) or ["no notification"]
    if args.function == "put-psk":
        dek = bytes.fromhex(args.psk_dek) if args.psk_dek else None
        response = smsr.execute_one(put_psk_key(args.psk_kvn, bytes.fromhex(args.new_psk), dek, bytes.fromhex(args.dek),
                                                args.psk_kvn if args.replace else 0), "PUT KEY (SCP81)")
        old = smsr.eis.psk_keysets.get(args.psk_kvn)
        smsr.eis.psk_keysets[args.psk_kvn] = PskKeyset(args.psk_kvn, bytes.fromhex(args.new_psk),
                                                       dek if dek is not None else old.dek if old else b"")
        return [f"SCP81 key set {response[:1].hex().upper()} KCV {response[1:].hex().upper()}"]
    if args.function == "change-smsr":
        return _change_smsr(smsr, doc, args)
    if args.function == "master-delete":
        ident = es5.MasterDeleteData.from_control(bytes.fromhex(args.control)) if args.control else es5.TEST_DELETE_IDENT
        smsr.master_delete(aid, ident, bytes.fromhex(args.token))
        return ["ok"]
    action = {"enable": smsr.enable_profile, "disable": smsr.disable_profile, "delete": smsr.delete_profile,
              "set-fallback": smsr.set_fallback_attribute, "set-emergency": smsr.set_emergency_profile_attribute}
    action[args.function](aid)
    return ["ok"]


def _confirmed(notification: Notification, kind: str) -> str:
    aid = f" {notification.isdp_aid.hex().upper()}" if notification.isdp_aid else ""
    return f"confirmed {kind} seq {notification.sequence}{aid}"


def _change_smsr(smsr: SmSr, doc: EisDocument, args: argparse.Namespace) -> list[str]:
    """SGP.02 §3.8: key establishment for the new SM-SR through this one, FinaliseISDRhandover."""
    new_key, new_cert = load_private_key(args.new_key), bytes.fromhex(args.new_cert.read_text().strip())
    if args.ci_key:
        parse_certificate(new_cert).verify(load_public_key(args.ci_key))
    if not smsr.eis.ecasd_certificate:
        smsr.audit()
    ecasd = parse_certificate(smsr.eis.ecasd_certificate)
    if args.eum_key:
        ecasd.verify(load_public_key(args.eum_key))
    new = change_smsr(smsr, new_key, new_cert, ecasd.public_key())
    doc.eis = new.eis
    doc.use_keyset(new.keyset)
    k = new.keyset
    return [f"new ISD-R key set: --kvn {k.kvn} --algo aes --kic {k.kic.hex().upper()} --kid {k.kid.hex().upper()}",
            *(f"new ISD-R SCP81 key set: --psk-kvn 0x{p.kvn:02X} --psk {p.psk.hex().upper()}"
              for p in new.eis.psk_keysets.values()),
            f"old key set {smsr.keyset.kvn} deleted (FinaliseISDRhandover)"]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.function == "pki":
        try:
            written = write_test_pki(args.out, args.ci_key)
        except (PkiError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print("\n".join(str(p) for p in written))
        return 0
    try:
        doc = load_document(args)
    except UsageError as exc:
        parser.error(str(exc))
    except (EisFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    check_transport(parser, args, doc)
    return run_on_card(args, doc, lambda smsr: run(smsr, doc, args))


def check_transport(parser: argparse.ArgumentParser, args: argparse.Namespace, doc: EisDocument) -> None:
    """Usage errors (exit status 2): ``--transport https`` without the card's PSK (given or in the
    EIS file), the DNS options without ``--dns-name`` / ``--transport https``."""
    if args.transport == "https" and not args.psk and args.psk_kvn not in doc.eis.psk_keysets:
        parser.error("--transport https needs --psk (the card's SCP81 pre-shared key) or an EIS file holding it")
    if args.dns_name and args.transport != "https":
        parser.error("--dns-name needs --transport https")
    if (args.dns_server or args.dns_port) and not args.dns_name:
        parser.error("--dns-server and --dns-port need --dns-name (the name the card resolves)")


def run_on_card(args: argparse.Namespace, doc: EisDocument, work: Callable[[SmSr], list[str]],
                failures: tuple[type[BaseException], ...] = FAILURES) -> int:
    """Connect, print the lines of ``work`` and the next counter; release the reader and write the
    EIS file back whatever happened (the card has seen the counter).  Exit status 0, or 1 on
    one of ``failures``."""
    status, smsr, https = 1, None, None
    try:
        smsr = connect(args, doc)
        if getattr(args, "transport", "sms") == "https":
            https = start_https(smsr, args)
        lines = work(smsr)
        lines.append(f"next counter {doc.eis.counters.get(doc.active_kvn, 0) + 1}")
        print("\n".join(lines))
        status = 0
    except failures as exc:
        print(f"error: {exc}", file=sys.stderr)
    finally:
        if https is not None:
            https.stop()
        disconnect(smsr)
        status = save_document(args, doc, status)
    return status


def start_https(smsr: SmSr, args: argparse.Namespace) -> HttpsTransport:
    """The HTTPS server with the card's PSK (SGP.02's PSK identity needs the EID: read from the
    ISD-R with GET DATA '5A' when the EIS file has none)."""
    psk = bytes.fromhex(args.psk) if args.psk else getattr(smsr.eis.psk_keysets.get(args.psk_kvn), "psk", None)
    if psk is None:
        raise UsageError("--transport https needs --psk (the card's SCP81 pre-shared key) or an EIS file holding it")
    if not smsr.eis.eid:
        smsr.eis.eid = read_eid(smsr.terminal)
    transport = HttpsTransport.start(smsr, psk, args.psk_kvn, args.https_port, linger=max(0.0, args.https_linger))
    transport.dns_name, transport.dns_port = args.dns_name, args.dns_port
    if args.dns_server:
        transport.dns = (args.dns_server, args.dns_port or DNS_PORT)
    return transport


def save_document(args: argparse.Namespace, doc: EisDocument, status: int) -> int:
    """Record the counters in the ledger and write the EIS file back (``--eis``); a failed write
    turns the exit status into 1."""
    try:
        CounterLedger.load().record(doc.eis)
    except (EisFileError, OSError) as exc:
        print(f"error: SCP80 counter ledger not written: {exc}", file=sys.stderr)
        status = 1
    if args.eis:
        try:
            save(args.eis, doc)
        except OSError as exc:
            print(f"error: EIS file not written: {exc}", file=sys.stderr)
            return 1
    return status
