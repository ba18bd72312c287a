"""The four-party SM-SR change (SGP.02 v4.2 §3.8, ES4 PrepareSMSRChange / SMSRChange, ES7) between two
SM-SR service processes, the operator client and the card on pcscd + vpcd: what moves and what stays,
an uncooperative old SM-SR, a new SM-SR whose certificate is not from the CI, and kill -9 of either
SM-SR at each pause point (tools/m2m_services/pause.py) leaving the EIS in exactly one SM-SR and the
card reachable by exactly that one.

Known answers are read back from the card with the command-line SM-SR (``euicc-emu smsr`` with the
default card's documented key set 01) and from the stores' SQLite files, not from the services' code."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.e2e.pcsc_host import reader_name
from tests.m2m_host.m2m_world import invoke_cli
from tests.m2m_services.test_smsr_service_pcsc import ENVELOPE, REPO, Service
from tools.m2m_services.es4a import NOTIFICATIONS
from tools.m2m_services.pause import PAUSE_ENV, PAUSE_FILE_ENV
from tools.m2m_services.tls import write_test_pki as write_tls_pki
from tools.m2m_services.transport import Provider, Requester, attach, serve
from tools.smsr.pki_files import DEFAULT_CARD_KEYSET, write_test_pki
from tools.smsr.gp_certificate import ROLE_SM_SR, build_certificate

pytestmark = pytest.mark.pcsc
MSISDN, IMSI = "33612345678", "208011234567890"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Change:
    """The card, SM-SR1 (holding the EIS) and SM-SR2 (with CERT.SR2) on fixed ports, so that either can
    be restarted where the other expects it."""

    def __init__(self, start_card, pcscd, tmp: Path, capsys, pause: dict[str, list[str]] | None = None,
                 smsr2_cert: Path | None = None, notify: str | None = None, tls: bool = False) -> None:
        self.tmp, self.capsys, self.reader = tmp, capsys, reader_name(pcscd)
        self.trace = tmp / "apdu.trace"
        start_card(tmp / "card.state").stop()
        status, info = invoke_cli(capsys, ["info", "--state", str(tmp / "card.state")])
        assert status == 0, info
        self.start_card = start_card
        self.card = start_card(tmp / "card.state", extra=["--trace", str(self.trace)])
        self.eid = re.search(r"EID:\s+(\d{32})", info)[1]
        self.aid, self.iccid = re.search(r"isdp_aid=([0-9A-F]{32})\s+iccid=(\d+)", info).groups()
        if not (tmp / "pki").exists():
            write_test_pki(tmp / "pki")
        self.ports = {"SM-SR1": _free_port(), "SM-SR2": _free_port()}
        self.tls = write_tls_pki(tmp / "tls", ["SM-SR1", "SM-SR2", "MNO", "EUM"]) if tls else None
        scheme = "https" if tls else "http"
        self.url = {name: f"{scheme}://127.0.0.1:{port}/" for name, port in self.ports.items()}
        self.smsr2_cert = smsr2_cert or tmp / "pki" / "CERT_SR2.hex"
        self.pause_file = tmp / "paused"
        self.notify = ["--notify", f"MNO={notify}"] if notify else []
        self.services: dict[str, Service] = {}
        for name in ("SM-SR2", "SM-SR1"):
            self.start(name, (pause or {}).get(name, []))

    def argv(self, name: str) -> list[str]:
        pki = self.tmp / "pki"
        own = ["--smsr-key", str(pki / "SK_SR2.pem"), "--smsr-cert", str(self.smsr2_cert)] if name == "SM-SR2" else []
        return ["smsr-service", "serve", "--db", str(self.tmp / f"{name}.db"), "--port", str(self.ports[name]),
                "--reader", self.reader, "--id", name, "--ci-cert", str(pki / "CERT_CI.der"),
                "--eum-cert", str(pki / "CERT_EUM.der"),
                "--peer", f"SM-SR1={self.url['SM-SR1']}", "--peer", f"SM-SR2={self.url['SM-SR2']}", *own, *self.notify,
                *self.tls_args(name)]

    def tls_args(self, party: str) -> list[str]:
        """``--tls-cert/--tls-key/--tls-ca`` of ``party`` (certificate CN = its identifier) when TLS is on."""
        if self.tls is None:
            return []
        files = self.tls[party]
        return ["--tls-cert", str(files.cert), "--tls-key", str(files.key), "--tls-ca", str(files.ca)]

    def start(self, name: str, pause: list[str] | None = None) -> None:
        env = {PAUSE_ENV: ",".join(pause), PAUSE_FILE_ENV: str(self.pause_file)} if pause else {}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.services[name] = Service(self.tmp / f"{name}.db", self.reader, self.tmp / f"{name}.log",
                                          self.argv(name))
        finally:
            for k, v in old.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)

    def stop(self) -> None:
        if self.pause_file.exists():
            self.pause_file.unlink()
        for service in self.services.values():
            service.stop()

    def mno(self, name: str, *argv: str) -> tuple[int, str]:
        return invoke_cli(self.capsys, ["mno", "--smsr", self.url[name], *self.tls_args("MNO"), *argv])

    def register(self) -> None:
        status, out = invoke_cli(self.capsys, [
            "eum", "register-eis", "--smsr", self.url["SM-SR1"], "--eis", str(self.tmp / "pki" / "eis.json"),
            "--eid", self.eid, "--profile", f"{self.aid}={self.iccid},enabled", "--mno", "MNO", *self.tls_args("EUM")])
        assert status == 0, out

    def held_by(self) -> list[str]:
        """The SM-SRs whose store holds the EIS (read from the SQLite files)."""
        out = []
        for name in ("SM-SR1", "SM-SR2"):
            with sqlite3.connect(f"file:{self.tmp / (name + '.db')}?mode=ro", uri=True) as con:
                if con.execute("SELECT 1 FROM euicc WHERE eid = ?", (self.eid,)).fetchone():
                    out.append(name)
        return out

    def envelopes(self) -> int:
        return len(ENVELOPE.findall(self.trace.read_text())) if self.trace.exists() else 0

    def old_keys_work(self) -> bool:
        """Does the card still accept the default ISD-R key set 01 (the old SM-SR's)?  Asked with the
        command-line SM-SR, a counter far above any the services used."""
        k = DEFAULT_CARD_KEYSET
        status, _ = invoke_cli(self.capsys, ["smsr", "--kic", k.kic.hex(), "--kid", k.kid.hex(), "--kvn", "1",
                                             "--counter", str(100000 + int(time.time()) % 100000),
                                             "--reader", self.reader, "audit"])
        return status == 0


@pytest.fixture
def change(start_card, pcscd, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))           # the smsr CLI's counter ledger
    made: list[Change] = []

    def make(**kwargs) -> Change:
        made.append(Change(start_card, pcscd, tmp_path, capsys, **kwargs))
        return made[-1]
    yield make
    for c in made:
        c.stop()


def _profile(out: str) -> str:
    return out[out.index("ProfileInfo"):]


def test_four_party_change_moves_the_eis_and_the_card(change):
    notified: list[tuple[str, str | None, str | None]] = []               # the operator's notification endpoint
    operator = Provider("http://127.0.0.1/")
    for name in NOTIFICATIONS:
        operator.register("ES4", name, lambda request, name=name: notified.append(
            (name, request.get("Eid"), request.get("FunctionRequesterIdentifier"))) or [], one_way=True)
    endpoint = serve("127.0.0.1", 0)
    attach(endpoint, operator)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    c = change(notify=f"http://127.0.0.1:{endpoint.server_address[1]}/")
    c.register()
    assert c.mno("SM-SR1", "set-fallback", c.eid, c.iccid)[0] == 0
    assert [n[0] for n in notified] == ["HandleFallBackAttributeSetNotification"]
    notified.clear()
    assert c.mno("SM-SR1", "update-policy-rules", c.eid, c.iccid, "--rule", "DELETE=Not-Allowed")[0] == 0
    assert c.mno("SM-SR1", "update-subscription-address", c.eid, c.iccid, "--msisdn", MSISDN, "--imsi", IMSI)[0] == 0
    status, before = c.mno("SM-SR1", "audit-eis", c.eid)
    assert status == 0, before
    # only the operator owning a profile may move the eUICC; an unprepared SM-SR2 refuses the EIS
    status, out = invoke_cli(c.capsys, ["mno", "--smsr", c.url["SM-SR1"], "--id", "MNO2", "smsr-change", c.eid,
                                        "--target-smsr", "SM-SR2"])
    assert status == 1 and "ES4.SMSRChange: Failed 8.1 1.2" in out, out
    status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")
    assert status == 1 and "Failed 8.1.1 1.2" in out, out                         # no PrepareSMSRChange yet
    assert c.held_by() == ["SM-SR1"]
    # the change
    status, out = c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")
    assert status == 0 and "ES4.PrepareSMSRChange: Executed-Success" in out, out
    envelopes = c.envelopes()
    status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")
    assert status == 0 and "ES4.SMSRChange: Executed-Success" in out, out + c.services["SM-SR2"].log.read_text()
    assert c.envelopes() - envelopes >= 3      # AuthenticateSMSR, CreateAdditionalKeySet, FinaliseISDRhandover (SMS each)
    assert c.held_by() == ["SM-SR2"]
    assert notified == [("HandleSMSRChangeNotification", c.eid, "SM-SR2")]
    endpoint.shutdown()
    endpoint.server_close()
    # what moved: profile, state, POL2, subscription address, Fall-Back attribute
    status, after = c.mno("SM-SR2", "get-eis", c.eid)
    assert status == 0, after
    for text in (f"Iccid: {c.iccid}", f"Isd-p-aid: {c.aid}", "Mno-id: MNO", "FallbackAttribute: true",
                 "State: Enabled", "Action: DELETE", "Qualification: Not-Allowed", f"Msisdn: {MSISDN}",
                 f"Imsi: {IMSI}", "EcasdCertificate: 7F21"):
        assert text in after, (text, after)
    assert _profile(after) == _profile(before)
    # the old SM-SR holds no EIS; it kept its keys and audit log (retired), the new one never got them
    status, out = c.mno("SM-SR1", "get-eis", c.eid)
    assert status == 1 and "Failed 8.1.1 3.9" in out
    with sqlite3.connect(c.tmp / "SM-SR1.db") as con:
        (retired, successor), = con.execute("SELECT eis, successor FROM retired").fetchall()
        journal1 = [f for f, in con.execute("SELECT function FROM call")]
    retired = json.loads(retired)
    assert successor == "SM-SR2" and [k["kvn"] for k in retired["keysets"]] == [1]
    assert {"SetFallBackAttribute", "AuditEIS", "SMSRChange", "AuthenticateSMSR"} <= set(journal1)
    assert retired["keysets"][0]["kic"] == DEFAULT_CARD_KEYSET.kic.hex().upper()
    with sqlite3.connect(c.tmp / "SM-SR2.db") as con:
        (eis,), = con.execute("SELECT eis FROM euicc").fetchall()
        journal2 = {f for f, in con.execute("SELECT function FROM call")}
    eis = json.loads(eis)
    assert [k["kvn"] for k in eis["keysets"]] == [2] and eis["active_kvn"] == 2
    assert DEFAULT_CARD_KEYSET.kic.hex().upper() not in json.dumps(eis)
    assert journal2 == {"PrepareSMSRChange", "HandoverEUICC", "GetEIS"}             # SM-SR1's log stays there
    # the card follows SM-SR2 (its key set 02) and no longer accepts key set 01
    status, out = c.mno("SM-SR2", "audit-eis", c.eid)
    assert status == 0 and "State: Enabled" in out, out
    assert not c.old_keys_work()


def test_uncooperative_old_smsr_stalls_the_change_and_changes_nothing(change):
    """An 'SM-SR1' that hands the EIS over but refuses to relay (ES7.AuthenticateSMSR answered Failed):
    SM-SR2 answers HandoverEUICC Failed, holds no EIS, and not one ENVELOPE reached the card."""
    c = change()
    c.register()
    status, eis_out = c.mno("SM-SR1", "audit-eis", c.eid)
    assert status == 0
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "OLD")[0] == 0
    refused: list[str] = []
    stub = Provider("http://127.0.0.1/")
    for function in ("AuthenticateSMSR", "CreateAdditionalKeySet"):
        def refuse(request, function=function):
            from tools.m2m_services.status import FunctionFailed
            refused.append(function)
            raise FunctionFailed("1.2", "1.2", "this SM-SR does not cooperate")
        stub.register("ES7", function, refuse)
    server = serve("127.0.0.1", 0)
    attach(server, stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        certificate = re.search(r"EcasdCertificate: (\w+)", eis_out)[1]
        eis = [("EumSignedInfo", [("Eid", c.eid), ("EcasdCertificate", certificate)]),
               ("ProfileInfo", [("Iccid", c.iccid), ("Isd-p-aid", c.aid), ("Mno-id", "MNO"),
                                ("FallbackAttribute", "false"), ("State", "Enabled")]),
               ("Isd-r", [("KeySet", [("Version", "1")])])]
        envelopes = c.envelopes()
        own = f"http://127.0.0.1:{server.server_address[1]}/"
        response = Requester(c.url["SM-SR2"], "OLD", own).call("ES7", "HandoverEUICC", [("Eis", eis)])
    finally:
        server.shutdown()
        server.server_close()
    assert not response.status.ok and response.status.code.reason_code == "1.2", str(response.status)
    assert refused == ["AuthenticateSMSR"] and c.envelopes() == envelopes
    assert c.held_by() == ["SM-SR1"]
    assert c.mno("SM-SR1", "audit-eis", c.eid)[0] == 0                             # nothing changed


def test_new_smsr_certificate_not_from_the_ci_is_refused_by_the_card(change, tmp_path):
    """CERT.SR2 signed by another CI: SM-SR1 relays it, the card refuses it (STORE DATA '3A01'), the
    change fails with 1.1 6.1 and SM-SR1 keeps the eUICC."""
    rogue_ci = ec.generate_private_key(ec.SECP256R1())
    write_test_pki(tmp_path / "pki")
    key = serialization.load_pem_private_key((tmp_path / "pki" / "SK_SR2.pem").read_bytes(), None)
    forged = tmp_path / "CERT_SR2_rogue.hex"
    forged.write_text(build_certificate(rogue_ci, key.public_key(), serial=b"\x09", ca_id=b"CI", subject_id=b"SMSR2",
                                        role=ROLE_SM_SR).hex().upper())
    c = change(smsr2_cert=forged)
    c.register()
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
    envelopes = c.envelopes()
    status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")
    assert status == 1 and "ES4.SMSRChange: Failed 1.1 6.1" in out, out
    assert c.envelopes() > envelopes and ("6982" in out or "6A80" in out), out      # the card itself refused
    assert c.held_by() == ["SM-SR1"]
    assert c.mno("SM-SR1", "audit-eis", c.eid)[0] == 0


SM_SR1_STEPS = ["SM-SR1.SMSRChange.locked", "SM-SR1.AuthenticateSMSR.relayed", "SM-SR1.CreateAdditionalKeySet.relaying",
                "SM-SR1.CreateAdditionalKeySet.relayed", "SM-SR1.CreateAdditionalKeySet.relayed#2",
                "SM-SR1.HandoverEUICC.answered"]
SM_SR2_STEPS = ["SM-SR2.HandoverEUICC.verified", "SM-SR2.AuthenticateSMSR.answered",
                "SM-SR2.CreateAdditionalKeySet.answered", "SM-SR2.CreateAdditionalKeySet.answered#2", "SM-SR2.in-charge",
                "SM-SR2.FinaliseISDRhandover.done"]
"""``#2``: the SCP81 key set's round (tools/m2m_services/pause.py)."""
WINNER = {"SM-SR1.HandoverEUICC.answered": "SM-SR2", "SM-SR2.FinaliseISDRhandover.done": "SM-SR2"}
"""Who holds the eUICC after a kill at that step (every other step: the change is rolled back)."""


@pytest.mark.parametrize("step", SM_SR1_STEPS + SM_SR2_STEPS)
def test_kill_9_at_each_step_leaves_the_eis_in_exactly_one_smsr(change, step):
    victim = step.split(".")[0]
    c = change(pause={victim: [step]})
    c.register()
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
    result: list[tuple[int, str]] = []
    caller = threading.Thread(target=lambda: result.append(
        c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")), daemon=True)
    caller.start()
    deadline = time.monotonic() + 120
    while not (c.pause_file.exists() and c.pause_file.read_text().strip() == step):
        assert time.monotonic() < deadline and caller.is_alive(), (result, c.services[victim].log.read_text())
        time.sleep(0.02)
    c.services[victim].stop(signal.SIGKILL)
    c.pause_file.unlink()
    caller.join(120)
    assert not caller.is_alive()
    c.start(victim)                                                           # restarts and resolves
    winner = WINNER.get(step, "SM-SR1")
    loser = "SM-SR2" if winner == "SM-SR1" else "SM-SR1"
    assert c.held_by() == [winner], (step, c.services[victim].log.read_text())
    status, out = c.mno(winner, "audit-eis", c.eid)
    assert status == 0 and "State: Enabled" in out, (step, out)
    assert "Failed 8.1.1 3.9" in c.mno(loser, "get-eis", c.eid)[1]
    if winner == "SM-SR1":                            # the card kept no stray key set: the change works again
        assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
        status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")
        assert status == 0, (step, out)
        assert c.held_by() == ["SM-SR2"]
    assert not c.old_keys_work()                      # SM-SR2 in charge: key set 01 is gone from the card


def test_kill_9_of_the_operator_client_mid_change_lets_the_change_finish(change):
    """The operator's client (its own process) killed while SM-SR2 is parked after the receipt: the
    SM-SRs finish the change without it; the EIS ends in SM-SR2 alone."""
    step = "SM-SR2.CreateAdditionalKeySet.answered"
    c = change(pause={"SM-SR2": [step]})
    c.register()
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
    client = subprocess.Popen([sys.executable, "-m", "tools.cli", "mno", "--smsr", c.url["SM-SR1"], "smsr-change",
                               c.eid, "--target-smsr", "SM-SR2"], cwd=REPO, stdout=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 120
    while not (c.pause_file.exists() and c.pause_file.read_text().strip() == step):
        assert time.monotonic() < deadline and client.poll() is None
        time.sleep(0.02)
    client.send_signal(signal.SIGKILL)
    client.wait(15)
    c.pause_file.unlink()
    deadline = time.monotonic() + 60
    while c.held_by() != ["SM-SR2"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert c.held_by() == ["SM-SR2"]
    status, out = c.mno("SM-SR2", "audit-eis", c.eid)
    assert status == 0 and "State: Enabled" in out, out
    assert not c.old_keys_work()


def test_kill_9_of_the_card_mid_relay_leaves_the_change_pending_then_settled(change):
    """The card process killed while SM-SR1 is about to relay the key agreement: the change fails,
    nothing moves; once the card is back, SM-SR1's next function settles the pending change (the
    relayed key set is deleted, or was never installed: '6A88') and runs."""
    step = "SM-SR1.CreateAdditionalKeySet.relaying"
    c = change(pause={"SM-SR1": [step]})
    c.register()
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
    result: list[tuple[int, str]] = []
    caller = threading.Thread(target=lambda: result.append(
        c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")), daemon=True)
    caller.start()
    deadline = time.monotonic() + 120
    while not (c.pause_file.exists() and c.pause_file.read_text().strip() == step):
        assert time.monotonic() < deadline and caller.is_alive(), result
        time.sleep(0.02)
    c.card.stop(signal.SIGKILL)
    c.pause_file.unlink()
    caller.join(120)
    assert result and result[0][0] == 1 and "ES4.SMSRChange: Failed" in result[0][1], result
    assert c.held_by() == ["SM-SR1"]
    c.card = c.start_card(c.tmp / "card.state", extra=["--trace", str(c.trace)])
    status, out = c.mno("SM-SR1", "audit-eis", c.eid)
    assert status == 0 and "State: Enabled" in out, out + c.services["SM-SR1"].log.read_text()
    assert c.held_by() == ["SM-SR1"] and "Failed 8.1.1 3.9" in c.mno("SM-SR2", "get-eis", c.eid)[1]
    assert c.mno("SM-SR2", "prepare-smsr-change", c.eid, "--current-smsr", "SM-SR1")[0] == 0
    status, out = c.mno("SM-SR1", "smsr-change", c.eid, "--target-smsr", "SM-SR2")     # no stray key set 02
    assert status == 0 and c.held_by() == ["SM-SR2"], out
