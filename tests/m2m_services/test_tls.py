"""Mutual TLS between the SGP.02 services: a provider accepts only clients with a certificate of its
CA, and takes the certificate's CN as the requester's identity (FunctionRequesterIdentifier must
match); the SM-SR service and the EUM / operator clients as a user runs them (no card needed for
ES1.RegisterEIS and GetEIS)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.m2m_host.m2m_world import invoke_cli
from tools.m2m_services.tls import TlsFiles, write_test_pki
from tools.m2m_services.transport import Provider, Requester, RequesterError, address, attach, serve

REPO = Path(__file__).resolve().parents[2]
EID = "89049032000000000000000000000163"


@pytest.fixture
def tls_server(tmp_path):
    files = write_test_pki(tmp_path / "tls", ["SM-SR", "MNO"])
    provider = Provider("https://127.0.0.1/")
    provider.register("ES4", "GetEIS", lambda request: [("Seen", request.get("FunctionRequesterIdentifier"))])
    server = serve("127.0.0.1", 0, files["SM-SR"])
    attach(server, provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield address(server, "127.0.0.1"), files
    server.shutdown()
    server.server_close()


def test_mutual_tls(tls_server, tmp_path):
    url, files = tls_server
    assert url.startswith("https://")
    requester = Requester(url, "MNO", tls=files["MNO"])
    started = time.monotonic()
    for _ in range(20):
        response = requester.call("ES4", "GetEIS", [])
        assert response.status.ok and response.get("Seen") == "MNO"
    per_call = (time.monotonic() - started) / 20
    print(f"\nSOAP request-response over mutual TLS on loopback: {per_call * 1000:.1f} ms per call (new TLS session each)")
    response = Requester(url, "MNO2", tls=files["MNO"]).call("ES4", "GetEIS", [])   # not who the certificate says
    assert not response.status.ok and (response.status.code.subject_code, response.status.code.reason_code) == \
        ("1.1", "1.1")
    other = write_test_pki(tmp_path / "other", ["MNO"])["MNO"]                         # a certificate of another CA
    for tls in (None, TlsFiles(other.cert, other.key, files["MNO"].ca)):
        with pytest.raises(RequesterError):
            Requester(url, "MNO", tls=tls, timeout=5).call("ES4", "GetEIS", [])


def test_smsr_service_and_clients_over_mutual_tls(tmp_path, capsys):
    status, out = invoke_cli(capsys, ["smsr-service", "tls-pki", "--out", str(tmp_path / "tls")])
    assert status == 0 and "EUM: --tls-cert" in out
    tls = {p: ["--tls-cert", str(tmp_path / "tls" / f"{p}.pem"), "--tls-key", str(tmp_path / "tls" / f"{p}.key"),
               "--tls-ca", str(tmp_path / "tls" / "ca.pem")] for p in ("SM-SR", "EUM", "MNO")}
    assert invoke_cli(capsys, ["smsr", "pki", "--out", str(tmp_path / "pki")])[0] == 0
    proc = subprocess.Popen([sys.executable, "-m", "tools.cli", "smsr-service", "serve", "--db", str(tmp_path / "s.db"),
                             "--port", "0", "--reader", "nonexistent", *tls["SM-SR"]], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        url = proc.stdout.readline().split()[-1]
        assert url.startswith("https://127.0.0.1:")
        status, out = invoke_cli(capsys, ["eum", "register-eis", "--smsr", url, "--eis", str(tmp_path / "pki" / "eis.json"),
                                          "--eid", EID, "--profile", "A0000005591010FFFFFFFF8900001000=8900,enabled",
                                          "--mno", "MNO", *tls["EUM"]])
        assert status == 0 and "Executed-Success" in out, out
        status, out = invoke_cli(capsys, ["mno", "--smsr", url, *tls["MNO"], "update-subscription-address", EID, "8900",
                                          "--msisdn", "447700900123", "--imsi", "001010000000001"])
        assert status == 0, out                                                   # ES4, EIS only
        status, out = invoke_cli(capsys, ["mno", "--smsr", url, *tls["MNO"], "update-subscription-address", EID, "8900",
                                          "--msisdn", "12ab"])
        assert status == 1 and "Failed 8.2 2.1" in out
        status, out = invoke_cli(capsys, ["mno", "--smsr", url, *tls["MNO"], "get-eis", EID])
        assert status == 0 and "Iccid: 8900" in out and "Msisdn: 447700900123" in out and "Imsi: 001010000000001" in out
        status, out = invoke_cli(capsys, ["mno", "--smsr", url, *tls["MNO"], "--reply-to", "127.0.0.1:0", "get-eis",
                                          EID])                # asynchronous: the service POSTs to an https listener
        assert status == 0 and "ES4.GetEIS: Executed-Success" in out and "Msisdn: 447700900123" in out, out
        status, out = invoke_cli(capsys, ["mno", "--smsr", url, "--id", "MNO", *tls["EUM"], "get-eis", EID])
        assert status == 1 and "Failed 1.1 1.1" in out                             # the EUM's certificate
        status, out = invoke_cli(capsys, ["mno", "--smsr", url, "get-eis", EID])   # no client certificate
        assert status == 1
    finally:
        proc.terminate()
        proc.wait(10)
