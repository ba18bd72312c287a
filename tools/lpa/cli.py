"""``euicc-emu lpa ...``: the LPA command line (SGP.22 v2.5 §3 procedures).

    euicc-emu lpa download --activation-code 'LPA:1$127.0.0.1:8080$MATCHING-ID' --http
    euicc-emu lpa [--lsi N] profile list | enable ICCID [--port N] | disable ICCID | delete ICCID | nickname ICCID NAME
    euicc-emu lpa notification list | process | remove SEQ
    euicc-emu lpa chip info
    euicc-emu lpa rpm [--smdp ADDRESS] [--iccid ICCID] [--port N]   (SGP.22 v3.1 Remote Profile Management)

The card: a PC/SC reader (``--reader``, name or index, default "Virtual PCD 00 00") or an
in-process card on a state file (``--card-state PATH``, with ``--mep A1|A2|B`` its Multiple
Enabled Profiles option, as ``euicc-emu run --mep``).
"""
from __future__ import annotations

import argparse
import json
import ssl
import sys
from pathlib import Path

from euicc.rsp.der import canonical_oid
from tools.lpa import activation_code, device_change, rpm
from tools.lpa.es9plus import Es9FunctionError, Es9PlusClient, Es9TransportError
from tools.lpa.es10 import Es10Client, Es10Error
from tools.lpa.lpa import DownloadError, Lpa, iccid_bytes, iccid_digits
from tools.lpa.transport import DEFAULT_READER, CardError, Es10Transport, PcscTransmit

DESCRIPTION = """\
Act as the Local Profile Assistant of a consumer device (GSMA SGP.22): download a profile from an
SM-DP+ onto the card; list, enable, disable, delete or rename its profiles; send or remove its
notifications; show its EID and capabilities. The card is the one in a PC/SC reader (--reader),
or an in-process card on a state file (--card-state)."""
EPILOG = """\
examples:
  euicc-emu lpa download --activation-code 'LPA:1$127.0.0.1:8080$MATCHING-ID' --http
  euicc-emu lpa profile list
  euicc-emu lpa profile enable 89001000000000000010
  euicc-emu lpa profile enable 89000123456789012341 --port 2   (MEP-A1: the eSIM port)
  euicc-emu lpa --lsi 1 profile enable 89000123456789012341     (MEP-B: sent on port 1)
  euicc-emu lpa notification process"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reader", default=DEFAULT_READER, help="PC/SC reader name or index")
    parser.add_argument("--card-state", type=Path, help="use an in-process card on this state file instead")
    parser.add_argument("--mep", choices=("off", "A1", "A2", "B"), default=None,
                        help="with --card-state: the card's SGP.22 v3 Multiple Enabled Profiles option "
                             "(as 'euicc-emu run --mep'; default off)")
    parser.add_argument("--block-size", type=int, default=120, help="STORE DATA block size (1..255)")
    parser.add_argument("--lsi", type=int, default=None, metavar="N",
                        help="talk to the card on eSIM port N (MANAGE LSI select LSI, TS 102 221 V17): "
                             "MEP-B sends EnableProfile on the port it enables")
    parser.add_argument("--http", action="store_true", help="plain HTTP to the SM-DP+ (tests only)")
    parser.add_argument("--tls-ca", type=Path, help="trust this CA certificate (PEM/DER) for the SM-DP+ TLS")
    parser.add_argument("--tls-no-hostname-check", action="store_true", help="accept a TLS name mismatch")
    sub = parser.add_subparsers(dest="lpa_command", required=True, metavar="COMMAND")
    dl = sub.add_parser("download", help="download a profile from an SM-DP+ and install it (SGP.22 §3.1.3)")
    dl.add_argument("--activation-code", required=True)
    dl.add_argument("--confirmation-code")
    dl.add_argument("--no-notify", action="store_true", help="keep the installation notification on the card")
    dl.add_argument("--not-enterprise-capable", action="store_true",
                    help="v3 sessions: a Device that is not Enterprise Capable (no Enterprise Rules)")
    prof = sub.add_parser("profile", help="list the profiles, or enable, disable, delete or rename one (by ICCID)")
    prof.add_argument("action", choices=("list", "enable", "disable", "delete", "nickname"))
    prof.add_argument("iccid", nargs="?")
    prof.add_argument("nickname", nargs="?")
    prof.add_argument("--port", type=int, default=None, metavar="N",
                      help="enable: the eSIM port to enable the profile on (targetEsimPort, SGP.22 v3 "
                           "Multiple Enabled Profiles)")
    notif = sub.add_parser("notification", help="list the card's notifications, send them (process) or remove one")
    notif.add_argument("action", choices=("list", "process", "remove"))
    notif.add_argument("seq", nargs="?", type=int)
    dc = sub.add_parser("device-change", help="move a profile to a new Device (SGP.22 v3.1): prints the "
                                              "activation code for the new Device")
    dc.add_argument("iccid")
    dc.add_argument("--smdp", required=True, help="SM-DP+ address of the profile's Device Change")
    dc.add_argument("--yes", action="store_true", help="accept the service-provider message for Device Change")
    rec = sub.add_parser("profile-recovery", help="recover a profile moved away (SGP.22 v3.1): prints the "
                                                  "activation code to download it again")
    rec.add_argument("iccid")
    rec.add_argument("--smdp", required=True, help="SM-DP+ address of the profile's Device Change")
    rec.add_argument("--download", action="store_true", help="download the profile with it")
    chip = sub.add_parser("chip", help="show the card's EID and capabilities (chip info)")
    chip.add_argument("action", choices=("info",))
    rpm_cmd = sub.add_parser("rpm", help="fetch and run the SM-DP+'s RPM package(s) (SGP.22 v3.1 §3.7)")
    rpm_cmd.add_argument("--smdp", help="SM-DP+ address (host:port); default: the pollingAddress of each "
                                        "profile's rpmConfiguration (read with GetProfilesInfo)")
    rpm_cmd.add_argument("--iccid", help="poll for the RPM of this profile (ctxParams1 iccid)")
    rpm_cmd.add_argument("--port", type=int, default=None, metavar="N",
                         help="MEP: the eSIM port of the package's enable (LoadRpmPackage targetEsimPort)")
    rpm_cmd.add_argument("--ask", action="store_true", help="show each package and ask before running it")
    rpm_cmd.add_argument("--no-notify", action="store_true", help="keep the RPM result notification on the card")
    parser.set_defaults(func=run)


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.tls_ca is None and not args.tls_no_hostname_check:
        return None
    ctx = ssl.create_default_context()
    if args.tls_ca is not None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        raw = args.tls_ca.read_bytes()
        cert = x509.load_pem_x509_certificate(raw) if raw.lstrip().startswith(b"-----") else x509.load_der_x509_certificate(raw)
        ctx.load_verify_locations(cadata=cert.public_bytes(serialization.Encoding.PEM).decode())
    if args.tls_no_hostname_check:
        ctx.check_hostname = False
    return ctx


def _transmit(args: argparse.Namespace):
    if args.card_state is not None:
        # transport only: the card imports the LPA may use (the card, its settings, its MEP option)
        from euicc.card import CardConfig
        from euicc.composition import open_card
        from euicc.rsp import mep
        card = open_card(args.card_state, CardConfig(ports=mep.layout(args.mep or mep.OFF)))
        return card.transmit, card.close
    pcsc = PcscTransmit(args.reader)
    return pcsc, pcsc.close


def _readable(value, key: str = ""):
    """A decoded ES10 / ES9+ value as a user reads it: an ``iccid`` as its digits (TS 102 221 §13.2),
    an OID member (``dpOid``, ``managingDpOid``, ...) in its X.690 §8.19.4 form (asn1tools gives the
    SGP.26 SM-DP+ OID 2.999.10 as '26.39.10'); a CHOICE (name, value) names its value; a present
    NULL member (asn1tools decodes ASN.1 NULL, X.690 §8.8, as None; e.g. ``deleteOldProfile`` of
    SGP.22 v3.1 DeviceChangeData) as ``true``.  An absent member is not shown at all: the dicts this
    module builds leave them out (``_shown``)."""
    if isinstance(value, dict):
        return {k: True if v is None else _readable(v, k) for k, v in value.items()}
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return [value[0], _readable(value[1], value[0])]
    if isinstance(value, (list, tuple)):
        return [_readable(v, key) for v in value]
    if key == "iccid" and isinstance(value, (bytes, bytearray)):
        return iccid_digits(value)
    if key.endswith("Oid") and isinstance(value, str):
        return canonical_oid(value)
    return value


def _shown(**members) -> dict:
    """An output object with its absent (None) members left out, as ``_readable`` shows decoded ones."""
    return {k: v for k, v in members.items() if v is not None}


def _json(value) -> str:
    def default(o):
        if isinstance(o, (bytes, bytearray)):
            return o.hex().upper()
        return str(o)
    return json.dumps(_readable(value), indent=2, default=default)


def _profile_list(es10: Es10Client) -> list[dict]:
    out = []
    for info in es10.get_profiles_info():
        out.append({"iccid": iccid_digits(info["iccid"]) if "iccid" in info else None,
                    "isdpAid": info.get("isdpAid", b"").hex().upper(),
                    "state": {0: "disabled", 1: "enabled"}.get(info.get("profileState"), "?"),
                    "nickname": info.get("profileNickname"), "serviceProviderName": info.get("serviceProviderName"),
                    "profileName": info.get("profileName"), "profileClass": info.get("profileClass")})
        if "enabledOnEsimPort" in info:                      # SGP.22 v3 MEP
            out[-1]["esimPort"] = info["enabledOnEsimPort"]
    return out


def _notification_list(es10: Es10Client) -> list[dict]:
    """ListNotification (SGP.22 §5.7.9) with each ``iccid`` as digits (EF.ICCID coding, TS 102 221
    §13.2), like ``profile list``."""
    return [{**n, "iccid": iccid_digits(n["iccid"])} if "iccid" in n else n
            for n in es10.list_notifications()]


def _rpm_outcome(outcome: rpm.RpmOutcome) -> dict:
    """One RPM session as shown: the commands and the eUICC's result (SGP.22 v3.1 LoadRpmPackageResult)."""
    kind, value = outcome.result
    shown = _shown(transactionId=outcome.transaction_id,
                   commands=[c["rpmCommandDetails"][0] for c in outcome.package], result=kind,
                   notificationSeq=outcome.seq_number, notificationSent=outcome.notification_sent)
    if kind == "loadRpmPackageResultSigned":
        final = value["loadRpmPackageResultDataSigned"]["finalResult"]
        shown["finalResult"] = final
        if final[0] == "rpmPackageExecutionResult":      # contactPcmp: the PCMP to contact (LPA Proxy)
            shown["pcmpAddresses"] = [answer[1]["pcmpAddress"] for result, answer in
                                      (r["rpmCommandResultData"] for r in final[1])
                                      if result == "contactPcmpResult" and answer[0] == "contactPcmpResponseOk"]
    else:
        shown["errorCode"] = value["loadRpmPackageErrorCodeNotSigned"]
    return shown


def _ask(package: list[dict]) -> bool:
    """The end user's confirmation of an RPM package (SGP.22 v3.1 §3.7.2)."""
    print(_json([c["rpmCommandDetails"] for c in package]), file=sys.stderr)
    return input("Run these RPM commands? [y/N] ").strip().lower() in ("y", "yes")


def execute(args: argparse.Namespace, lpa: Lpa) -> int:
    es10 = lpa.es10
    if args.lpa_command == "download":
        result, chained = rpm.download(lpa, activation_code.parse(args.activation_code), args.confirmation_code)
        shown = {"iccid": iccid_digits(result.iccid), "isdpAid": result.isdp_aid,
                 "notificationSeq": result.seq_number, "notificationSent": result.notification_sent}
        for member in ("serviceProviderMessage", "enterpriseConfiguration"):     # SGP.22 v3.1 'BE', 'BD'
            if member in result.metadata:
                shown[member] = result.metadata[member]
        if chained:                                          # SGP.22 v3.1 rpmPending
            shown["rpm"] = [_rpm_outcome(o) for o in chained]
        print(_json(shown))
        return 0
    if args.lpa_command == "rpm":
        iccid = iccid_bytes(args.iccid) if args.iccid else None
        addresses = [args.smdp] if args.smdp else rpm.polling_addresses(lpa, iccid)
        if not addresses:
            print("lpa rpm: no profile's rpmConfiguration names a pollingAddress: give --smdp", file=sys.stderr)
            return 2
        outcomes = [o for address in addresses
                    for o in rpm.run(lpa, address, iccid, _ask if args.ask else lambda package: True, args.port)]
        print(_json([_rpm_outcome(o) for o in outcomes]))
        return 0 if all(o.result[0] == "loadRpmPackageResultSigned" for o in outcomes) else 1
    if args.lpa_command == "profile":
        if args.action == "list":
            print(_json(_profile_list(es10)))
            return 0
        if not args.iccid:
            print(f"lpa profile {args.action}: ICCID required", file=sys.stderr)
            return 2
        ident = ("iccid", iccid_bytes(args.iccid))
        if args.port is not None and args.action != "enable":
            print(f"lpa profile {args.action}: --port is for enable", file=sys.stderr)
            return 2
        shown = _profile_action(es10, args, ident)
        print(_json(shown))
        return 0 if shown["result"] == 0 else 1
    if args.lpa_command == "notification":
        if args.action == "list":
            print(_json(_notification_list(es10)))
        elif args.action == "process":
            print(_json([{"seqNumber": s, "delivered": d} for s, d in lpa.process_notifications()]))
        else:
            if args.seq is None:
                print("lpa notification remove: SEQ required", file=sys.stderr)
                return 2
            status = es10.remove_notification(args.seq)
            print(_json({"deleteNotificationStatus": status}))
            return 0 if status == 0 else 1
        return 0
    if args.lpa_command in ("device-change", "profile-recovery"):
        return _device_change(args, lpa)
    print(_json(lpa.chip_info()))
    return 0


def _profile_action(es10: Es10Client, args: argparse.Namespace, ident: tuple[str, bytes]) -> dict:
    """``profile enable|disable|delete|nickname``: the card's result code; for enable on a MEP card
    also ``esimPort``, the port the card enabled the profile on (EnableProfileResponse
    ``targetEsimPort``, SGP.22 v3.1 §2.12; on MEP-A2 the eUICC's choice), named as in
    ``profile list``."""
    if args.action == "enable":
        response = es10.enable_profile_response(ident, port=args.port)
        shown = {"result": response["enableResult"]}
        if "targetEsimPort" in response:
            shown["esimPort"] = response["targetEsimPort"]
        return shown
    return {"result": {"disable": lambda: es10.disable_profile(ident),
                       "delete": lambda: es10.delete_profile(ident),
                       "nickname": lambda: es10.set_nickname(ident[1], args.nickname or "")}[args.action]()}


def _device_change(args: argparse.Namespace, lpa: Lpa) -> int:
    """``device-change`` / ``profile-recovery`` (tools.lpa.device_change).  A service-provider message
    for Device Change needs the end user's consent: --yes."""
    iccid = iccid_bytes(args.iccid)
    if args.lpa_command == "profile-recovery":
        code = device_change.profile_recovery(lpa, args.smdp, iccid)
        shown: dict = {"activationCode": code}
        if args.download:
            shown["iccid"] = iccid_digits(lpa.download(activation_code.parse(code)).iccid)
        print(_json(shown))
        return 0
    seen: list = []

    def accept(message: dict | None) -> bool:
        seen.append(message)
        return message is None or args.yes

    try:
        result = device_change.device_change(lpa, args.smdp, iccid, accept)
    except DownloadError:
        if seen and seen[0] is not None and not args.yes:
            print(_json({"serviceProviderMessageForDc": seen[0], "refused": "confirm with --yes"}))
            return 1
        raise
    print(_json(_shown(activationCode=result.activation_code,
                       serviceProviderMessageForDc=result.service_provider_message, deviceChangeData=result.data,
                       encrypted=result.encrypted, oldProfileDeleted=result.deleted)))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.mep is not None and args.card_state is None:
        print("lpa: --mep is the option of an in-process card: give --card-state", file=sys.stderr)
        return 2
    try:
        transmit, close = _transmit(args)
    except Exception as exc:  # pyscard raises its own types (CardConnectionException, ...) besides OSError
        if args.card_state is not None:
            raise  # a state file that is not a usable card: tools.cli prints its one line
        print(f"lpa: no card: {exc}", file=sys.stderr)
        return 2
    ctx = _ssl_context(args)
    transport = Es10Transport(transmit, block_size=args.block_size, lsi=args.lsi)
    lpa = Lpa(Es10Client(transport), es9=lambda addr: Es9PlusClient(addr, not args.http, ctx),
              send_notifications=not getattr(args, "no_notify", False),
              enterprise_capable=not getattr(args, "not_enterprise_capable", False))
    try:
        transport.open()
        return execute(args, lpa)
    except (activation_code.ActivationCodeError, ValueError) as exc:
        print(f"lpa: {exc}", file=sys.stderr)
        return 2
    except (DownloadError, Es9FunctionError, Es9TransportError, Es10Error, CardError) as exc:
        print(f"lpa: {exc}", file=sys.stderr)
        return 1
    finally:
        try:
            transport.close()
        except CardError:
            pass
        close()


def register(subparsers: argparse._SubParsersAction) -> None:
    """``euicc-emu lpa ...`` (tools.cli plug-in)."""
    add_arguments(subparsers.add_parser("lpa", help="Local Profile Assistant (SGP.22 ES9+/ES10)",
                                        description=DESCRIPTION, epilog=EPILOG))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="euicc-emu lpa", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))
