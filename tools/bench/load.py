"""PC/SC load: several cards on several vpcd slots, several clients per reader, full sessions at once.

Issue #6 item 5.  Every client has its own PC/SC context and card handle and runs, in a loop for
a bounded time, a full session (each step checked against what this client expects):

1. MANAGE CHANNEL open (ISO/IEC 7816-4 §7.1.2; TS 102 221 §11.1.17),
2. SELECT ADF.USIM by AID on that channel (TS 102 221 §11.1.1, FCP tag '84' = the AID),
3. SELECT EF.SMS ('6F3C', linear fixed), READ RECORD of the client's own record (it must still
   hold what this client wrote last), UPDATE RECORD with a fresh client-specific value, READ
   RECORD back (TS 102 221 §11.1.5, §11.1.6),
4. SELECT MF, EF.PL ('2F05', transparent), READ BINARY / UPDATE BINARY / READ BINARY of the
   client's own byte region the same way (TS 102 221 §11.1.3, §11.1.4),
5. SELECT ISD-R by AID and GET DATA EID (SGP.22 §5.7.20 / GP ``80 CA 00 5A``): the EID of the
   card on this client's reader, learnt once before the clients start,
6. MANAGE CHANNEL close.

By default each session runs inside ``SCardBeginTransaction``/``SCardEndTransaction`` (pcsc-lite
serialises the clients of one reader); ``interleaved`` mode drops the transactions so the
clients' channels interleave APDU by APDU.  A lost response (PC/SC error, timeout) or a crossed
one (another client's value, another card's EID, an unexpected status word) ends that client with
an error.  The files are those of the ``--first-profile minimal`` card (euicc.fs.default_fs:
EF.SMS 10 x 176 bytes, EF.PL 10 bytes), so at most 10 clients share one card.

Host side, written from the specs with pyscard's raw ``smartcard.scard`` API and no card code:
T=0 ``61xx`` -> GET RESPONSE and ``6Cxx`` -> repeat with Le = xx (TS 102 221 §7.3.1.1.4).

    python -m tools.bench.load [--slots 0 1] [--clients 3] [--duration 10] [--cards-per-process 1]
                               [--interleaved]

Prints sessions/s per client and in total, and the median/p99 session latency.  Needs pcscd with
vsmartcard-vpcd and free vpcd slots; holds the slot locks (tools.bench.slot_lock) in
:func:`lock_order`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tools.bench.slot_lock import hold_slot

REPO = Path(__file__).resolve().parents[2]
USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8907090000")
ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
EF_SMS, EF_PL, MF = 0x6F3C, 0x2F05, 0x3F00
SW_OK = 0x9000
MAX_CLIENTS_PER_CARD = 10  # records of EF.SMS in the minimal profile
E2E_SLOT_ENV = "EUICC_E2E_SLOT"
THINK = 0.0
HANG = 30.0  # seconds past the end of the load after which a client still waiting has lost a response


class CheckFailed(Exception):
    """A response was lost (PC/SC error) or is not the one this client expects."""


def reader_name(slot: int) -> str:
    """ifd-vpcd registers slot N as "Virtual PCD 00 0N"."""
    return f"Virtual PCD 00 {slot:02d}"


def lock_order(slots: list[int]) -> list[int]:
    """The one order every multi-slot user takes slot locks in: the end-to-end tests' slot
    (``$EUICC_E2E_SLOT``, default 1; their session fixture holds it first) then the rest ascending."""
    first = int(os.environ.get(E2E_SLOT_ENV, "1"))
    rest = sorted(set(slots) - {first})
    return ([first] if first in slots else []) + rest


def channel_cla(channel: int) -> int:
    """ISO/IEC 7816-4 §5.4.1: channels 0-3 in b2-b1 of '0X', 4-19 as '4X' (further interindustry)."""
    return channel if channel < 4 else 0x40 | (channel - 4)


def fcp(data: bytes) -> dict[int, bytes]:
    """Top-level one-byte-tag children of an FCP template '62' (ISO/IEC 7816-4 §5.3.3)."""
    if len(data) < 2 or data[0] != 0x62 or data[1] != len(data) - 2:
        raise CheckFailed(f"not an FCP template: {data.hex()}")
    out, i = {}, 2
    while i + 2 <= len(data):
        tag, size = data[i], data[i + 1]
        out[tag] = data[i + 2:i + 2 + size]
        i += 2 + size
    return out


class ScardLink:
    """One PC/SC client: its own context and shared-mode handle on one reader, with the protocol
    pcsc-lite negotiates from the card's ATR (T=0 for the default card, T=1 for a T=1-only one)."""

    def __init__(self, slot: int) -> None:
        from smartcard import scard

        self.s = scard
        self.name = reader_name(slot)
        rc, self.context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        self._check(rc, "SCardEstablishContext")
        rc, self.card, protocol = scard.SCardConnect(self.context, self.name, scard.SCARD_SHARE_SHARED,
                                                     scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1)
        if rc != scard.SCARD_S_SUCCESS:
            scard.SCardReleaseContext(self.context)
        self._check(rc, f"SCardConnect {self.name}")
        self.pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
        self.apdus = 0

    def _check(self, rc: int, what: str) -> None:
        if rc != self.s.SCARD_S_SUCCESS:
            raise CheckFailed(f"{what}: {self.s.SCardGetErrorMessage(rc)} ({rc & 0xFFFFFFFF:08X})")

    def raw(self, apdu: bytes) -> tuple[bytes, int]:
        rc, response = self.s.SCardTransmit(self.card, self.pci, list(apdu))
        self._check(rc, f"SCardTransmit {apdu.hex()}")
        self.apdus += 1
        if len(response) < 2:
            raise CheckFailed(f"{apdu.hex()}: response without a status word: {bytes(response).hex()}")
        return bytes(response[:-2]), (response[-2] << 8) | response[-1]

    def send(self, apdu: bytes) -> tuple[bytes, int]:
        """TS 102 221 §7.3.1.1.4: '6Cxx' -> same command with Le = xx; '61xx' -> GET RESPONSE."""
        data, sw = self.raw(apdu)
        if sw >> 8 == 0x6C:
            data, sw = self.raw(apdu[:4] + bytes([sw & 0xFF]))
        while sw >> 8 == 0x61:
            more, sw = self.raw(bytes([apdu[0] & 0x4F if apdu[0] & 0x40 else apdu[0] & 0x03,
                                       0xC0, 0, 0, sw & 0xFF]))
            data += more
        return data, sw

    def expect(self, apdu: bytes, what: str) -> bytes:
        data, sw = self.send(apdu)
        if sw != SW_OK:
            raise CheckFailed(f"{what}: SW {sw:04X} (data {data.hex()})")
        return data

    def begin(self) -> None:
        self._check(self.s.SCardBeginTransaction(self.card), "SCardBeginTransaction")

    def end(self) -> None:
        self._check(self.s.SCardEndTransaction(self.card, self.s.SCARD_LEAVE_CARD), "SCardEndTransaction")

    def close(self) -> None:
        self.s.SCardDisconnect(self.card, self.s.SCARD_LEAVE_CARD)
        self.s.SCardReleaseContext(self.context)


def read_eid(link: ScardLink, channel: int = 0) -> str:
    """SELECT ISD-R and GET DATA '5A' (SGP.22 §5.7.20): the EID as 32 decimal digits."""
    cla = channel_cla(channel)
    link.expect(bytes([cla, 0xA4, 0x04, 0x00, len(ISD_R_AID)]) + ISD_R_AID + b"\x00", "SELECT ISD-R")
    data = link.expect(bytes([0x80 | cla, 0xCA, 0x00, 0x5A, 0x00]), "GET DATA EID")
    if len(data) != 18 or data[:2] != b"\x5A\x10":
        raise CheckFailed(f"GET DATA EID: not a '5A' EID object: {data.hex()}")
    return data[2:].hex().upper()


def probe_eid(slot: int) -> str:
    """The EID of the card on `slot`, on the basic channel (before the load starts)."""
    link = ScardLink(slot)
    try:
        return read_eid(link)
    finally:
        link.close()


@dataclass
class ClientResult:
    slot: int
    index: int
    sessions: int = 0
    apdus: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds per session
    error: str | None = None
    record: int = 0                     # this client's record of EF.SMS ...
    region: tuple[int, int] = (0, 0)    # ... and (offset, length) in EF.PL
    last_record: bytes | None = None    # what it wrote there last
    last_region: bytes | None = None


class Client:
    """One client's full sessions on one reader; its result keeps the values it wrote last."""

    def __init__(self, slot: int, index: int, clients_per_card: int, eid: str, transaction: bool,
                 think: float = 0.0) -> None:
        if not 0 <= index < clients_per_card <= MAX_CLIENTS_PER_CARD:
            raise ValueError(f"client {index} of {clients_per_card}: at most {MAX_CLIENTS_PER_CARD} per card")
        self.slot, self.index, self.eid, self.transaction, self.think = slot, index, eid, transaction, think
        self.record = index + 1
        width = 10 // clients_per_card  # EF.PL is 10 bytes: each client its own region
        self.region = (index * width, width)
        self.result = ClientResult(slot, index, record=self.record, region=self.region)

    def run(self, deadline: float, stop: threading.Event) -> ClientResult:
        """Sessions until `deadline` or `stop`, or until the first failed check."""
        link: ScardLink | None = None
        try:
            link = ScardLink(self.slot)
            while time.monotonic() < deadline and not stop.is_set():
                start = time.perf_counter()
                self.session(link)
                self.result.latencies.append(time.perf_counter() - start)
                self.result.sessions += 1
                stop.wait(self.think * random.uniform(0.5, 1.5))  # jitter: no lock-step between clients
        except CheckFailed as exc:
            self.result.error = f"slot {self.slot} client {self.index} session {self.result.sessions + 1}: {exc}"
        finally:
            if link is not None:
                self.result.apdus = link.apdus
                link.close()
        return self.result

    def session(self, link: ScardLink) -> None:
        if not self.transaction:
            self._steps(link)
            return
        link.begin()
        try:
            self._steps(link)
        finally:
            link.end()

    def _steps(self, link: ScardLink) -> None:
        opened = link.expect(bytes.fromhex("0070000001"), "MANAGE CHANNEL open")
        if len(opened) != 1 or not 1 <= opened[0] <= 19:
            raise CheckFailed(f"MANAGE CHANNEL open returned {opened.hex()}")
        channel = opened[0]
        cla = channel_cla(channel)
        self._usim_record(link, cla)
        self._pl_region(link, cla)
        eid = read_eid(link, channel)
        if eid != self.eid:
            raise CheckFailed(f"EID {eid} on channel {channel}, expected {self.eid} (this reader's card)")
        link.expect(bytes([0x00, 0x70, 0x80, channel, 0x00]), "MANAGE CHANNEL close")

    def _usim_record(self, link: ScardLink, cla: int) -> None:
        got = fcp(link.expect(bytes([cla, 0xA4, 0x04, 0x04, len(USIM_AID)]) + USIM_AID + b"\x00",
                              "SELECT ADF.USIM"))
        if got.get(0x84) != USIM_AID:
            raise CheckFailed(f"SELECT ADF.USIM: FCP names {got.get(0x84, b'').hex()}")
        got = fcp(link.expect(bytes([cla, 0xA4, 0x00, 0x04, 0x02]) + EF_SMS.to_bytes(2, "big") + b"\x00",
                              "SELECT EF.SMS"))
        descriptor = got.get(0x82, b"")  # TS 102 221 §11.1.1.4.3: '42 21 00 B0 0A' = linear fixed
        if got.get(0x83) != EF_SMS.to_bytes(2, "big") or len(descriptor) != 5 or descriptor[0] & 0x07 != 0x02:
            raise CheckFailed(f"SELECT EF.SMS: FCP {got}")
        size, count = int.from_bytes(descriptor[2:4], "big"), descriptor[4]
        if count < self.record:
            raise CheckFailed(f"EF.SMS has {count} records, client needs record {self.record}")
        read = bytes([cla, 0xB2, self.record, 0x04, size & 0xFF])
        self._check_value(link.expect(read, "READ RECORD"), self.result.last_record, "record before update")
        value = b"LD" + bytes([self.slot, self.index]) + (self.result.sessions + 1).to_bytes(4, "big")
        value += os.urandom(size - len(value))
        link.expect(bytes([cla, 0xDC, self.record, 0x04, size & 0xFF]) + value, "UPDATE RECORD")
        self._check_value(link.expect(read, "READ RECORD"), value, "record after update")
        self.result.last_record = value

    def _pl_region(self, link: ScardLink, cla: int) -> None:
        link.expect(bytes([cla, 0xA4, 0x00, 0x0C, 0x02]) + MF.to_bytes(2, "big"), "SELECT MF")
        got = fcp(link.expect(bytes([cla, 0xA4, 0x00, 0x04, 0x02]) + EF_PL.to_bytes(2, "big") + b"\x00",
                              "SELECT EF.PL"))
        offset, width = self.region
        if int.from_bytes(got.get(0x80, b""), "big") < offset + width:
            raise CheckFailed(f"SELECT EF.PL: file size {got.get(0x80, b'').hex()} too small")
        read = bytes([cla, 0xB0, 0x00, offset, width])
        self._check_value(link.expect(read, "READ BINARY"), self.result.last_region, "EF.PL region before update")
        value = os.urandom(width)
        link.expect(bytes([cla, 0xD6, 0x00, offset, width]) + value, "UPDATE BINARY")
        self._check_value(link.expect(read, "READ BINARY"), value, "EF.PL region after update")
        self.result.last_region = value

    @staticmethod
    def _check_value(got: bytes, expected: bytes | None, what: str) -> None:
        if expected is not None and got != expected:
            raise CheckFailed(f"{what}: read {got.hex()}, this client wrote {expected.hex()}")


def run_load(eids: dict[int, str], clients: int, duration: float, transaction: bool = True,
             think: float = 0.0) -> list[ClientResult]:
    """`clients` threads per slot of `eids` (slot -> EID of its card), each running sessions for
    `duration` seconds with `think` seconds (mean) between them; the first failed check stops every client."""
    stop = threading.Event()
    deadline = time.monotonic() + duration
    workers = [Client(slot, i, clients, eid, transaction, think) for slot, eid in eids.items() for i in range(clients)]

    def work(client: Client) -> None:
        if client.run(deadline, stop).error:
            stop.set()

    threads = [threading.Thread(target=work, args=(c,), name=f"load-{c.slot}-{c.index}", daemon=True)
               for c in workers]
    for thread in threads:
        thread.start()
    for thread, client in zip(threads, workers):
        thread.join(max(0.0, deadline - time.monotonic()) + HANG)
        if thread.is_alive():  # a response that never came
            stop.set()
            client.result.error = f"slot {client.slot} client {client.index}: no response {HANG:.0f} s after the end"
    return [c.result for c in workers]


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98] if len(samples) > 1 else samples[0]


def report(results: list[ClientResult], duration: float) -> str:
    """Sessions/s per client and in total, and the median / p99 session latency."""
    lines = [f"{'slot':>4} {'client':>6} {'sessions':>8} {'sess/s':>7} {'APDUs':>6} {'median ms':>9} {'p99 ms':>7}"]
    for r in results:
        med, tail = (statistics.median(r.latencies) * 1e3, p99(r.latencies) * 1e3) if r.latencies else (0.0, 0.0)
        lines.append(f"{r.slot:>4} {r.index:>6} {r.sessions:>8} {r.sessions / duration:>7.1f} {r.apdus:>6} "
                     f"{med:>9.2f} {tail:>7.2f}" + (f"  ERROR {r.error}" if r.error else ""))
    every = [x for r in results for x in r.latencies]
    total = sum(r.sessions for r in results)
    if every:
        lines.append(f"total: {total} sessions in {duration:.1f} s = {total / duration:.1f} sessions/s; "
                     f"session latency median {statistics.median(every) * 1e3:.2f} ms, p99 {p99(every) * 1e3:.2f} ms")
    return "\n".join(lines)


def card_present(slot: int) -> bool:
    from smartcard import scard

    rc, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if rc != scard.SCARD_S_SUCCESS:
        raise SystemExit(f"no PC/SC: {scard.SCardGetErrorMessage(rc)}")
    try:
        rc, states = scard.SCardGetStatusChange(context, 0, [(reader_name(slot), scard.SCARD_STATE_UNAWARE)])
        return rc == scard.SCARD_S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(context)


def process_plan(slots: list[int], per_process: int) -> list[tuple[int, int]]:
    """(first slot, card count) of each card process: runs of consecutive slots, at most
    `per_process` long (``euicc-emu run --cards N`` puts its cards on consecutive slots)."""
    plan: list[tuple[int, int]] = []
    for slot in sorted(set(slots)):
        if plan and plan[-1][0] + plan[-1][1] == slot and plan[-1][1] < per_process:
            plan[-1] = (plan[-1][0], plan[-1][1] + 1)
        else:
            plan.append((slot, 1))
    return plan


@contextlib.contextmanager
def card_processes(slots: list[int], per_process: int, workdir: Path) -> Iterator[list[subprocess.Popen]]:
    """``euicc-emu run --first-profile minimal`` on `slots`, `per_process` consecutive cards each."""
    procs: list[subprocess.Popen] = []
    try:
        for first, count in process_plan(slots, per_process):
            with open(workdir / f"card{first}.log", "ab") as log:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "tools.cli", "run", "--log-level", "WARNING", "--first-profile", "minimal",
                     "--state", str(workdir / f"card{first}.state"), "--slot", str(first), "--cards", str(count)],
                    cwd=REPO, stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30
        while not all(card_present(s) for s in slots):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"cards did not come up on slots {slots}; logs in {workdir}")
            time.sleep(0.05)
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
        deadline = time.monotonic() + 10
        while any(card_present(s) for s in slots) and time.monotonic() < deadline:
            time.sleep(0.05)  # let pcscd see the removal before the next user of the slots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--clients", type=int, default=3, help="clients per reader (1..10)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--cards-per-process", type=int, default=1,
                        help="cards per euicc-emu process (consecutive slots, --cards N)")
    parser.add_argument("--interleaved", action="store_true", help="no PC/SC transactions around sessions")
    parser.add_argument("--think", type=float, default=THINK, help="seconds between a client's sessions "
                        "(default %(default)s; pcsc-lite does not queue SCardBeginTransaction fairly)")
    args = parser.parse_args(argv)
    slots = sorted(set(args.slots))
    if not 1 <= args.clients <= MAX_CLIENTS_PER_CARD or args.cards_per_process < 1 or args.duration <= 0:
        parser.error(f"need 1 <= --clients <= {MAX_CLIENTS_PER_CARD}, --cards-per-process >= 1, --duration > 0")
    with contextlib.ExitStack() as stack:
        for slot in lock_order(slots):
            stack.enter_context(hold_slot(slot))
        busy = [s for s in slots if card_present(s)]
        if busy:
            raise SystemExit(f"vpcd slots {busy} already hold a card: stop it or pick other --slots")
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        stack.enter_context(card_processes(slots, args.cards_per_process, workdir))
        eids = {slot: probe_eid(slot) for slot in slots}
        results = run_load(eids, args.clients, args.duration, not args.interleaved, args.think)
    mode = "interleaved channels" if args.interleaved else "one PC/SC transaction per session"
    print(f"PC/SC load: slots {slots} ({args.cards_per_process} card(s) per process), {args.clients} clients "
          f"per reader, {mode}, {args.think * 1e3:.0f} ms between sessions, {args.duration:.0f} s")
    print(report(results, args.duration))
    mean = sum(r.sessions for r in results) / len(results)
    starved = [f"{r.slot}/{r.index}" for r in results if r.sessions < mean / 10]
    if starved:
        print(f"unfair: clients (slot/index) {', '.join(starved)} ran under a tenth of the mean sessions; "
              "pcsc-lite does not queue SCardBeginTransaction, try --think 0.1")
    failed = [r.error for r in results if r.error]
    for error in failed:
        print(f"FAILED: {error}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
