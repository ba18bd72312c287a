"""Benchmark of the SGP.02 services (tools/m2m_services): medians over alternating rounds.

1. Round trip of an ES4 function that needs no card (ES4.GetEIS at an SM-SR service, SOAP 1.2 +
   WS-Addressing built and read with lxml, SQLite store) against a baseline measured in the same
   run: an HTTP echo server answering the same envelope bytes (``http.server``, no SOAP).  Both
   servers run in this process (threads), the same way; the rounds alternate echo, ES4, ES4, echo
   ... so that the drift of a shared machine is spread over both sides.
2. ES4.EnableProfile through the card: the SM-SR service reaching a card of ``euicc-emu run`` on
   a vpcd slot over ES5 (SCP80 SMS-PP, PC/SC), switching between the card's first profile and a
   TS.48 profile downloaded through the SM-DP service (ES2 -> ES3 + ES8) once before timing.

    python -m tools.bench.m2m_services_bench [--calls 400] [--rounds 10] [--enables 10] [--slot 1]
                                             [--profile DER]

The card part holds the vpcd slot lock (:func:`tools.bench.slot_lock.hold_slot`) and is left out,
saying why, when pcscd / pyscard / the profile are missing (``--enables 0`` skips it).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tools.bench.m2m_bench import PcscUnavailable, _wait_card, default_profile
from tools.bench.slot_lock import SlotBusy, hold_slot
from tools.m2m_services import binding
from tools.m2m_services.eis_xml import eis_fields
from tools.m2m_services.pol2 import Pol2
from tools.m2m_services.smdp_service import SmdpService
from tools.m2m_services.smdp_store import SmdpStore
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import ProfileRecord, SmsrStore
from tools.m2m_services.status import request_header
from tools.m2m_services.transport import CONTENT_TYPE, Requester, address, attach, serve
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.eis import Eis, ProfileInfo
from tools.smsr.eis_file import EisDocument, load
from tools.smsr.pki_files import load_private_key, load_public_key

REPO = Path(__file__).resolve().parents[2]
EID = "89049032000000000000000000000163"
AID = "A0000005591010FFFFFFFF8900001000"


class _Echo(BaseHTTPRequestHandler):
    """The baseline: POST answered with its own body (same HTTP stack, no SOAP, no store)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args) -> None:
        pass


def _background(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _timed(call, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def no_card_round_trips(calls: int, rounds: int, tmp: Path) -> tuple[list[float], list[float]]:
    """(echo, ES4.GetEIS) round-trip samples in microseconds, alternating rounds."""
    doc = EisDocument(Eis(eid=bytes.fromhex(EID), ecasd_certificate=bytes.fromhex("7F2100")))
    doc.use_keyset(OtaKeyset(1, AES, bytes(16), AES, bytes(16)))
    doc.eis.profiles[bytes.fromhex(AID)] = ProfileInfo(bytes.fromhex(AID), "ENABLED", fallback=True)
    store = SmsrStore(tmp / "bench-smsr.db")
    store.register(EID, doc, "EUM", [ProfileRecord(EID, AID, "8988211000000000001", "MNO", None, Pol2())])
    smsr_server = serve("127.0.0.1", 0)
    smsr = SmsrService(store, "no reader", address(smsr_server, "127.0.0.1"))
    attach(smsr_server, smsr.provider)
    echo_server = _background(ThreadingHTTPServer(("127.0.0.1", 0), _Echo))
    _background(smsr_server)
    requester = Requester(address(smsr_server, "127.0.0.1"), "MNO")
    envelope = binding.build(binding.Envelope(action="http://gsma.com/ES4/ProfileManagement/ES4-GetEIS",
                                              body_name="GetEIS", fields=request_header("MNO", "1", 600)
                                              + [("Eid", EID)]))
    echo_url = f"http://127.0.0.1:{echo_server.server_address[1]}/"

    def echo() -> None:
        http = urllib.request.Request(echo_url, data=envelope, method="POST", headers={"Content-Type": CONTENT_TYPE})
        with urllib.request.urlopen(http, timeout=30) as answer:
            answer.read()

    def get_eis() -> None:
        if not requester.call("ES4", "GetEIS", [("Eid", EID)]).status.ok:
            raise RuntimeError("ES4.GetEIS failed")
    per_round = max(1, calls // rounds)
    samples: dict[str, list[float]] = {"echo": [], "es4": []}
    try:
        for side in ("echo", "es4"):                               # warm-up, untimed
            _timed(echo if side == "echo" else get_eis, 20)
        for index in range(rounds):
            order = ("echo", "es4") if index % 2 == 0 else ("es4", "echo")
            for side in order:
                samples[side] += _timed(echo if side == "echo" else get_eis, per_round)
    finally:
        for server in (smsr_server, echo_server):
            server.shutdown()
            server.server_close()
        store.close()
    return samples["echo"], samples["es4"]


def _cli(argv: list[str]) -> str:
    """``euicc-emu ARGV`` in this process; its stdout (RuntimeError when it fails)."""
    from tools.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(argv)
    if status != 0:
        raise RuntimeError(f"euicc-emu {' '.join(argv[:3])} ...: exit {status}: {out.getvalue()[-400:]}")
    return out.getvalue()


def _start_card(state: Path, slot: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tools.cli", "run", "--log-level", "WARNING", "--slot", str(slot),
           "--state", str(state), "--first-profile", "minimal"]
    with open(log, "ab") as handle:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)
    _wait_card(f"Virtual PCD 00 {slot:02d}", True, 30, proc)
    return proc


def _stop_card(proc: subprocess.Popen, slot: int) -> None:
    proc.terminate()
    proc.wait(15)
    _wait_card(f"Virtual PCD 00 {slot:02d}", False, 15)


def enable_profile_seconds(slot: int, enables: int, profile: Path, tmp: Path) -> list[float]:
    """Wall seconds of each ES4.EnableProfile (alternately the downloaded and the first profile)."""
    state, pki, reader, new = tmp / "card.state", tmp / "pki", f"Virtual PCD 00 {slot:02d}", "8944000000000000001"
    _stop_card(_start_card(state, slot, tmp / "card.log"), slot)       # made: the EUM reads what it made
    info = _cli(["info", "--state", str(state)])
    eid = re.search(r"EID:\s+(\d{32})", info)[1]
    aid, iccid = re.search(r"isdp_aid=([0-9A-F]{32})\s+iccid=(\d+)", info).groups()
    _cli(["smsr", "pki", "--out", str(pki)])
    doc = load(pki / "eis.json")
    doc.isdp_keys.clear()
    doc.eis.profiles[bytes.fromhex(aid)] = ProfileInfo(bytes.fromhex(aid), "ENABLED")
    servers = {name: serve("127.0.0.1", 0) for name in ("smsr", "smdp")}
    urls = {name: address(server, "127.0.0.1") for name, server in servers.items()}
    smsr_store, smdp_store = SmsrStore(tmp / "smsr.db"), SmdpStore(tmp / "smdp.db")
    smsr = SmsrService(smsr_store, reader, urls["smsr"])
    smdp = SmdpService(smdp_store, urls["smsr"], urls["smdp"], load_private_key(pki / "SK_DP.pem"),
                       bytes.fromhex((pki / "CERT_DP.hex").read_text().strip()), load_public_key(pki / "PK_EUM.pem"),
                       {new: profile.read_bytes()})
    for name, provider in (("smsr", smsr.provider), ("smdp", smdp.provider)):
        attach(servers[name], provider)
        _background(servers[name])
    proc = _start_card(state, slot, tmp / "card.log")
    mno = Requester(urls["smsr"], "MNO", timeout=120)
    try:
        record = ProfileRecord(eid, aid, iccid, "MNO", None, Pol2())
        for interface, function, fields, requester in (
                ("ES1", "RegisterEIS", [("Eis", eis_fields(eid, doc, [record], "EUM", with_keys=True))],
                 Requester(urls["smsr"], "EUM")),
                ("ES2", "DownloadProfile", [("Eid", eid), ("Iccid", new)], Requester(urls["smdp"], "MNO", timeout=300)),
                ("ES4", "SetFallBackAttribute", [("Eid", eid), ("Iccid", iccid)], mno)):
            response = requester.call(interface, function, fields)
            if not response.status.ok:
                raise RuntimeError(f"{interface}.{function}: {response.status}")
        samples = []
        for index in range(enables):
            started = time.perf_counter()
            response = mno.call("ES4", "EnableProfile", [("Eid", eid), ("Iccid", new if index % 2 == 0 else iccid)])
            samples.append(time.perf_counter() - started)
            if not response.status.ok:
                raise RuntimeError(f"ES4.EnableProfile: {response.status}")
        return samples
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()
        smsr.close()
        smsr_store.close()
        smdp_store.close()
        _stop_card(proc, slot)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="timed calls per side, all rounds (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (default %(default)s)")
    parser.add_argument("--enables", type=int, default=10, help="timed ES4.EnableProfile calls (0: no card part)")
    parser.add_argument("--slot", type=int, default=1, help="vpcd slot of the card (default %(default)s)")
    parser.add_argument("--profile", type=Path, default=None, help="profile package (default: TS.48 of the "
                                                                   "reference data)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.calls < args.rounds:
        parser.error("need --rounds >= 1 and --calls >= --rounds")
    with tempfile.TemporaryDirectory() as folder:
        echo, es4 = no_card_round_trips(args.calls, args.rounds, Path(folder))
    e, f = statistics.median(echo), statistics.median(es4)
    print(f"round trip over loopback HTTP, {len(es4)} calls per side in {args.rounds} alternating rounds "
          "(microseconds, median)")
    print(f"  HTTP echo baseline      {e:10.1f}")
    print(f"  ES4.GetEIS (no card)    {f:10.1f}   {f / e:.2f}x the echo, +{f - e:.1f} us of SOAP/WS-A, status, store")
    if args.enables <= 0:
        return 0
    profile = args.profile or default_profile()
    try:
        if not profile.is_file():
            raise PcscUnavailable(f"profile package {profile} is absent")
        with hold_slot(args.slot), tempfile.TemporaryDirectory() as folder:
            seconds = enable_profile_seconds(args.slot, args.enables, profile, Path(folder))
    except (PcscUnavailable, SlotBusy, ImportError) as exc:
        print(f"ES4.EnableProfile through the card: left out ({exc})")
        return 0
    print(f"ES4.EnableProfile through the SM-SR service, ES5 SCP80 SMS-PP and PC/SC, {len(seconds)} switches: "
          f"median {statistics.median(seconds) * 1000:.0f} ms (min {min(seconds) * 1000:.0f}, "
          f"max {max(seconds) * 1000:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
