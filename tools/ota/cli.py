"""``euicc-emu ota``: build SCP80 SMS-PP ENVELOPEs and decode PoRs (host side, SM-SR role).

    ota build --algo aes --kic K --kid K [--kvn 1] [--spi 1639] [--tar 000001] [--counter N]
              [--format expanded|compact] [--packet-only] APDU...
    ota por   --algo aes --kic K --kid K [--kvn 1] [--spi 1639] POR_HEX
"""
from __future__ import annotations

import argparse
import sys

from tools.cli import CommandParser
from tools.ota.packet import AES, DES, TDES2, TDES3, OtaKeyset, build_command_packet, decode_response_packet
from tools.ota.transport import compact_script, envelope_apdu, expanded_script, sms_deliver_tpdus

DESCRIPTION = """\
Build secured over-the-air (SCP80) messages for a card and check its answers.

The APDUs are packed into a command packet secured with SCP80 (ETSI TS 102 225) and split into the
SMS-PP ENVELOPE APDUs that carry it to the card. 'por' decodes and checks the card's answer (the
Proof of Receipt). Host side only: prints hex, needs no card."""
EPILOG = """\
example:
  euicc-emu ota build --kic 000102030405060708090A0B0C0D0E0F \\
      --kid 101112131415161718191A1B1C1D1E1F 80F24000024F00"""

_ALGORITHMS = {"aes": (AES, AES), "3des2": (TDES2, TDES2), "3des3": (TDES3, TDES3), "des": (DES, DES)}


def _keyset(args: argparse.Namespace) -> OtaKeyset:
    kic_algorithm, kid_algorithm = _ALGORITHMS[args.algo]
    return OtaKeyset(args.kvn, kic_algorithm, bytes.fromhex(args.kic), kid_algorithm, bytes.fromhex(args.kid))


def build_parser() -> CommandParser:
    parser = CommandParser(prog="euicc-emu ota", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="ACTION")
    helps = {"build": "secure APDUs into ENVELOPE APDUs (or one command packet) for the card",
             "por": "decode and check a Proof of Receipt (response packet, hex)"}
    for name in ("build", "por"):
        p = sub.add_parser(name, help=helps[name])
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
    args = build_parser().parse_args(argv)
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
