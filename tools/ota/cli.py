"""``euicc-emu ota``: build SCP80 SMS-PP ENVELOPEs and decode PoRs (host side, SM-SR role).

    ota build --algo aes --kic K --kid K [--kvn 1] [--spi 1639] [--tar 000001] [--counter N]
              [--format expanded|compact] [--packet-only] APDU...
    ota por   --algo aes --kic K --kid K [--kvn 1] [--spi 1639] POR_HEX
"""
from __future__ import annotations

import argparse
import sys

from tools.ota.packet import AES, DES, TDES2, TDES3, OtaKeyset, build_command_packet, decode_response_packet
from tools.ota.transport import compact_script, envelope_apdu, expanded_script, sms_deliver_tpdus

_ALGORITHMS = {"aes": (AES, AES), "3des2": (TDES2, TDES2), "3des3": (TDES3, TDES3), "des": (DES, DES)}


def _keyset(args: argparse.Namespace) -> OtaKeyset:
    kic_algorithm, kid_algorithm = _ALGORITHMS[args.algo]
    return OtaKeyset(args.kvn, kic_algorithm, bytes.fromhex(args.kic), kid_algorithm, bytes.fromhex(args.kid))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="euicc-emu ota", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("build", "por"):
        p = sub.add_parser(name)
        p.add_argument("--algo", choices=sorted(_ALGORITHMS), default="aes")
        p.add_argument("--kic", required=True)
        p.add_argument("--kid", required=True)
        p.add_argument("--kvn", type=int, default=1)
        p.add_argument("--spi", default="1639")
    build = sub.choices["build"]
    build.add_argument("--tar", default="000001")
    build.add_argument("--counter", type=int, default=1)
    build.add_argument("--format", choices=("expanded", "compact"), default="expanded")
    build.add_argument("--packet-only", action="store_true", help="print the command packet only")
    build.add_argument("apdus", nargs="+")
    sub.choices["por"].add_argument("por")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints hex lines on stdout, returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        keyset = _keyset(args)
        spi = bytes.fromhex(args.spi)
        if args.command == "build":
            apdus = [bytes.fromhex(a) for a in args.apdus]
            script = expanded_script(apdus) if args.format == "expanded" else compact_script(apdus)
            packet = build_command_packet(keyset, spi, bytes.fromhex(args.tar), script, args.counter)
            lines = [packet.hex()] if args.packet_only else \
                [envelope_apdu(tpdu).hex() for tpdu in sms_deliver_tpdus(packet)]
        else:
            por = decode_response_packet(keyset, spi, bytes.fromhex(args.por))
            lines = [f"tar={por.tar.hex()} counter={por.counter} status={por.status:02x} "
                     f"checksum_valid={por.checksum_valid} data={por.data.hex()}"]
    except (ValueError, IndexError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
