"""The SM-SR service as a process of its own (SQLite store, SOAP on a loopback port) managing a card on
real pcscd + vpcd: ES1.RegisterEIS by the EUM client, ES4 functions by the operator client, ES3
functions by an SM-DP requester (this test), POL2 refusals without OTA traffic (ENVELOPEs counted in
the card's APDU trace, SCP80 counter in the store), the deletion race, kill -9 mid-function."""
from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import asn1tools
import pytest

from tests.e2e.pcsc_host import reader_name
from tests.m2m_host.m2m_world import TS48, invoke_cli
from tools.m2m_services.es4a import NOTIFICATIONS
from tools.m2m_services.pause import PAUSE_ENV, PAUSE_FILE_ENV
from tools.m2m_services.transport import Provider, Requester, RequesterError, address, attach, serve
from tools.smdp_m2m.smdp import sms_connectivity_parameters

pytestmark = pytest.mark.pcsc
REPO = Path(__file__).resolve().parents[2]
ENVELOPE = re.compile(r"\] >> 80C2")
"""An ENVELOPE (TS 102 221 §10.1.2, CLA '80' INS 'C2') in the card's APDU trace."""


class Service:
    """``euicc-emu smsr-service serve`` (or the command ``argv``) as a subprocess; ``url`` from its
    first line."""

    def __init__(self, db: Path, reader: str, log: Path, argv: list[str] | None = None,
                 extra: list[str] | None = None) -> None:
        self.log = log
        cmd = [sys.executable, "-m", "tools.cli", *(argv or ["smsr-service", "serve", "--db", str(db), "--port", "0",
                                                            "--reader", reader, *(extra or [])])]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=open(log, "ab"), text=True,
                                     env={**os.environ, "PYTHONPATH": str(REPO)})
        line = self.proc.stdout.readline()
        assert line.startswith("listening on "), f"{line!r} {log.read_text()}"
        self.url = line.split()[-1]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(15)


def _envelopes(trace: Path) -> int:
    return len(ENVELOPE.findall(trace.read_text())) if trace.exists() else 0


def _counter(db: Path, eid: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        row = con.execute("SELECT max(value) FROM counter WHERE eid = ?", (eid,)).fetchone()
    return row[0] or 0


@pytest.fixture
def world(start_card, pcscd, tmp_path, capsys, card_args):
    trace = tmp_path / "apdu.trace"
    start_card(tmp_path / "card.state").stop()             # made: the EUM reads what it manufactured
    status, info = invoke_cli(capsys, ["info", "--state", str(tmp_path / "card.state")])
    assert status == 0, info
    start_card(tmp_path / "card.state", extra=["--trace", str(trace), *card_args])
    eid = re.search(r"EID:\s+(\d{32})", info)[1]
    aid, iccid = re.search(r"isdp_aid=([0-9A-F]{32})\s+iccid=(\d+)", info).groups()
    assert invoke_cli(capsys, ["smsr", "pki", "--out", str(tmp_path / "pki")])[0] == 0
    db = tmp_path / "smsr.db"
    notified: list[tuple[str, str | None]] = []                     # the operator's notification endpoint
    operator = Provider("http://127.0.0.1/")
    for name in NOTIFICATIONS:
        operator.register("ES4", name, lambda request, name=name: notified.append((name, request.get("Iccid"))) or [],
                          one_way=True)
    endpoint = serve("127.0.0.1", 0)
    attach(endpoint, operator)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    service = Service(db, reader_name(pcscd), tmp_path / "smsr.log",
                      extra=["--notify", f"MNO={address(endpoint, '127.0.0.1')}"])
    w = {"eid": eid, "aid": aid, "iccid": iccid, "db": db, "service": service, "trace": trace, "tmp": tmp_path,
         "reader": reader_name(pcscd), "notified": notified}
    yield w
    service.stop()
    w["service"].stop()                  # the one a test started in its place (kill -9 test), if any
    endpoint.shutdown()
    endpoint.server_close()


def _register(capsys, w) -> None:
    status, out = invoke_cli(capsys, ["eum", "register-eis", "--smsr", w["service"].url, "--eis",
                                      str(w["tmp"] / "pki" / "eis.json"), "--eid", w["eid"], "--profile",
                                      f"{w['aid']}={w['iccid']},enabled", "--mno", "MNO"])
    assert status == 0 and "ES1.RegisterEIS: Executed-Success" in out, out


def _mno(capsys, w, *argv: str) -> tuple[int, str]:
    return invoke_cli(capsys, ["mno", "--smsr", w["service"].url, *argv])


def test_register_audit_pol2_and_card_refusal(world, capsys):
    w = world
    _register(capsys, w)
    status, out = _mno(capsys, w, "get-eis", w["eid"])
    assert status == 0 and f"Iccid: {w['iccid']}" in out and "Kic" not in out, out    # no keys leave the SM-SR
    status, out = _mno(capsys, w, "audit-eis", w["eid"])
    assert status == 0 and "State: Enabled" in out and "EcasdCertificate: 7F21" in out, out
    # POL2 "disable not allowed": refused by the SM-SR, nothing reaches the card
    assert _mno(capsys, w, "update-policy-rules", w["eid"], w["iccid"], "--rule", "DISABLE=Not-Allowed")[0] == 0
    envelopes, counter = _envelopes(w["trace"]), _counter(w["db"], w["eid"])
    status, out = _mno(capsys, w, "disable", w["eid"], w["iccid"])
    assert status == 1 and "ES4.DisableProfile: Failed 8.2.3 3.8" in out, out
    assert (_envelopes(w["trace"]), _counter(w["db"], w["eid"])) == (envelopes, counter)
    status, out = _mno(capsys, w, "get-eis", w["eid"])
    assert "Action: DISABLE" in out and "Qualification: Not-Allowed" in out
    # an M2M SP needs the operator's PLMA (ES4A) for each function
    sp = ["m2m-sp", "--smsr", w["service"].url, "--id", "SP1"]
    status, out = invoke_cli(capsys, [*sp, "disable", w["eid"], w["iccid"]])
    assert status == 1 and "Failed 8.2.1 1.2" in out, out
    assert _mno(capsys, w, "set-plma", "SP1", "--allow", "DisableProfile", "--allow", "GetEIS")[0] == 0
    status, out = _mno(capsys, w, "get-plma")
    assert "M2MSPId: SP1" in out and "AllowedOperation: DisableProfile" in out, out
    status, out = invoke_cli(capsys, [*sp, "disable", w["eid"], w["iccid"]])
    assert status == 1 and "Failed 8.2.3 3.8" in out, out                     # allowed by PLMA, refused by POL2
    status, out = invoke_cli(capsys, [*sp, "enable", w["eid"], w["iccid"]])
    assert status == 1 and "Failed 8.2.1 1.2" in out                           # not in the PLMA
    assert (_envelopes(w["trace"]), _counter(w["db"], w["eid"])) == (envelopes, counter)
    # another operator may not touch this profile
    status, out = invoke_cli(capsys, ["mno", "--smsr", w["service"].url, "--id", "MNO2", "enable", w["eid"], w["iccid"]])
    assert status == 1 and "Failed 8.2.1 1.2" in out
    # POL2 lifted: the card itself decides (the only profile, no fall-back one: the ISD-R refuses)
    assert _mno(capsys, w, "update-policy-rules", w["eid"], w["iccid"])[0] == 0
    status, out = _mno(capsys, w, "disable", w["eid"], w["iccid"])
    assert _envelopes(w["trace"]) > envelopes and _counter(w["db"], w["eid"]) > counter
    assert status == 1 and "ES4.DisableProfile: Failed 8.2.1 3.5" in out, out     # '6985' from the card
    # unknown EID / ICCID
    assert "Failed 8.1.1 3.9" in _mno(capsys, w, "get-eis", "8" * 32)[1]
    assert "Failed 8.2.1 3.9" in _mno(capsys, w, "enable", w["eid"], "8900")[1]
    with sqlite3.connect(w["db"]) as con:
        (eis,), = con.execute("SELECT eis FROM euicc").fetchall()
    assert json.loads(eis)["smdp"]["isdps"] == []                                  # never ISD-P keys


def test_create_isdp_and_the_deletion_race(world, capsys):
    w = world
    _register(capsys, w)
    smdp = Requester(w["service"].url, "SMDP1")
    response = smdp.call("ES3", "CreateISDP", [("Eid", w["eid"]), ("Iccid", "8900100000000000999"),
                                                ("Mno-id", "MNO"), ("RequiredMemory", "1000")])
    assert response.status.ok, str(response.status)
    isdp = response.get("Isd-p-aid")
    assert isdp and isdp != w["aid"]
    status, out = _mno(capsys, w, "audit-eis", w["eid"])
    assert f"Isd-p-aid: {isdp}" in out and "State: Selectable" in out
    assert not smdp.call("ES3", "CreateISDP", [("Eid", w["eid"]), ("Iccid", "8900100000000000999")]).status.ok
    # two deletions at once: the second finds the ISD-P gone and ends as success too
    results: list[str] = []

    def delete() -> None:
        results.append(str(Requester(w["service"].url, "MNO").call(
            "ES4", "DeleteProfile", [("Eid", w["eid"]), ("Iccid", "8900100000000000999")]).status))
    threads = [threading.Thread(target=delete) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == ["Executed-Success", "Executed-Success"]
    status, out = _mno(capsys, w, "audit-eis", w["eid"])
    assert status == 0 and isdp not in out
    # the enabled profile is not deleted
    status, out = _mno(capsys, w, "delete", w["eid"], w["iccid"])
    assert status == 1 and "Failed 8.2.1 3.5" in out


def test_kill_9_mid_function_leaves_the_store_consistent(world, capsys):
    """kill -9 between the SCP80 counter's commit and the PoR: the service is parked at the pause point
    ``SM-SR.ES5.counter-reserved`` (tools/m2m_services/pause.py) and killed there, no timing race."""
    w = world
    w["service"].stop()
    pause = w["tmp"] / "paused"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(PAUSE_ENV, "SM-SR.ES5.counter-reserved")
        env.setenv(PAUSE_FILE_ENV, str(pause))
        w["service"] = Service(w["db"], w["reader"], w["tmp"] / "smsr1.log")
    _register(capsys, w)
    before = _counter(w["db"], w["eid"])
    outcome: list[Exception] = []

    def audit() -> None:
        try:
            Requester(w["service"].url, "MNO", timeout=30).call("ES4", "AuditEIS", [("Eid", w["eid"])])
        except RequesterError as exc:                                       # the provider died: expected
            outcome.append(exc)
    thread = threading.Thread(target=audit, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not (pause.exists() and pause.read_text().strip() == "SM-SR.ES5.counter-reserved"):
        assert time.monotonic() < deadline and thread.is_alive(), w["service"].log.read_text()
        time.sleep(0.01)
    w["service"].stop(signal.SIGKILL)                                           # between counter and PoR
    pause.unlink()
    thread.join(35)
    assert len(outcome) == 1 and "unreachable" in str(outcome[0])
    with sqlite3.connect(w["db"]) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT function, state FROM call").fetchall() == [("AuditEIS", "started")]
    assert _counter(w["db"], w["eid"]) == before + 1
    w["service"] = Service(w["db"], w["reader"], w["tmp"] / "smsr2.log")
    with sqlite3.connect(w["db"]) as con:
        assert con.execute("SELECT state, status FROM call").fetchall() == [("done", "interrupted")]
    status, out = _mno(capsys, w, "audit-eis", w["eid"])                      # the card accepts the next counter
    assert status == 0 and "State: Enabled" in out, out


def _states(out: str) -> dict[str, str]:
    """Isd-p-aid -> State from a printed EIS."""
    return dict(re.findall(r"Isd-p-aid: ([0-9A-F]{32})\n(?:\s+\S+: .*\n)*?\s+State: (\w+)", out))


def test_download_over_es2_es3_enable_and_pol2_auto_delete(world, capsys):
    """ES2.DownloadProfile -> ES3.CreateISDP, ES8 through ES3.SendData, ProfileDownloadCompleted with
    POL2 "delete mandatory when disabled"; ES4 SetFallBackAttribute, EnableProfile, DisableProfile
    (the fall-back profile comes back, the SM-SR deletes the disabled one)."""
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    w, pki, new = world, world["tmp"] / "pki", "8944000000000000001"
    _register(capsys, w)
    smdp = Service(w["tmp"] / "smdp.db", "", w["tmp"] / "smdp.log", [
        "smdp-service", "serve", "--db", str(w["tmp"] / "smdp.db"), "--port", "0", "--smsr", w["service"].url,
        "--key", str(pki / "SK_DP.pem"), "--cert", str(pki / "CERT_DP.hex"), "--eum-key", str(pki / "PK_EUM.pem"),
        "--profile", f"{new}={TS48}"])
    try:
        started = time.monotonic()
        status, out = invoke_cli(capsys, ["mno", "--smdp", smdp.url, "download", w["eid"], new,
                                          "--rule", "DISABLE=Auto-Delete"])
        elapsed = time.monotonic() - started
        assert status == 0 and "ES2.DownloadProfile: Executed-Success" in out, out + smdp.log.read_text()
        with capsys.disabled():
            print(f"\nES2.DownloadProfile of TS.48 through the SM-DP and SM-SR services and PC/SC: {elapsed:.1f} s")
        isdp = re.search(r"Isd-p-aid: ([0-9A-F]{32})", out)[1]
        status, out = invoke_cli(capsys, ["mno", "--smdp", smdp.url, "get-eis", w["eid"]])     # ES2 -> ES3 relay
        assert status == 0 and _states(out)[isdp] == "Disabled" and "Qualification: Auto-Delete" in out, out
        parameters = sms_connectivity_parameters("33689924111").hex()                        # ES8 with the SM-DP's keys
        response = Requester(smdp.url, "MNO").call("ES2", "UpdateConnectivityParameters", [
            ("Eid", w["eid"]), ("Iccid", new), ("ConnectivityParameters", parameters)])
        assert response.status.ok, str(response.status)
        assert not Requester(smdp.url, "MNO2").call("ES2", "UpdateConnectivityParameters", [
            ("Eid", w["eid"]), ("Iccid", new), ("ConnectivityParameters", parameters)]).status.ok
    finally:
        smdp.stop()
    with sqlite3.connect(w["tmp"] / "smdp.db") as con:                      # the ISD-P keys: the SM-DP's only
        assert con.execute("SELECT count(*) FROM isdp_keys WHERE isdp_aid = ? AND token_key IS NOT NULL",
                           (isdp,)).fetchone() == (1,)
    with sqlite3.connect(w["db"]) as con:
        (eis,), = con.execute("SELECT eis FROM euicc").fetchall()
    assert json.loads(eis)["smdp"]["isdps"] == []
    assert _mno(capsys, w, "set-fallback", w["eid"], w["iccid"])[0] == 0
    # enabling the new profile disables the original: POL2 of either side refuses before any OTA
    envelopes = _envelopes(w["trace"])
    for iccid, rule in ((w["iccid"], "DISABLE=Not-Allowed"), (new, "ENABLE=Not-Allowed")):
        assert _mno(capsys, w, "update-policy-rules", w["eid"], iccid, "--rule", rule)[0] == 0
        status, out = _mno(capsys, w, "enable", w["eid"], new)
        assert status == 1 and "ES4.EnableProfile: Failed 8.2.3 3.8" in out, out
        rules = ["--rule", "DISABLE=Auto-Delete"] if iccid == new else []
        assert _mno(capsys, w, "update-policy-rules", w["eid"], iccid, *rules)[0] == 0
    assert _envelopes(w["trace"]) == envelopes
    status, out = _mno(capsys, w, "enable", w["eid"], new)
    assert status == 0, out
    assert w["notified"] == [("HandleFallBackAttributeSetNotification", w["iccid"]),
                             ("HandleProfileEnabledNotification", new),
                             ("HandleProfileDisabledNotification", w["iccid"])]
    states = _states(_mno(capsys, w, "audit-eis", w["eid"])[1])
    assert (states[isdp], states[w["aid"]]) == ("Enabled", "Disabled")
    assert _mno(capsys, w, "set-onc", "--exclude", "HandleProfileDisabledNotification")[0] == 0     # ONC
    assert "ExcludedNotification: HandleProfileDisabledNotification" in _mno(capsys, w, "get-onc")[1]
    w["notified"].clear()
    status, out = _mno(capsys, w, "disable", w["eid"], new)
    assert status == 0, out
    assert w["notified"] == [("HandleProfileDeletedNotification", new)]
    states = _states(_mno(capsys, w, "audit-eis", w["eid"])[1])
    assert isdp not in states and states[w["aid"]] == "Enabled"            # fall-back back, POL2 deleted it


def _with_pol1(package: bytes, pol1: bytes) -> bytes:
    """The package with ProfileHeader.pol set (SAIP PE_Definitions 3.3.1: ``pol`` [4] OCTET STRING,
    "POL1 as defined by GSMA SGP.02"), re-encoded with asn1tools from the published module."""
    module = Path("/work/shared/reference/asn1/saip/PE_Definitions-3.3.1.asn")
    if not module.is_file():
        pytest.skip(f"SAIP module {module} is absent (/work/shared/reference not mounted)")
    spec = asn1tools.compile_string(re.sub(r"(sqnInit[^\n]*?)\s+DEFAULT\s+'0+'H", r"\1 OPTIONAL",
                                           module.read_text()), "der")
    (kind, header), length = spec.decode_with_length("ProfileElement", package)
    assert kind == "header"
    header["pol"] = pol1
    return spec.encode("ProfileElement", ("header", header)) + package[length:]


def test_pol1_refusal_comes_from_the_card(world, capsys):
    """POL2 allows, POL1 (in the profile, enforced by the ISD-R) refuses: the SM-SR sends the command
    and reports the card's '69E1' as Failed.  POL1 byte: b1 "disable not allowed" (SPEC_NOTES §2.6
    default coding, unverified)."""
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    w, pki, new = world, world["tmp"] / "pki", "8944000000000000002"
    package = w["tmp"] / "pol1.der"
    package.write_bytes(_with_pol1(TS48.read_bytes(), b"\x01"))
    _register(capsys, w)
    smdp = Service(w["tmp"] / "smdp.db", "", w["tmp"] / "smdp.log", [
        "smdp-service", "serve", "--db", str(w["tmp"] / "smdp.db"), "--port", "0", "--smsr", w["service"].url,
        "--key", str(pki / "SK_DP.pem"), "--cert", str(pki / "CERT_DP.hex"), "--profile", f"{new}={package}"])
    try:
        status, out = invoke_cli(capsys, ["mno", "--smdp", smdp.url, "download", w["eid"], new])
        assert status == 0, out + smdp.log.read_text()
    finally:
        smdp.stop()
    assert _mno(capsys, w, "set-fallback", w["eid"], w["iccid"])[0] == 0
    assert _mno(capsys, w, "enable", w["eid"], new)[0] == 0
    envelopes = _envelopes(w["trace"])
    status, out = _mno(capsys, w, "disable", w["eid"], new)
    assert status == 1 and "ES4.DisableProfile: Failed 8.2.2 3.8" in out and "69E1" in out, out
    assert _envelopes(w["trace"]) > envelopes                                  # the card was asked
    states = _states(_mno(capsys, w, "audit-eis", w["eid"])[1])
    assert states[w["aid"]] == "Disabled" and "Enabled" in states.values()
