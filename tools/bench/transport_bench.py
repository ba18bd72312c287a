"""Wall time and bytes on the wire of SGP.02 work over SMS-PP (SCP80), HTTPS (SCP81, GP Amd B) and
CAT_TP (TS 102 127, PUSH of TS 102 226 §9), through pcscd + vpcd + `euicc-emu run` (#12 item 8).

1. One ES5.EnableProfile (SGP.02 §4.1.1.2 / §5.4.4) over each of the three transports.  Each
   round switches the card to a TS.48 profile downloaded before timing and back to its first
   profile, so every round leaves the card as it found it; both switches are samples.  A sample
   runs until the SM-SR has the card's answer and the card's REFRESH (UICC reset, TS 102 223
   §6.4.7) is done with no BIP channel left open.  Then, untimed, the terminal reports network
   attachment and the SM-SR confirms the card's notification by SMS (SGP.02 §3.15: an unconfirmed
   switch would be rolled back).  HTTPS includes the SMS trigger, OPEN CHANNEL, PSK-TLS, the
   HTTP exchanges and the close; CAT_TP the PUSH by SMS, OPEN CHANNEL, the CAT_TP handshake, one
   SDU each way and the reset.
2. One TS.48 profile download over SMS-PP and over HTTPS, what `euicc-emu smdp-m2m download`
   does: ES5.CreateISDP, AuditEIS (CERT.ECASD.ECKA), ES8.EstablishISDPKeySet, the SCP03t profile
   package (ES8.DownloadAndInstallation) and the delete-token PUT KEY, until no channel is open;
   the ISD-P is deleted again by SMS, untimed (as is part 1's TS.48 profile before: the card
   refuses a second profile with the same ICCID).  Over HTTPS the scripts go in one
   administration session as with `--transport https` (:data:`tools.smsr_https.transport.LINGER`),
   which the SM-SR ends once done (timed); ``https_1`` is HTTPS with one session (trigger, OPEN
   CHANNEL, PSK-TLS handshake) per script, as with `--https-linger 0`.

Bytes on the wire: every C-APDU and R-APDU (data + SW) across the PC/SC interface during a
sample, which is where all of a modem's SMS and BIP traffic to the card passes.  The transports
alternate within each round (reversed every other round); medians over the rounds and their ratio
to SMS, the baseline measured in the same run.

    python -m tools.bench.transport_bench [--rounds 5] [--downloads 3] [--slot 1] [--profile DER]

Figures: README "SGP.02 transports (#12)".
"""
from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tools.bench.m2m_bench import PcscUnavailable, default_profile
from tools.bench.m2m_services_bench import _start_card, _stop_card
from tools.bench.slot_lock import SlotBusy, hold_slot
from tools.ota.cat_tp import HostCatTp
from tools.ota.packet import AES, OtaKeyset
from tools.smdp_m2m.smdp import SmDp
from tools.smsr.cat_tp_link import CatTpScripts, push_apdus
from tools.smsr.cli import read_eid
from tools.smsr.eis import Eis
from tools.smsr.pki_files import load_private_key, write_test_pki
from tools.smsr.smsr import SmSr
from tools.smsr_https.psk_keys import put_psk_key
from tools.smsr_https.transport import LINGER, HttpsTransport
from tools.terminal import cat
from tools.terminal.terminal import Terminal

TRANSPORTS = ("sms", "https", "cat_tp")
DOWNLOAD_TRANSPORTS = ("sms", "https", "https_1")
"""``https_1``: HTTPS with one administration session per script (``--https-linger 0``)."""
# the default card's test ISD-R key set 01 and key 03 (the README's `smsr --kic/--kid`)
KIC, KID = bytes.fromhex("000102030405060708090A0B0C0D0E0F"), bytes.fromhex("101112131415161718191A1B1C1D1E1F")
DEK = bytes.fromhex("202122232425262728292A2B2C2D2E2F")
PSK, PSK_DEK = bytes.fromhex("0F1E2D3C4B5A69788796A5B4C3D2E1F0"), bytes.fromhex("5566778899AABBCCDDEEFF0011223344")
SMSR_CAT_TP_PORT = 4001
SETTLE = 30.0            # seconds the terminal is served at most for the card to become idle


class CountingLink:
    """The terminal's PC/SC link, counting the bytes of every APDU exchange."""

    def __init__(self, link) -> None:
        self.link, self.bytes = link, 0

    def exchange(self, apdu: bytes):
        data, sw = self.link.exchange(apdu)
        self.bytes += len(apdu) + len(data) + 2
        return data, sw

    def __getattr__(self, name: str):
        return getattr(self.link, name)


@dataclass
class Sample:
    seconds: float
    wire_bytes: int


def over_cat_tp(smsr: SmSr, call: Callable[[], object]) -> None:
    """PUSH by SMS, then ``call`` with the SM-SR's scripts going over the CAT_TP link the card opens
    (the SM-SR accepts, then resets the link); the terminal is served meanwhile, until the card
    has closed its channel."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    link = HostCatTp(sock, None, SMSR_CAT_TP_PORT, rto=0.3, retries=30)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            link.accept(timeout=15)
            smsr.https = CatTpScripts(link, smsr.keyset, lambda: smsr.eis.next_counter(smsr.keyset.kvn))
            call()
            link.close()
        except Exception as exc:       # reported below, in the caller's thread
            errors.append(exc)

    smsr.https = None
    try:
        smsr.execute(push_apdus("127.0.0.1", sock.getsockname()[1], SMSR_CAT_TP_PORT), what="PUSH")
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        terminal = smsr.terminal
        terminal.serve(SETTLE, until=lambda: not thread.is_alive() and not terminal.bip.channels)
        thread.join(1.0)
    finally:
        sock.close()
        smsr.https = None
    if errors or thread.is_alive():
        raise RuntimeError(f"CAT_TP: {errors[0] if errors else 'no answer'}")


@dataclass
class Bench:
    """The card on ``slot`` with its terminal, the SM-SR (SMS, HTTPS, CAT_TP) and an SM-DP."""

    link: CountingLink
    terminal: Terminal
    smsr: SmSr
    smdp: SmDp
    upp: bytes
    https: HttpsTransport | None = None
    profiles: tuple[bytes, bytes] = (b"", b"")          # (first profile, TS.48 profile)
    switches: dict[str, list[Sample]] = field(default_factory=lambda: {name: [] for name in TRANSPORTS})
    downloads: dict[str, list[Sample]] = field(default_factory=lambda: {name: [] for name in DOWNLOAD_TRANSPORTS})

    def timed(self, name: str, call: Callable[[], object], until: Callable[[], bool]) -> Sample:
        """``call`` over transport ``name``, then the terminal served until ``until()``."""
        before, started = self.link.bytes, time.perf_counter()
        try:
            if name == "cat_tp":
                over_cat_tp(self.smsr, call)
            elif name == "sms":
                call()
            else:
                if self.https is None:
                    raise RuntimeError("no HTTPS server")
                self.https.server.linger = 0.0 if name == "https_1" else LINGER
                self.smsr.https = self.https
                call()
                self.https.end_sessions()              # the SM-SR has nothing more to send
            self.terminal.serve(SETTLE, until=until)
            if not until():
                raise RuntimeError(f"{name}: the card did not become idle within {SETTLE:.0f} s")
            return Sample(time.perf_counter() - started, self.link.bytes - before)
        finally:
            self.smsr.https = None

    def switch(self, name: str, aid: bytes) -> None:
        """ES5.EnableProfile of ``aid`` (timed), then its notification confirmed by SMS."""
        resets, terminal = self.terminal.record.resets, self.terminal
        sample = self.timed(name, lambda: self.smsr.enable_profile(aid),
                            lambda: terminal.record.resets > resets and not terminal.bip.channels)
        self.switches[name].append(sample)
        terminal.location_status(cat.NORMAL_SERVICE)
        if not any(n.isdp_aid == aid for n in self.smsr.confirm_all()):
            raise RuntimeError(f"{name}: no notification for the switch to {aid.hex().upper()}")

    def download(self, name: str) -> None:
        """The TS.48 download into a new ISD-P (timed), which is then deleted by SMS."""
        made: list[bytes] = []

        def install() -> None:
            made.append(self.smdp.prepare_isdp())
            self.smdp.download_profile(made[0], self.upp)
            self.smdp.put_token_key(made[0])
        self.downloads[name].append(self.timed(name, install, lambda: not self.terminal.bip.channels))
        self.smsr.delete_profile(made[0])


def start(slot: int, tmp: Path, profile: Path) -> tuple[object, Bench]:
    """The card process and a :class:`Bench` on it: PUT KEY of the SCP81 key set, the HTTPS
    server, the TS.48 profile downloaded once by SMS (untimed)."""
    from tools.terminal.bip import BipTerminal
    from tools.terminal.link import PcscLink

    write_test_pki(tmp / "pki")
    proc = _start_card(tmp / "card.state", slot, tmp / "card.log")
    link = CountingLink(PcscLink(f"Virtual PCD 00 {slot:02d}"))
    terminal = Terminal(link, profile=cat.MODEM_PROFILE, bip=BipTerminal())
    smsr = SmSr(Eis(), OtaKeyset(0x01, AES, KIC, AES, KID))
    smsr.attach(terminal)
    smdp = SmDp(load_private_key(tmp / "pki" / "SK_DP.pem"),
                bytes.fromhex((tmp / "pki" / "CERT_DP.hex").read_text().strip()), smsr)
    bench = Bench(link, terminal, smsr, smdp, profile.read_bytes())
    try:
        terminal.start()
        terminal.location_status(cat.NORMAL_SERVICE)
        smsr.eis.eid = read_eid(terminal)
        smsr.execute_one(put_psk_key(0x40, PSK, PSK_DEK, DEK), "PUT KEY (SCP81)")
        bench.https = HttpsTransport.start(smsr, PSK, timeout=30.0, linger=LINGER)
        smsr.https = None
        first = next(e.aid for e in smsr.audit() if e.state == "ENABLED")
        target = smdp.prepare_isdp()
        smdp.download_profile(target, bench.upp)
        bench.profiles = (first, target)
        return proc, bench
    except BaseException:
        stop(proc, bench, slot)
        raise


def stop(proc, bench: Bench, slot: int) -> None:
    if bench.https is not None:
        bench.https.stop()
    bench.terminal.bip.close_all()
    bench.link.close()
    _stop_card(proc, slot)


def measure(slot: int, rounds: int, downloads: int, tmp: Path, profile: Path) -> Bench:
    """``rounds`` alternating rounds of two EnableProfiles per transport, then ``downloads``
    alternating rounds of one download per transport."""
    proc, bench = start(slot, tmp, profile)
    try:
        for index in range(rounds):
            for name in TRANSPORTS if index % 2 == 0 else tuple(reversed(TRANSPORTS)):
                bench.switch(name, bench.profiles[1])
                bench.switch(name, bench.profiles[0])
        bench.smsr.delete_profile(bench.profiles[1])       # the downloads bring the same ICCID again
        for index in range(downloads):
            for name in DOWNLOAD_TRANSPORTS if index % 2 == 0 else tuple(reversed(DOWNLOAD_TRANSPORTS)):
                bench.download(name)
        return bench
    finally:
        stop(proc, bench, slot)


def _table(title: str, samples: dict[str, list[Sample]]) -> list[str]:
    medians = {name: (statistics.median(s.seconds for s in runs) * 1000, statistics.median(s.wire_bytes for s in runs))
               for name, runs in samples.items() if runs}
    if not medians:
        return []
    base_ms, base_bytes = medians["sms"]
    lines = [title, f"  {'transport':<10}{'wall ms':>10}{'x SMS':>8}{'APDU bytes':>12}{'x SMS':>8}"]
    for name, (ms, wire) in medians.items():
        lines.append(f"  {name:<10}{ms:>10.0f}{ms / base_ms:>8.2f}{wire:>12.0f}{wire / base_bytes:>8.2f}")
    return lines


def report(bench: Bench, rounds: int, downloads: int) -> list[str]:
    """Two tables (medians and their ratio to SMS, the baseline of the same run)."""
    return (_table(f"ES5 EnableProfile through PC/SC, {rounds} alternating rounds x 2 switches (median)",
                   bench.switches)
            + _table(f"TS.48 download (ES5 + ES8) through PC/SC, {downloads} alternating rounds (median)",
                     bench.downloads))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="EnableProfile rounds (default %(default)s)")
    parser.add_argument("--downloads", type=int, default=3, help="download rounds (default %(default)s)")
    parser.add_argument("--slot", type=int, default=1, help="vpcd slot of the card (default %(default)s)")
    parser.add_argument("--profile", type=Path, help="TS.48 package (SAIP DER; default: the reference data's)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.downloads < 0:
        parser.error("need --rounds >= 1 and --downloads >= 0")
    profile = args.profile or default_profile()
    if not profile.is_file():
        print(f"transport benchmark: left out (no TS.48 package at {profile}; give --profile)")
        return 1
    try:
        with hold_slot(args.slot), tempfile.TemporaryDirectory() as folder:
            bench = measure(args.slot, args.rounds, args.downloads, Path(folder), profile)
    except (PcscUnavailable, SlotBusy, ImportError) as exc:
        print(f"transport benchmark: left out ({exc})")
        return 1
    print("\n".join(report(bench, args.rounds, args.downloads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
