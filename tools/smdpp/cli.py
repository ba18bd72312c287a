"""``python -m tools.smdpp serve ...`` (also ``euicc-emu smdpp serve ...``): run the test SM-DP+.

    python -m tools.smdpp serve --port 8443 --certs DIR --upp profile.der --matching-id ABC-123

``--certs`` is a folder in the GSMA SGP.26 layout (the published test certificates, or one
written by ``euicc-emu pki``).  Plain HTTP by default (fine on 127.0.0.1 for tests); ``--tls``
serves HTTPS with CERT.DP.TLS from the same folder, as SGP.22 §2.6.6 requires.
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tools.smdpp import rpm
from tools.smdpp.bpp import ENTERPRISE_RULE_BITS, EnterpriseOrder
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SmDpPlus
from tools.smdpp.http_binding import Es9PlusServer
from tools.smdpp.orders import DeviceChangePolicy, UppError, load_upp, order_from_upp

DESCRIPTION = """\
Run a test SM-DP+ (GSMA SGP.22): the server a consumer device downloads profiles from, over the
ES9+ interface (HTTP, or HTTPS with --tls). Each download order is a profile package (--upp) that
a matching ID releases. The certificates come from a folder in the GSMA SGP.26 layout: the
published test certificates, or a set written by 'euicc-emu pki create'."""
EPILOG = """\
example:
  euicc-emu smdpp serve --certs ./pki --upp profile.der --matching-id ABC-123
  (then: euicc-emu lpa download --activation-code 'LPA:1$127.0.0.1:8080$ABC-123' --http)
  euicc-emu smdpp serve --certs ./pki --svn 3.1.0 --upp profile.der --matching-id ABC-123 \
      --rpm-manage --rpm-enable 89000123456789012341
  (the download chains the RPM enable: SGP.22 v3.1 rpmPending; or later: euicc-emu lpa rpm --smdp ...)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="smdpp_command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve ES9+ (SGP.22 §6.5) for one or more download orders",
                           description="Serve ES9+ (SGP.22 §6.5) for one or more download orders until Ctrl-C.\n"
                                       "Plain HTTP unless --tls (fine on 127.0.0.1 for tests).")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--address", help="SM-DP+ address as in the activation code (default HOST:PORT)")
    serve.add_argument("--certs", type=Path, required=True, help="SGP.26-layout folder (CI, DPauth, DPpb, DPtls)")
    serve.add_argument("--curves", default="NIST,BRP", help="credential sets to load (NIST,BRP)")
    serve.add_argument("--dp", default="DP", choices=("DP", "DP2"), help="SGP.26 SM-DP+ identity (DP or DP2)")
    serve.add_argument("--upp", type=Path, action="append", default=[], help="UPP file (repeat for more orders)")
    serve.add_argument("--matching-id", action="append", default=[], help="matching ID (one per --upp)")
    serve.add_argument("--confirmation-code", help="require this confirmation code")
    serve.add_argument("--eid", help="bind the order(s) to this EID")
    serve.add_argument("--ppk", action="store_true", help="protect profile elements with ReplaceSessionKeys")
    serve.add_argument("--profile-owner", type=mcc_mnc, metavar="MCCMNC",
                       help="profile owner in the metadata, 5 or 6 digits (e.g. 00101)")
    serve.add_argument("--ppr", action="append", default=[], choices=("ppr1", "ppr2", "ppr3"),
                       help="announce this profile policy rule in the metadata (repeatable)")
    serve.add_argument("--metadata-iccid", metavar="DIGITS",
                       help="(tests) announce this ICCID in the metadata instead of the package's")
    serve.add_argument("--notification-address", help="ask for enable/disable/delete notifications here")
    serve.add_argument("--service-provider-name", default="Test SM-DP+")
    serve.add_argument("--profile-name")
    serve.add_argument("--svn", choices=("2.5.0", "3.1.0"), default="2.5.0",
                       help="SGP.22 version of this SM-DP+: 3.1.0 chooses v3 with an eUICC that speaks it")
    serve.add_argument("--service-provider-message",
                       help="v3 sessions: service-provider message in the profile metadata ('BE')")
    serve.add_argument("--enterprise-oid", help="v3 sessions: an Enterprise Profile of this enterprise OID ('BD')")
    serve.add_argument("--enterprise-name", default="Test Enterprise", help="with --enterprise-oid")
    serve.add_argument("--enterprise-rule", action="append", default=[], choices=tuple(ENTERPRISE_RULE_BITS),
                       help="with --enterprise-oid: an Enterprise Rule bit (repeatable)")
    serve.add_argument("--non-enterprise-profiles", type=int, metavar="N",
                       help="with --enterprise-oid: numberOfNonEnterpriseProfiles that can be enabled")
    serve.add_argument("--device-change", action="store_true",
                       help="v3 sessions: allow Device Change of the profile(s) through this SM-DP+")
    serve.add_argument("--dc-delete-old-profile", action="store_true",
                       help="with --device-change: the old Device must delete the profile")
    serve.add_argument("--dc-recovery-days", type=int, metavar="DAYS",
                       help="with --device-change: allow Profile Recovery for DAYS days")
    serve.add_argument("--dc-message", help="with --device-change: service-provider message for Device Change")
    serve.add_argument("--dc-plain", action="store_true",
                       help="with --device-change: send the DeviceChangeData unencrypted even when the eUICC "
                            "offers a key (otPK.EUICC.KAeac)")
    serve.add_argument("--pcmp-address", help="v3 sessions: lprConfiguration {pcmpAddress} in the metadata ('BC'), "
                       "the address RPM contactPcmp answers")
    serve.add_argument("--crl", type=Path, action="append", default=[],
                       help="v3 sessions: staple this DER CRL of a CA of the chain (repeatable; SGP.22 v3.1 "
                            "crlList, made e.g. with 'euicc-emu pki crl')")
    serve.add_argument("--tls", action="store_true", help="HTTPS with CERT.DP.TLS")
    rpm.add_arguments(serve)
    parser.set_defaults(func=run)


def mcc_mnc(text: str) -> bytes:
    """MCC + MNC digits -> the 3 bytes of TS 24.008 §10.5.1.3 (MCC2 MCC1, MNC3 MCC3, MNC2 MNC1; MNC3 'F'
    for a 2-digit MNC), as SGP.22 ``OperatorID.mccMnc`` codes them."""
    if not text.isdigit() or len(text) not in (5, 6):
        raise argparse.ArgumentTypeError("MCC and MNC: 5 or 6 digits")
    mcc, mnc = text[:3], text[3:].ljust(3, "F")
    return bytes.fromhex(mcc[1] + mcc[0] + mnc[2] + mcc[2] + mnc[1] + mnc[0])


def enterprise_order(args: argparse.Namespace) -> EnterpriseOrder | None:
    """The EnterpriseConfiguration the options describe (SGP.22 v3.1), None without --enterprise-oid."""
    if args.enterprise_oid is None:
        return None
    return EnterpriseOrder(args.enterprise_oid, args.enterprise_name, tuple(args.enterprise_rule),
                           args.non_enterprise_profiles)


def device_change_policy(args: argparse.Namespace) -> DeviceChangePolicy | None:
    """The Device Change policy the options describe (SGP.22 v3.1), None without --device-change."""
    if not args.device_change:
        return None
    return DeviceChangePolicy(args.dc_delete_old_profile, args.dc_recovery_days, args.dc_message, not args.dc_plain)


def run(args: argparse.Namespace) -> int:
    if len(args.upp) != len(args.matching_id):
        print("smdpp: give one --matching-id per --upp")
        return 2
    rpm_order = rpm.order_from_args(args.rpm, args.rpm_eid)
    if not args.upp and rpm_order is None:
        print("smdpp: give a download order (--upp, --matching-id) or an RPM order (--rpm-*)")
        return 2
    creds = load_folder(args.certs, tuple(args.curves.split(",")), args.dp)
    address = args.address or f"{args.host}:{args.port}"
    smdp = SmDpPlus(address, creds, svn=bytes(int(n) for n in args.svn.split(".")))
    if rpm_order is not None:
        smdp.rpm.add(rpm_order)
    try:
        smdp.crls = [path.read_bytes() for path in args.crl]
    except OSError as exc:
        print(f"smdpp: {exc}")
        return 2
    smdp_oid = next(iter(creds.sets.values())).smdp_oid
    rpm_config = (rpm.rpm_configuration(smdp_oid, args.rpm_owner_oid or smdp_oid, polling_address=address)
                  if args.rpm_manage else None)
    try:
        for upp_path, matching_id in zip(args.upp, args.matching_id):
            smdp.add_order(order_from_upp(
                matching_id, load_upp(upp_path), service_provider_name=args.service_provider_name,
                profile_name=args.profile_name, notification_address=args.notification_address or address,
                confirmation_code=args.confirmation_code, eid=args.eid, use_ppk=args.ppk,
                ppr_ids=tuple(args.ppr), metadata_iccid=args.metadata_iccid, profile_owner=args.profile_owner,
                service_provider_message=args.service_provider_message, enterprise=enterprise_order(args),
                device_change=device_change_policy(args), device_change_address=address,
                rpm_configuration=rpm_config, pcmp_address=args.pcmp_address))
    except (UppError, OSError) as exc:
        print(f"smdpp: {exc}")
        return 2
    tls = None
    if args.tls:
        tls = next((c.tls for c in creds.sets.values() if c.tls is not None), None)
        if tls is None:
            print("smdpp: --tls needs DPtls/CERT_S_SM_DP_VARO_TLS_*.der and its key in --certs")
            return 2
    server = Es9PlusServer(smdp, args.host, args.port, tls)
    logging.getLogger(__name__).info("SM-DP+ %s serving %s%s on %s:%d", address, ", ".join(args.matching_id),
                                     " and an RPM order" if rpm_order else "", args.host, server.port)
    print(f"SM-DP+ {address} listening on {'https' if tls else 'http'}://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """``euicc-emu smdpp ...`` (tools.cli plug-in)."""
    add_arguments(subparsers.add_parser("smdpp", help="test SM-DP+ (SGP.22 ES9+ over HTTP)",
                                        description=DESCRIPTION, epilog=EPILOG))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.smdpp", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-level", default="INFO", type=str.upper)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args) or 0)
