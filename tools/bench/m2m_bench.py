"""SGP.02 host benchmark: SCP80 command packets per second through ``Card.transmit`` (AES and 3DES),
in-process, and the wall time of the full SGP.02 life cycle (:mod:`tools.smsr.lifecycle`: CreateISDP,
key establishment, TS.48 download, enable, Fall-Back, return, SM-SR change) through real
pcscd + ifd-vpcd + ``euicc-emu run``, both printed as medians of several runs.

    python -m tools.bench.m2m_bench [--packets 200] [--runs 5] [--pcsc-runs 3] [--slot 1] [--profile DER]

The PC/SC part holds the vpcd slot lock (:func:`tools.bench.slot_lock.hold_slot`, shared with the
end-to-end tests) and is left out, saying why, when pcscd / pyscard / the profile are missing
(``--pcsc-runs 0`` skips it).  The card gets a throw-away M2M identity written into its store the
way an EUM personalises it (:func:`personalise`, record names of euicc.m2m.records).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from euicc.card import Card
from euicc.composition import open_card
from tools.bench.slot_lock import SlotBusy, hold_slot
from tools.ota.packet import AES, TDES2, OtaKeyset
from tools.reference_data import BESIDE_CHECKOUT, reference_dir
from tools.smsr import es5
from tools.smsr.eis import Eis
from tools.smsr.gp_certificate import point_of
from tools.smsr.lifecycle import LifeCycle, Pki, connect, run_life_cycle
from tools.smsr.smsr import CommandFailed, OtaFailure, SmSr
from tools.terminal.link import CallableLink, LinkError
from tools.terminal.terminal import Terminal

KIC, KID, DEK = bytes(range(1, 17)), bytes(range(17, 33)), bytes(16)   # two-key 3DES needs K1 != K2
P256_OID = "1.2.840.10045.3.1.7"
REPO = Path(__file__).resolve().parents[2]
TS48_NAME = "profiles/ts48-v7/TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der"


TDES_KVN = 0x03   # the bench's 3DES key set (KVN 2 is the SM-SR change's new key set)


def isdr_keyset(algorithm: int = AES) -> OtaKeyset:
    """The SM-SR's copy of the ISD-R key set 1 (AES) that :func:`personalise` writes, or of the
    3DES key set :data:`TDES_KVN` the bench adds: the algorithm belongs to the key set
    (TS 102 225 §5.1.2), so each algorithm has its own KVN."""
    return OtaKeyset(1 if algorithm == AES else TDES_KVN, algorithm, KIC, algorithm, KID)


def personalise(store, pki: Pki) -> None:
    """EUM personalisation of the eUICC's M2M part (SGP.02 §2.2.1.1 / §2.2.1.3): PK.CI.ECDSA,
    SK/CERT.ECASD.ECKA and the ISD-R's first SCP80 key set."""
    from euicc.m2m.records import CI_KEY, ECASD_CERT, ECASD_KEY, ISDR_SCP80, OtaKeySet

    with store.transaction():
        store.put(CI_KEY, (P256_OID, point_of(pki.ci.public_key())))
        store.put(ECASD_KEY, (P256_OID, pki.ecasd.private_numbers().private_value.to_bytes(32, "big")))
        store.put(ECASD_CERT, pki.ecasd_cert)
        store.put(f"{ISDR_SCP80}01", OtaKeySet(1, KIC, KID, DEK))


def _card() -> Card:
    """A personalised card with, next to key set 1, a 3DES key set (GP key type '80')."""
    from euicc.m2m.records import ISDR_SCP80, OtaKeySet

    card = open_card(None)
    personalise(card.store, Pki.create())
    with card.store.transaction():
        card.store.put(f"{ISDR_SCP80}{TDES_KVN:02X}", OtaKeySet(TDES_KVN, KIC, KID, DEK, key_type=0x80))
    return card


def packets_per_second(algorithm: int, packets: int) -> float:
    """One GET DATA 'FF21' script per SCP80 packet, SPI '16 39' (PoR ciphered with CC by SMS-SUBMIT)."""
    card = _card()
    terminal = Terminal(CallableLink(card.transmit, card.reset))
    smsr = SmSr(Eis(), isdr_keyset(algorithm))
    smsr.attach(terminal)
    terminal.start()
    apdu = es5.get_data_extended_card_resources()
    started = time.perf_counter()
    for _ in range(packets):
        smsr.execute([apdu], what="bench")
    return packets / (time.perf_counter() - started)


# -- the life cycle through PC/SC ----------------------------------------------------------------
class PcscUnavailable(Exception):
    """pcscd, ifd-vpcd, pyscard or the profile package is missing: the PC/SC figure is left out."""


def default_profile() -> Path:
    """The TS.48 package in the reference data folder (tools.reference_data), if it is there."""
    return (reference_dir() or BESIDE_CHECKOUT) / TS48_NAME


def life_cycle_problems(record: LifeCycle) -> list[str]:
    """Departures from SGP.02 in a life-cycle record (the benchmark only times correct runs)."""
    want = {"CreateISDP": "SELECTABLE", "EstablishISDPKeySet": "PERSONALIZED",
            "DownloadAndInstallation": "DISABLED", "EnableProfile": "ENABLED", "Fall-Back": "DISABLED",
            "ReturnFromFallBack": "ENABLED", "SM-SR change": "ENABLED"}
    problems = [f"{name}: new ISD-P {record.step(name).states.get(record.isdp)} instead of {state}"
                for name, state in want.items() if record.step(name).states.get(record.isdp) != state]
    if record.old_smsr_refused is None:
        problems.append("the first SM-SR's keys still work after the SM-SR change")
    return problems


def _pcsc_errors() -> tuple[type[Exception], ...]:
    """pyscard's exceptions: connection refusals and PC/SC service errors (pcscd not running)."""
    from smartcard.Exceptions import SmartcardException
    from smartcard.pcsc.PCSCExceptions import BaseSCardException
    return SmartcardException, BaseSCardException


def _wait_card(reader: str, present: bool, timeout: float, proc: subprocess.Popen | None = None) -> None:
    from smartcard.Exceptions import CardConnectionException, NoCardException
    from smartcard.System import readers

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise PcscUnavailable(f"euicc-emu exited with {proc.returncode}")
        try:
            connection = next(r for r in readers() if str(r) == reader).createConnection()
            connection.connect()
            connection.disconnect()
            found = True
        except StopIteration:
            raise PcscUnavailable(f"pcscd has no reader {reader!r}") from None
        except (NoCardException, CardConnectionException):
            found = False
        if found == present:
            return
        time.sleep(0.1)
    raise PcscUnavailable(f"the card in {reader} did not {'appear' if present else 'go away'} in {timeout} s")


def life_cycle_seconds(slot: int, profile: bytes, tmp: Path) -> float:
    """One life cycle against a fresh ``euicc-emu run`` on ``slot``; wall seconds from the first APDU."""
    from tools.terminal.link import PcscLink

    reader = f"Virtual PCD 00 {slot:02d}"
    pki, state = Pki.create(), tmp / f"m2m-{time.monotonic_ns()}.state"
    card = open_card(state)
    personalise(card.store, pki)
    card.close()
    cmd = [sys.executable, "-m", "tools.cli", "run", "--log-level", "WARNING", "--slot", str(slot),
           "--state", str(state), "--first-profile", "minimal"]
    with open(tmp / "card.log", "ab") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_card(reader, True, 30, proc)
        link = PcscLink(reader)
        started = time.perf_counter()
        record = run_life_cycle(connect(link, isdr_keyset(), pki), profile)
        elapsed = time.perf_counter() - started
        link.close()
    finally:
        proc.terminate()
        proc.wait(15)
    _wait_card(reader, False, 15)
    problems = life_cycle_problems(record)
    if problems:
        raise CommandFailed("life cycle: " + "; ".join(problems), 0x6F00, [])
    return elapsed


def pcsc_life_cycle(slot: int, runs: int, profile_path: Path) -> list[float]:
    if not profile_path.exists():
        raise PcscUnavailable(f"no profile package {profile_path} (--profile, or EUICC_REFERENCE_DIR)")
    try:
        import smartcard.System  # noqa: F401
    except ImportError as exc:
        raise PcscUnavailable(f"pyscard is not importable: {exc}") from exc
    profile = profile_path.read_bytes()
    try:
        with hold_slot(slot), tempfile.TemporaryDirectory() as tmp:
            _wait_card(f"Virtual PCD 00 {slot:02d}", False, 1)
            return [life_cycle_seconds(slot, profile, Path(tmp)) for _ in range(runs)]
    except (SlotBusy, LinkError) as exc:
        raise PcscUnavailable(str(exc)) from exc
    except _pcsc_errors() as exc:
        raise PcscUnavailable(f"PC/SC: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="m2m_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pcsc-runs", type=int, default=3, help="life cycles through PC/SC (0: none)")
    parser.add_argument("--slot", type=int, default=1, help="vpcd slot (default %(default)s)")
    parser.add_argument("--profile", type=Path, default=None, help="SAIP package to download (default: TS.48 v7)")
    args = parser.parse_args(argv)
    status = 0
    for name, algorithm in (("AES", AES), ("3DES", TDES2)):
        try:
            rates = [packets_per_second(algorithm, args.packets) for _ in range(args.runs)]
        except (OtaFailure, CommandFailed) as exc:
            print(f"SCP80 {name}: the card refused the packets: {exc}")
            status = 1
            continue
        print(f"SCP80 {name}: median {statistics.median(rates):.0f} packets/s in-process "
              f"({args.runs} runs of {args.packets})")
    if args.pcsc_runs > 0:
        try:
            times = pcsc_life_cycle(args.slot, args.pcsc_runs, args.profile or default_profile())
            print(f"SGP.02 life cycle through PC/SC: median {statistics.median(times):.2f} s "
                  f"(min {min(times):.2f}, max {max(times):.2f}; {len(times)} runs, slot {args.slot})")
        except PcscUnavailable as exc:
            print(f"SGP.02 life cycle through PC/SC: not measured ({exc})")
        except (OtaFailure, CommandFailed) as exc:
            print(f"SGP.02 life cycle through PC/SC: failed: {exc}")
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
