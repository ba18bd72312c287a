"""The SOAP 1.2 / WS-Addressing binding of the SGP.02 off-card interfaces, with envelopes written by
hand here from the specs (SOAP 1.2 Part 1 §5, WS-Addressing 1.0 Core/SOAP Binding, SGP.02 §5.1
common header and FunctionExecutionStatus) and read back with plain lxml XPath, not with the codec."""
from __future__ import annotations

import threading

import pytest
from lxml import etree

from tools.m2m_services import binding
from tools.m2m_services.status import FunctionFailed
from tools.m2m_services.transport import Provider, Requester, RequesterError, attach, serve

NS = {"env": "http://www.w3.org/2003/05/soap-envelope", "wsa": "http://www.w3.org/2005/08/addressing",
      "rps": "http://namespaces.gsma.org/esim-messaging/1"}
ENABLE_REQUEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"
            xmlns:g="http://namespaces.gsma.org/esim-messaging/1">
  <s:Header>
    <a:From><a:Address>http://mno.example/es4</a:Address></a:From>
    <a:To>http://127.0.0.1:8443/</a:To>
    <a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>
    <a:MessageID>urn:uuid:6B29FC40-CA47-1067-B31D-00DD010662DA</a:MessageID>
    <a:Action>http://gsma.com/ES4/ProfileManagement/ES4-EnableProfile</a:Action>
  </s:Header>
  <s:Body>
    <g:EnableProfile>
      <g:FunctionRequesterIdentifier>MNO1</g:FunctionRequesterIdentifier>
      <g:FunctionCallIdentifier>call-7</g:FunctionCallIdentifier>
      <g:ValidityPeriod>300</g:ValidityPeriod>
      <g:Eid>89049032000000000000000000000163</g:Eid>
      <g:Iccid>8988211000000000001</g:Iccid>
    </g:EnableProfile>
  </s:Body>
</s:Envelope>"""


def test_parse_a_hand_written_request():
    envelope = binding.parse(ENABLE_REQUEST)
    assert envelope.action == "http://gsma.com/ES4/ProfileManagement/ES4-EnableProfile"
    assert envelope.message_id == "urn:uuid:6B29FC40-CA47-1067-B31D-00DD010662DA"
    assert (envelope.sender, envelope.to) == ("http://mno.example/es4", "http://127.0.0.1:8443/")
    assert envelope.reply_to == "http://www.w3.org/2005/08/addressing/anonymous"
    assert envelope.body_name == "EnableProfile"
    assert envelope.fields == [("FunctionRequesterIdentifier", "MNO1"), ("FunctionCallIdentifier", "call-7"),
                               ("ValidityPeriod", "300"), ("Eid", "89049032000000000000000000000163"),
                               ("Iccid", "8988211000000000001")]


def _provider(handler) -> Provider:
    provider = Provider("http://127.0.0.1:8443/")
    provider.register("ES4", "EnableProfile", handler)
    return provider


def test_response_envelope_structure():
    status, data = _provider(lambda request: []).handle(ENABLE_REQUEST)
    assert status == 200
    root = etree.fromstring(data)
    assert root.xpath("/env:Envelope/env:Header/wsa:RelatesTo/text()", namespaces=NS) == \
        ["urn:uuid:6B29FC40-CA47-1067-B31D-00DD010662DA"]
    assert root.xpath("/env:Envelope/env:Header/wsa:Action/text()", namespaces=NS) == \
        ["http://gsma.com/ES4/ProfileManagementCallBack/ES4-EnableProfile"]
    assert root.xpath("/env:Envelope/env:Header/wsa:From/wsa:Address/text()", namespaces=NS) == ["http://127.0.0.1:8443/"]
    assert len(root.xpath("/env:Envelope/env:Header/wsa:MessageID", namespaces=NS)) == 1
    body = root.xpath("/env:Envelope/env:Body/rps:EnableProfileResponse", namespaces=NS)[0]
    assert [etree.QName(c).localname for c in body] == ["ProcessingStart", "ProcessingEnd", "AcceptableValidityPeriod",
                                                        "FunctionExecutionStatus"]
    assert body.xpath("rps:AcceptableValidityPeriod/text()", namespaces=NS) == ["300"]
    assert body.xpath("rps:FunctionExecutionStatus/rps:Status/text()", namespaces=NS) == ["Executed-Success"]
    assert not body.xpath("rps:FunctionExecutionStatus/rps:StatusCodeData", namespaces=NS)


def test_failed_function_carries_status_code_data():
    def refuse(request):
        raise FunctionFailed("8.2.3", "3.8", "POL2 refuses", "Pol2")
    status, data = _provider(refuse).handle(ENABLE_REQUEST)
    assert status == 200                     # a function's failure is a response, not a SOAP fault
    fes = etree.fromstring(data).xpath("//rps:EnableProfileResponse/rps:FunctionExecutionStatus", namespaces=NS)[0]
    assert fes.xpath("rps:Status/text()", namespaces=NS) == ["Failed"]
    assert [(etree.QName(c).localname, c.text) for c in fes.xpath("rps:StatusCodeData", namespaces=NS)[0]] == \
        [("SubjectCode", "8.2.3"), ("ReasonCode", "3.8"), ("SubjectIdentifier", "Pol2"), ("Message", "POL2 refuses")]


@pytest.mark.parametrize("data, subcode", [
    (b"not xml", None),
    (ENABLE_REQUEST.replace(b"<a:Action>http://gsma.com/ES4/ProfileManagement/ES4-EnableProfile</a:Action>", b""),
     "wsa:MessageAddressingHeaderRequired"),
    (ENABLE_REQUEST.replace(b"ES4-EnableProfile", b"ES4-Nope"), "wsa:ActionNotSupported"),
    (ENABLE_REQUEST.replace(b"http://www.w3.org/2003/05/soap-envelope", b"http://schemas.xmlsoap.org/soap/envelope/"),
     None),
])
def test_bad_requests_get_a_soap_fault(data, subcode):
    status, answer = _provider(lambda request: []).handle(data)
    assert status == 400
    root = etree.fromstring(answer)
    assert root.xpath("/env:Envelope/env:Body/env:Fault/env:Code/env:Value/text()", namespaces=NS)[0].startswith("env:")
    if subcode:
        assert root.xpath("//env:Fault/env:Code/env:Subcode/env:Value/text()", namespaces=NS) == [subcode]


def test_entities_are_not_expanded():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + \
        ENABLE_REQUEST.split(b"?>", 1)[1].replace(b"call-7", b"&e;")
    envelope = binding.parse(bomb)
    assert "root:" not in envelope.get("FunctionCallIdentifier", "")


def test_requester_and_provider_over_loopback():
    seen = []

    def enable(request):
        seen.append(request)
        return [("Echo", request.get("Iccid"))]
    server = serve("127.0.0.1", 0)
    attach(server, _provider(enable))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        response = Requester(url, "MNO1", "http://mno.example/es4").call("ES4", "EnableProfile", [("Iccid", "89")])
        assert response.status.ok and response.get("Echo") == "89"
        assert seen[0].get("FunctionRequesterIdentifier") == "MNO1" and seen[0].sender == "http://mno.example/es4"
        with pytest.raises(RequesterError):
            Requester(url, "MNO1").call("ES4", "Unknown", [])
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(RequesterError, match="unreachable"):
        Requester(url, "MNO1", timeout=2).call("ES4", "EnableProfile", [])


def test_notification_style_is_one_way():
    """A notification has no response message: HTTP 202, empty body; no wsa:ReplyTo is asked for."""
    received = []
    provider = Provider("http://127.0.0.1/")
    provider.register("ES4", "HandleProfileEnabledNotification", lambda request: received.append(request) or [],
                      one_way=True)
    provider.register("ES4", "GetEIS", lambda request: [])
    server = serve("127.0.0.1", 0)
    attach(server, provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        Requester(url, "SM-SR").notify("ES4", "HandleProfileEnabledNotification", [("Iccid", "89")])
        assert received[0].get("Iccid") == "89" and received[0].reply_to is None
        with pytest.raises(RequesterError, match="HTTP 200"):           # a request-response function
            Requester(url, "SM-SR").notify("ES4", "GetEIS", [])
    finally:
        server.shutdown()
        server.server_close()
