"""``euicc-emu smsr-service | smdp-service | eum | mno``: the SGP.02 SM-SR and SM-DP as SOAP services
on loopback, and the EUM (ES1) and operator (ES2 / ES4) clients that call them (tools/m2m_services)."""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from cryptography import x509

from tools.m2m_services import pol2 as pol2_rules
from tools.m2m_services.async_reply import ReplyListener
from tools.m2m_services.binding import Field
from tools.m2m_services.eis_xml import eis_fields, subscription_address
from tools.m2m_services.es4a import NOTIFICATIONS, PLMA_OPERATIONS
from tools.m2m_services.es5_https import TRANSPORTS
from tools.m2m_services.smdp_service import SmdpService
from tools.m2m_services.smdp_store import SmdpStore
from tools.m2m_services.smsc import MoEndpoint
from tools.m2m_services.smsr_change import Trust
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import ProfileRecord, SmsrStore
from tools.m2m_services.tls import TlsFiles, write_test_pki
from tools.m2m_services.transport import DEFAULT_VALIDITY, Provider, Requester, RequesterError, address, attach, serve
from tools.smsr.eis import ProfileInfo
from tools.smsr.eis_file import EisFileError, load
from tools.smsr.pki_files import PkiError, load_private_key, load_public_key
from tools.terminal.cli import add_reader_argument

MNO_FUNCTIONS = {
    "get-eis": ("GetEIS", "read the EIS the SM-SR holds (no card traffic)"),
    "audit-eis": ("AuditEIS", "audit the card (ES5) and print the updated EIS"),
    "enable": ("EnableProfile", "enable profile ICCID (POL2 checked first)"),
    "disable": ("DisableProfile", "disable profile ICCID; the fall-back profile becomes enabled"),
    "delete": ("DeleteProfile", "delete profile ICCID and its ISD-P"),
    "set-fallback": ("SetFallBackAttribute", "give profile ICCID the fall-back attribute"),
    "set-emergency": ("SetEmergencyProfileAttribute", "give profile ICCID the emergency profile attribute"),
    "update-policy-rules": ("UpdatePolicyRules", "replace the POL2 rules of profile ICCID"),
    "update-subscription-address": ("UpdateSubscriptionAddress", "record the MSISDN / IMSI of profile ICCID"),
    "download": ("DownloadProfile", "download profile ICCID into the card (ES2, needs --smdp)"),
    "prepare-smsr-change": ("PrepareSMSRChange", "tell the new SM-SR (--smsr) to expect the eUICC from --current-smsr"),
    "smsr-change": ("SMSRChange", "ask the current SM-SR (--smsr) to hand the eUICC over to --target-smsr"),
}
NO_ICCID = ("get-eis", "audit-eis", "prepare-smsr-change", "smsr-change")
ES4A_FUNCTIONS = {
    "set-plma": ("SetPLMA", "allow an M2M service provider some functions on this operator's profiles (ES4A)"),
    "get-plma": ("GetPLMA", "list the authorisations this party granted or holds (ES4A)"),
    "set-onc": ("SetONC", "choose the notifications this operator does not want (ES4A)"),
    "get-onc": ("GetONC", "show them (ES4A)"),
}
M2MSP_FUNCTIONS = ("get-eis", "audit-eis", "enable", "disable", "delete", "set-fallback", "set-emergency")


TLS_PARTIES = ("SM-SR", "SM-DP", "MNO", "EUM")


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tls-cert", type=Path, help="this party's TLS certificate (PEM): HTTPS with mutual TLS")
    parser.add_argument("--tls-key", type=Path, help="its private key (PEM)")
    parser.add_argument("--tls-ca", type=Path, help="the CA certificate the other parties' certificates chain to")


def tls_files(args: argparse.Namespace) -> TlsFiles | None:
    given = [args.tls_cert, args.tls_key, args.tls_ca]
    if not any(given):
        return None
    if not all(given):
        raise SystemExit("error: give --tls-cert, --tls-key and --tls-ca together")
    return TlsFiles(args.tls_cert, args.tls_key, args.tls_ca)


def _serve(args: argparse.Namespace, make) -> int:
    """Bind, build the provider (it needs its own address) with ``make(url) -> (provider, closers)``,
    print the address (first line) and what ``make`` added to ``notes``, serve until Ctrl-C."""
    try:
        server = serve(args.host, args.port, tls_files(args))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    url = address(server, args.host)
    notes: list[str] = []
    try:
        provider, closers = make(url, notes)
    except OSError as exc:
        server.server_close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    tls = tls_files(args)
    provider.reply_context = tls.client_context() if tls is not None else None   # https ReplyTo addresses
    attach(server, provider)
    print("\n".join([f"listening on {url}", *notes]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        for close in closers:
            close()
    return 0


def _certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    return x509.load_pem_x509_certificate(data) if data.startswith(b"-----") else x509.load_der_x509_certificate(data)


def _trust(args: argparse.Namespace) -> Trust:
    """The SM-SR change settings of ``smsr-service serve`` (:class:`Trust`)."""
    if (args.smsr_key is None) != (args.smsr_cert is None):
        raise SystemExit("error: give --smsr-key and --smsr-cert together")
    try:
        return Trust(load_private_key(args.smsr_key) if args.smsr_key else None,
                     bytes.fromhex(args.smsr_cert.read_text().strip()) if args.smsr_cert else None,
                     _certificate(args.ci_cert) if args.ci_cert else None,
                     [_certificate(path) for path in args.eum_cert], dict(args.peer))
    except (PkiError, OSError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None


def _serve_smsr(args: argparse.Namespace) -> int:
    trust = _trust(args)
    if args.device and args.mo_port is None:
        raise SystemExit("error: --device needs --mo-port: the card's SMS (PoRs, notifications) come back there")
    if args.device and args.transport == "https":
        raise SystemExit("error: --transport https needs the card on --reader (its BIP channels go through "
                         "the service's own terminal)")

    def make(url: str, notes: list[str]):
        store = SmsrStore(args.db)
        service = SmsrService(store, args.reader, url, args.id, dict(args.notify), tls_files(args), trust,
                              args.device, args.transport, args.https_port)
        closers = [service.close, store.close]
        if args.mo_port is not None:
            smsc = MoEndpoint(service.receive_sms, args.host, args.mo_port).start()
            notes.append(f"SMSC endpoint (MO SMS) on {smsc.url}")
            closers.insert(0, smsc.close)
        return service.provider, closers
    return _serve(args, make)


def _endpoint(text: str) -> tuple[str, str]:
    party, _, url = text.partition("=")
    if not party or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected PARTY=URL, not {text!r}")
    return party, url


def _tls_pki(args: argparse.Namespace) -> int:
    for party, files in write_test_pki(args.out, args.party or list(TLS_PARTIES)).items():
        print(f"{party}: --tls-cert {files.cert} --tls-key {files.key} --tls-ca {files.ca}")
    return 0


def _serve_smdp(args: argparse.Namespace) -> int:
    try:
        key, cert = load_private_key(args.key), bytes.fromhex(args.cert.read_text().strip())
        eum = load_public_key(args.eum_key) if args.eum_key else None
        catalogue = {iccid: path.read_bytes() for iccid, path in args.profile}
    except (PkiError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    def make(url: str, notes: list[str]):
        store = SmdpStore(args.db)
        service = SmdpService(store, args.smsr, url, key, cert, eum, catalogue, args.id, tls_files(args),
                              dict(args.notify))
        return service.provider, [store.close]
    return _serve(args, make)


def _catalogue_entry(text: str) -> tuple[str, Path]:
    iccid, _, path = text.partition("=")
    if not iccid.isdigit() or not path:
        raise argparse.ArgumentTypeError(f"expected ICCID=FILE, not {text!r}")
    return iccid, Path(path)


def _print_fields(fields: list[Field], indent: int = 0) -> None:
    for name, value in fields:
        if isinstance(value, str):
            print(f"{' ' * indent}{name}: {value}")
        else:
            print(f"{' ' * indent}{name}:")
            _print_fields(value, indent + 2)


def add_reply_to_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reply-to", metavar="HOST:PORT", type=_host_port,
                        help="ask for the response asynchronously (wsa:ReplyTo): listen on HOST:PORT (port 0: any) "
                             "for it")
    parser.add_argument("--validity", type=int, default=DEFAULT_VALIDITY, metavar="SECONDS",
                        help=f"ValidityPeriod of the call (default {DEFAULT_VALIDITY})")


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host, int(port)


def _call(args: argparse.Namespace, interface: str, function: str, fields: list[Field]) -> int:
    listener = None
    if getattr(args, "reply_to", None):
        server = serve(*args.reply_to, tls_files(args))
        listener = ReplyListener(address(server, args.reply_to[0]))
        attach(server, listener)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    requester = Requester(args.smdp if interface == "ES2" else args.smsr, args.id, tls=tls_files(args),
                          replies=listener)
    try:
        response = requester.call(interface, function, fields, getattr(args, "validity", DEFAULT_VALIDITY))
    except RequesterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if listener is not None:
            server.shutdown()
            server.server_close()
    print(f"{interface}.{function}: {response.status}")
    _print_fields([f for f in response.envelope.fields if f[0] not in ("FunctionExecutionStatus",)])
    return 0 if response.status.ok else 1


def _profile_argument(text: str) -> tuple[str, str, str, bool]:
    """AID=ICCID[,STATE][,fallback]"""
    try:
        aid, rest = text.split("=", 1)
        parts = rest.split(",")
        state = next((p.upper() for p in parts[1:] if p.upper() in ("ENABLED", "DISABLED")), "DISABLED")
        bytes.fromhex(aid)
        return aid.upper(), parts[0], state, "fallback" in parts[1:]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected AID=ICCID[,enabled][,fallback], not {text!r}") from None


def _register_eis(args: argparse.Namespace) -> int:
    try:
        doc = load(args.eis)
    except EisFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    doc.isdp_keys.clear()
    records = []
    for aid, iccid, state, fallback in args.profile:
        doc.eis.profiles[bytes.fromhex(aid)] = ProfileInfo(bytes.fromhex(aid), state, fallback)
        records.append(ProfileRecord(args.eid, aid, iccid, args.mno, None, pol2_rules.Pol2()))
    return _call(args, "ES1", "RegisterEIS", [("Eis", eis_fields(args.eid, doc, records, args.id, with_keys=True))])


def _rule(text: str) -> pol2_rules.Rule:
    action, _, qualification = text.partition("=")
    if action.upper() not in pol2_rules.ACTIONS or qualification not in pol2_rules.QUALIFICATIONS:
        raise argparse.ArgumentTypeError(f"expected ACTION=QUALIFICATION with ACTION in {pol2_rules.ACTIONS} and "
                                         f"QUALIFICATION in {pol2_rules.QUALIFICATIONS}, not {text!r}")
    return pol2_rules.Rule(action.upper(), qualification)


def _listen(args: argparse.Namespace) -> int:
    """Print each notification as it arrives (notification style: answered HTTP 202)."""
    def make(url: str, notes: list[str]):
        provider = Provider(url)
        for name in NOTIFICATIONS:
            provider.register("ES4", name, lambda request, name=name: print(
                f"{name} Eid={request.get('Eid')} Iccid={request.get('Iccid')} from "
                f"{request.get('FunctionRequesterIdentifier')}", flush=True) or [], one_way=True)
        return provider, []
    return _serve(args, make)


def _es4a(args: argparse.Namespace) -> int:
    function = ES4A_FUNCTIONS[args.function][0]
    fields: list[Field] = []
    if args.function == "set-plma":
        fields = [("Plma", [("M2MSPId", args.m2msp), *[("AllowedOperation", o) for o in args.allow]])]
    elif args.function == "set-onc":
        fields = [("Onc", [("ExcludedNotification", n) for n in args.exclude])]
    if args.smsr is None:
        print("error: ES4A functions need --smsr", file=sys.stderr)
        return 2
    return _call(args, "ES4A", function, fields)


def _mno(args: argparse.Namespace) -> int:
    if args.function in ES4A_FUNCTIONS:
        return _es4a(args)
    if args.function == "listen":
        return _listen(args)
    function = MNO_FUNCTIONS[args.function][0]
    fields: list[Field] = [("Eid", args.eid)]
    if getattr(args, "iccid", None):
        fields.append(("Iccid", args.iccid))
    if args.function == "prepare-smsr-change":
        fields.append(("CurrentSMSRid", args.current_smsr))
    if args.function == "smsr-change":
        fields.append(("Target-Smsr-id", args.target_smsr))
    if args.function in ("update-policy-rules", "download"):
        fields.append(("Pol2", pol2_rules.Pol2(tuple(args.rule)).fields()))
    if args.function == "update-subscription-address":
        fields.append(("NewSubscriptionAddress", subscription_address(args.imsi, args.msisdn)))
    if args.function == "download":
        fields.append(("EnableProfile", "true" if args.enable else "false"))
    if args.smdp is None and args.function == "download":
        print("error: download is an ES2 function: give --smdp", file=sys.stderr)
        return 2
    if args.smdp is None and args.smsr is None:
        print("error: give --smsr (ES4) or --smdp (ES2)", file=sys.stderr)
        return 2
    return _call(args, "ES2" if args.smdp else "ES4", function, fields)


def _add_listen_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free port)")


def _add_serve_parser(sub: argparse._SubParsersAction, party: str) -> argparse.ArgumentParser:
    """The ``serve`` action of a service: its database, address, identifier and TLS files."""
    run = sub.add_parser("serve", help="answer function calls until Ctrl-C",
                         description="Answer function calls until Ctrl-C; prints the address it listens on.")
    run.add_argument("--db", type=Path, required=True, help=f"SQLite database file of this {party} (created if absent)")
    _add_listen_arguments(run)
    run.add_argument("--id", default=party, help=f"this {party}'s identifier")
    return run


def _add_identity_arguments(parser: argparse.ArgumentParser, default: str, label: str) -> None:
    """A client's identifier (FunctionRequesterIdentifier) and TLS files."""
    parser.add_argument("--id", default=default, help=f"this {label}'s identifier")
    add_tls_arguments(parser)


def _add_functions(sub: argparse._SubParsersAction, names, no_iccid) -> dict[str, argparse.ArgumentParser]:
    """One sub-command per operator function: EID, and ICCID unless the function takes none."""
    parsers = {}
    for name in names:
        parser = parsers[name] = sub.add_parser(name, help=MNO_FUNCTIONS[name][1])
        parser.add_argument("eid")
        if name not in no_iccid:
            parser.add_argument("iccid")
    return parsers


def register(subparsers: argparse._SubParsersAction) -> None:
    smsr = subparsers.add_parser(
        "smsr-service", help="run the SM-SR as a service (SGP.02 ES1, ES3, ES4 over SOAP on loopback)",
        description="Run a test SM-SR (M2M eSIM, GSMA SGP.02) as a web service on this machine. Operators,\n"
                    "SM-DPs and the eUICC manufacturer call its functions (SOAP messages over HTTP); it keeps\n"
                    "what it knows of each card in its own database file and talks to the card in a PC/SC\n"
                    "reader with secured SMS (or HTTPS administration sessions, --transport https).",
        epilog="example:\n  euicc-emu smsr-service serve --db smsr.db --port 8443 --reader 1")
    sub = smsr.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = _add_serve_parser(sub, "SM-SR")
    run.add_argument("--notify", type=_endpoint, action="append", default=[],
                     help="PARTY=URL: where operator or M2M SP PARTY receives its notifications (repeatable)")
    run.add_argument("--peer", type=_endpoint, action="append", default=[],
                     help="SMSR-ID=URL: another SM-SR's address for the SM-SR change (ES7, repeatable)")
    run.add_argument("--smsr-key", type=Path, help="this SM-SR's SK.SR.ECDSA (PEM): to take eUICCs over (ES7)")
    run.add_argument("--smsr-cert", type=Path, help="its CERT.SR.ECDSA, GP '7F21' (hex text)")
    run.add_argument("--ci-cert", type=Path, help="the CI certificate (X.509 PEM/DER) eUICC certificates chain to")
    run.add_argument("--eum-cert", type=Path, action="append", default=[],
                     help="an EUM certificate (X.509 PEM/DER) issued by the CI (repeatable)")
    run.add_argument("--device", metavar="URL",
                     help="the MT endpoint of a terminal simulator in front of the card ('euicc-emu terminal "
                          "--mt-port'): secured SMS go there instead of a terminal of its own on --reader")
    run.add_argument("--mo-port", type=int, metavar="PORT",
                     help="also listen on PORT (0: any free one) as the SMSC endpoint where the card's SMS "
                          "(PoRs, notifications) arrive ('euicc-emu terminal --smsc')")
    run.add_argument("--transport", choices=TRANSPORTS, default="sms",
                     help="ES5 to the card over SCP80 SMS-PP (default) or HTTPS administration sessions (SCP81, "
                          "GP Amd B) with the card's PSK key set from the EIS (a card without one: Failed 8.1 3.7)")
    run.add_argument("--https-port", type=int, default=0,
                     help="with --transport https: loopback port of the HTTPS server (default: any free one)")
    add_reader_argument(run)
    add_tls_arguments(run)
    run.set_defaults(func=_serve_smsr)
    pki = sub.add_parser("tls-pki", help="write a test CA and TLS certificates for the services and clients",
                         description="Write a test CA and a certificate and key per party (CN = the party's\n"
                                     "identifier) for HTTPS with mutual TLS on this machine; test material.")
    pki.add_argument("--out", type=Path, required=True, help="folder to write them to")
    pki.add_argument("--party", action="append", help=f"a party's identifier (default: {', '.join(TLS_PARTIES)})")
    pki.set_defaults(func=_tls_pki)

    smdp = subparsers.add_parser(
        "smdp-service", help="run the SM-DP as a service (SGP.02 ES2, using an SM-SR service over ES3)",
        description="Run a test SM-DP (M2M eSIM, GSMA SGP.02) as a web service on this machine. Operators\n"
                    "ask it to download profiles into their cards; it reaches each card through an SM-SR\n"
                    "service and keeps the keys of the card's profile domains in its own database file.",
        epilog="example:\n  euicc-emu smdp-service serve --db smdp.db --port 8444 --smsr http://127.0.0.1:8443/ \\\n"
               "      --key m2m/SK_DP.pem --cert m2m/CERT_DP.hex --profile 8944000000000000001=profile.der")
    run = _add_serve_parser(smdp.add_subparsers(dest="action", required=True, metavar="ACTION"), "SM-DP")
    run.add_argument("--smsr", required=True, help="URL of the SM-SR service")
    run.add_argument("--key", type=Path, required=True, help="SK.DP.ECDSA (PEM)")
    run.add_argument("--cert", type=Path, required=True, help="CERT.DP.ECDSA, GP '7F21' format (hex text)")
    run.add_argument("--eum-key", type=Path, help="EUM public key (PEM/cert): check CERT.ECASD.ECKA")
    run.add_argument("--profile", type=_catalogue_entry, action="append", default=[],
                     help="ICCID=FILE: a profile package (SAIP DER) this SM-DP can download (repeatable)")
    run.add_argument("--notify", type=_endpoint, action="append", default=[],
                     help="MNO=URL: where operator MNO receives its ES2 notifications (repeatable)")
    add_tls_arguments(run)
    run.set_defaults(func=_serve_smdp)

    eum = subparsers.add_parser(
        "eum", help="act as the eUICC manufacturer: register a card's EIS with an SM-SR (ES1)",
        description="Act as the eUICC manufacturer (EUM, GSMA SGP.02): hand a new card's information set\n"
                    "(EID, SM-SR keys, profiles) to an SM-SR service.",
        epilog="example:\n  euicc-emu eum register-eis --smsr http://127.0.0.1:8443/ --eis m2m/eis.json \\\n"
               "      --eid 89049032000000000000000000000163 --profile A0000005591010FFFFFFFF8900001000=8988211000000000001,enabled")
    eum_sub = eum.add_subparsers(dest="action", required=True, metavar="ACTION")
    reg = eum_sub.add_parser("register-eis", help="send the card's EIS to the SM-SR (ES1.RegisterEIS)")
    reg.add_argument("--smsr", required=True, help="URL of the SM-SR service")
    reg.add_argument("--eis", type=Path, required=True, help="EIS/keys file (JSON, from 'euicc-emu smsr pki')")
    reg.add_argument("--eid", required=True, help="the card's EID (32 digits)")
    reg.add_argument("--profile", type=_profile_argument, action="append", default=[],
                     help="a profile on the card: ISD-P AID=ICCID[,enabled][,fallback] (repeatable)")
    reg.add_argument("--mno", help="operator owning these profiles")
    _add_identity_arguments(reg, "EUM", "EUM")
    reg.set_defaults(func=_register_eis)

    m2msp = subparsers.add_parser(
        "m2m-sp", help="act as an M2M service provider: manage an operator's profiles it is allowed to (ES4)",
        description="Act as an M2M service provider (GSMA SGP.02): enable, disable or delete the profiles of\n"
                    "its devices through an SM-SR service, as far as the operator's authorisation (PLMA) allows.",
        epilog="example:\n  euicc-emu m2m-sp --smsr http://127.0.0.1:8443/ --id SP1 disable "
               "89049032000000000000000000000163 8944000000000000001")
    m2msp.add_argument("--smsr", required=True, help="URL of the SM-SR service")
    _add_identity_arguments(m2msp, "M2M-SP", "M2M SP")
    m2msp.set_defaults(smdp=None)
    add_reply_to_argument(m2msp)
    _add_functions(m2msp.add_subparsers(dest="function", required=True, metavar="FUNCTION"), M2MSP_FUNCTIONS,
                   ("get-eis", "audit-eis"))
    m2msp.set_defaults(func=_mno)

    mno = subparsers.add_parser(
        "mno", help="act as a mobile operator: manage profiles through an SM-SR (ES4) or SM-DP (ES2)",
        description="Act as a mobile network operator (GSMA SGP.02): read a card's information and enable,\n"
                    "disable or delete its profiles, or set their policy rules, through an SM-SR service.",
        epilog="examples:\n  euicc-emu mno --smsr http://127.0.0.1:8443/ get-eis 89049032000000000000000000000163\n"
               "  euicc-emu mno --smdp http://127.0.0.1:8444/ download 89049032000000000000000000000163 8944000000000000001")
    mno.add_argument("--smsr", help="URL of the SM-SR service (functions go over ES4)")
    mno.add_argument("--smdp", help="URL of the SM-DP service (functions go over ES2 instead)")
    _add_identity_arguments(mno, "MNO", "operator")
    add_reply_to_argument(mno)
    mno_sub = mno.add_subparsers(dest="function", required=True, metavar="FUNCTION")
    parsers = _add_functions(mno_sub, MNO_FUNCTIONS, NO_ICCID)
    parsers["prepare-smsr-change"].add_argument("--current-smsr", required=True,
                                                help="identifier of the SM-SR managing the eUICC now")
    parsers["smsr-change"].add_argument("--target-smsr", required=True,
                                        help="identifier of the SM-SR taking the eUICC over")
    parsers["update-subscription-address"].add_argument("--msisdn", help="the profile's MSISDN (E.164 digits)")
    parsers["update-subscription-address"].add_argument("--imsi", help="the profile's IMSI (digits)")
    parsers["download"].add_argument("--enable", action="store_true", help="enable the profile once installed")
    for name in ("update-policy-rules", "download"):
        parsers[name].add_argument("--rule", type=_rule, action="append", default=[],
                                   help="ACTION=QUALIFICATION, e.g. DISABLE=Not-Allowed (none: no restriction)")
    for name, (_, text) in ES4A_FUNCTIONS.items():
        parser = mno_sub.add_parser(name, help=text)
        if name == "set-plma":
            parser.add_argument("m2msp", help="the M2M service provider's identifier")
            parser.add_argument("--allow", action="append", default=[], choices=PLMA_OPERATIONS,
                                help="a function it may run (repeatable; none: revoke)")
        if name == "set-onc":
            parser.add_argument("--exclude", action="append", default=[], choices=NOTIFICATIONS,
                                help="a notification not wanted (repeatable; none: all wanted)")
    listen = mno_sub.add_parser("listen", help="receive the SM-SR's notifications and print them until Ctrl-C",
                                description="Receive the SM-SR's notifications (profile enabled, disabled,\n"
                                            "deleted) and print them until Ctrl-C; prints its address first.")
    _add_listen_arguments(listen)
    mno.set_defaults(func=_mno)
