"""``euicc-emu smdp-m2m``: download a UPP into a new ISD-P of a card on PC/SC (SGP.02 ES3/ES8).

    smdp-m2m --kic HEX --kid HEX [--counter N] [--reader R] --key SK_DP.pem --cert CERT_DP.hex UPP.der

Creates the ISD-P (ES3 -> ES5.CreateISDP), reads CERT.ECASD.ECKA (audit), runs
ES8.EstablishISDPKeySet with the SM-DP's key and GP-format certificate, then
ES8.DownloadAndInstallation of the UPP over SCP03t.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tools.smdp_m2m.scp03t import Scp03tError
from tools.smdp_m2m.smdp import SmDp
from tools.smsr.cli import add_keyset_arguments, connect
from tools.smsr.gp_certificate import CertificateError
from tools.smsr.key_establishment import KeyEstablishmentError
from tools.smsr.smsr import CommandFailed, OtaFailure
from tools.terminal.link import LinkError

COMMAND = "smdp-m2m"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="euicc-emu smdp-m2m", description=__doc__.splitlines()[0])
    add_keyset_arguments(parser)
    parser.add_argument("--key", type=Path, required=True, help="SK.DP.ECDSA (PEM)")
    parser.add_argument("--cert", type=Path, required=True, help="CERT.DP.ECDSA, GP '7F21' format (hex text)")
    parser.add_argument("upp", type=Path, help="Unprotected Profile Package (SAIP DER)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        key = load_pem_private_key(args.key.read_bytes(), None)
        smsr = connect(args)
        smdp = SmDp(key, bytes.fromhex(args.cert.read_text().strip()), smsr)
        isdp = smsr.create_isdp()
        smsr.audit()
        smdp.establish_isdp_keyset(isdp, smdp.ecasd_public_key(smsr.eis.ecasd_certificate))
        result = smdp.download_profile(isdp, args.upp.read_bytes())
    except (CommandFailed, OtaFailure, LinkError, CertificateError, KeyEstablishmentError, Scp03tError,
            OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"ISD-P {isdp.hex().upper()}: {result.segments} segments, answers {[a.hex() for a in result.answers]}")
    print(f"next counter {smsr.eis.counters[args.kvn] + 1}")
    return 0
