"""ValidityPeriod (SGP.02 v4.2 §5.1 common data) without a card: a call whose period elapses before
the provider executes it, or between two of its steps, ends with status ``Expired``; a relaying
provider gives the calls it makes only the time left.  Envelopes are read with plain lxml XPath."""
from __future__ import annotations

import threading
import time

from lxml import etree

from tools.m2m_services import validity
from tools.m2m_services.transport import Provider, Requester, attach, serve

NS = {"env": "http://www.w3.org/2003/05/soap-envelope", "rps": "http://namespaces.gsma.org/esim-messaging/1"}


def _request(validity_period: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"
            xmlns:g="http://namespaces.gsma.org/esim-messaging/1">
  <s:Header>
    <a:To>http://127.0.0.1:8443/</a:To>
    <a:MessageID>urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e</a:MessageID>
    <a:Action>http://gsma.com/ES4/ProfileManagement/ES4-AuditEIS</a:Action>
  </s:Header>
  <s:Body><g:AuditEIS><g:FunctionRequesterIdentifier>MNO1</g:FunctionRequesterIdentifier>
    <g:FunctionCallIdentifier>c1</g:FunctionCallIdentifier><g:ValidityPeriod>{validity_period}</g:ValidityPeriod>
    <g:Eid>89049032000000000000000000000163</g:Eid></g:AuditEIS></s:Body>
</s:Envelope>""".encode()


def _status(data: bytes) -> tuple[list[str], int]:
    body = etree.fromstring(data).xpath("//rps:AuditEISResponse/rps:FunctionExecutionStatus", namespaces=NS)[0]
    return body.xpath("rps:Status/text()", namespaces=NS), len(body.xpath("rps:StatusCodeData", namespaces=NS))


def test_a_call_queued_past_its_validity_is_expired_and_never_executed():
    ran = []
    provider = Provider("http://127.0.0.1/")
    provider.register("ES4", "AuditEIS", lambda request: ran.append(1) or [])
    status, data = provider.handle(_request("2"), received=time.monotonic() - 2.5)
    assert status == 200 and _status(data) == (["Expired"], 0) and ran == []
    status, data = provider.handle(_request("2"), received=time.monotonic() - 1.0)
    assert _status(data) == (["Executed-Success"], 0) and ran == [1]


def test_a_long_function_stops_expired_at_its_next_step():
    steps = []

    def audit(request):
        for step in range(3):
            validity.check(f"step {step}")
            steps.append(step)
            time.sleep(0.7)
        return []
    provider = Provider("http://127.0.0.1/")
    provider.register("ES4", "AuditEIS", audit)
    status, data = provider.handle(_request("1"))
    assert _status(data) == (["Expired"], 0) and steps == [0, 1]


def test_a_relay_gives_the_next_provider_only_the_time_left():
    """A provider (the SM-DP) calling another (the SM-SR) within its own call: the inner request's
    ValidityPeriod is what remains of the outer one."""
    inner_periods = []
    smsr = Provider("http://127.0.0.1/")
    smsr.register("ES3", "AuditEIS", lambda request: inner_periods.append(request.get("ValidityPeriod")) or [])
    server = serve("127.0.0.1", 0)
    attach(server, smsr)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        def relay(request):
            time.sleep(1.1)
            Requester(url, "SM-DP").call("ES3", "AuditEIS", [], validity.remaining(600))
            return []
        smdp = Provider("http://127.0.0.1/")
        smdp.register("ES4", "AuditEIS", relay)
        _, data = smdp.handle(_request("10"))
        assert _status(data) == (["Executed-Success"], 0)
        assert inner_periods == ["8"]
    finally:
        server.shutdown()
        server.server_close()
    assert validity.remaining(600) == 600                      # outside a call: the requester's default
