"""The SM-DP+'s ES9+ JSON binding (SGP.22 §6.5) and its refusals (§5.6), spoken to directly."""
from __future__ import annotations

import base64
import http.client
import json

import pytest

from tests.rsp_host.conftest import make_lpa
from tools.lpa.es9plus import Es9FunctionError, Es9PlusClient
from tools.lpa.es10 import Es10Client
from tools.lpa.transport import Es10Transport
from tools.smdpp.orders import order_from_upp


def raw_post(smdp, path: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
    host, port = smdp.address.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", path, body, headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), data


HEADERS = {"Content-Type": "application/json;charset=UTF-8", "X-Admin-Protocol": "gsma/rsp/v2.2.0"}


def test_initiate_authentication_json(smdp, stub):
    status, headers, data = raw_post(smdp, "/gsma/rsp2/es9plus/initiateAuthentication", json.dumps({
        "euiccChallenge": base64.b64encode(bytes(16)).decode(), "euiccInfo1": base64.b64encode(stub.info1(b"")).decode(),
        "smdpAddress": smdp.address}).encode(), HEADERS)
    body = json.loads(data)
    assert status == 200 and headers["X-Admin-Protocol"].startswith("gsma/rsp/v2.")
    assert body["header"]["functionExecutionStatus"]["status"] == "Executed-Success"
    assert len(bytes.fromhex(body["transactionId"])) == 16
    assert base64.b64decode(body["serverSignature1"])[:3] == b"\x5f\x37\x40"
    assert base64.b64decode(body["euiccCiPKIdToBeUsed"]) == b"\x04\x14" + stub.ci_ski


@pytest.mark.parametrize("path,body,headers,status", [
    ("/gsma/rsp2/es9plus/nothing", b"{}", HEADERS, 404),
    ("/gsma/rsp2/es9plus/initiateAuthentication", b"not json", HEADERS, 400),
    ("/gsma/rsp2/es9plus/initiateAuthentication", b"{}", HEADERS, 400),
    ("/gsma/rsp2/es9plus/initiateAuthentication", b'{"euiccChallenge": "!!"}', HEADERS, 400),
    ("/gsma/rsp2/es9plus/initiateAuthentication", b"{}", {"Content-Type": "application/json"}, 400),
])
def test_malformed_requests(smdp, path, body, headers, status):
    got, _, data = raw_post(smdp, path, body, headers)
    assert got == status
    assert json.loads(data)["header"]["functionExecutionStatus"]["status"] == "Failed"


def test_function_refusals(smdp, stub):
    client = Es9PlusClient(smdp.address, use_tls=False)
    with pytest.raises(Es9FunctionError) as err:
        client.initiate_authentication(bytes(16), stub.info1(b""), "other.example.com")
    assert (err.value.subject, err.value.reason) == ("8.8.1", "3.8")
    with pytest.raises(Es9FunctionError) as err:
        client.authenticate_client(b"\x00" * 16, b"\xbf\x38\x00")
    assert (err.value.subject, err.value.reason) == ("8.10.1", "3.9")
    with pytest.raises(Es9FunctionError) as err:
        client.initiate_authentication(bytes(16), b"\xbf\x20\x01\x00", smdp.address)
    assert err.value.subject == "1.2"


def test_forged_euicc_signature_is_refused(smdp, stub, upp):
    """A flipped bit in euiccSignature1 -> 8.1/6.1 (eUICC verification failed)."""
    smdp.add_order(order_from_upp("M", upp))
    es10 = Es10Client(Es10Transport(stub.transmit))
    client = Es9PlusClient(smdp.address, use_tls=False)
    init = client.initiate_authentication(es10.get_euicc_challenge(), es10.get_euicc_info1(), smdp.address)
    lpa = make_lpa(stub.transmit)
    response = bytearray(es10.authenticate_server(*(client.field(init, n) for n in (
        "serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed", "serverCertificate")), lpa._ctx_params1("M")))
    at = bytes(response).index(b"\x5f\x37\x40") + 10
    response[at] ^= 0x01
    with pytest.raises(Es9FunctionError) as err:
        client.authenticate_client(bytes.fromhex(init["transactionId"]), bytes(response))
    assert (err.value.subject, err.value.reason) == ("8.1", "6.1")


def test_notification_endpoint_answers_204(smdp):
    status, _, data = raw_post(smdp, "/gsma/rsp2/es9plus/handleNotification", json.dumps(
        {"pendingNotification": base64.b64encode(b"\x30\x00").decode()}).encode(), HEADERS)
    assert status == 204 and data == b""
    assert smdp.notifications[-1].verified is False
