"""Asynchronous responses (WS-Addressing 1.0 SOAP Binding: a non-anonymous wsa:ReplyTo; SGP.02
v4.2 §5.1): the provider acknowledges the HTTP exchange at once (202, empty body) and POSTs the
response later to the ReplyTo address with wsa:RelatesTo; the requester's listener takes it.
The response is read with plain lxml XPath where its form is checked."""
from __future__ import annotations

import threading
import time
import urllib.request

from lxml import etree

from tests.m2m_host.m2m_world import invoke_cli
from tools.m2m_services import binding
from tools.m2m_services.async_reply import ReplyListener
from tools.m2m_services.status import FunctionFailed, request_header
from tools.m2m_services.transport import Provider, Requester, address, attach, serve

NS = {"env": "http://www.w3.org/2003/05/soap-envelope", "wsa": "http://www.w3.org/2005/08/addressing",
      "rps": "http://namespaces.gsma.org/esim-messaging/1"}
EID = "89049032000000000000000000000163"


def _start(provider_of):
    server = serve("127.0.0.1", 0)
    url = address(server, "127.0.0.1")
    attach(server, provider_of(url))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, url


def _smsr(url: str) -> Provider:
    provider = Provider(url)

    def get_eis(request):
        time.sleep(0.6)                                        # a function that takes its time
        if request.get("Eid") != EID:
            raise FunctionFailed("8.1.1", "3.9", "unknown EID")
        return [("Eis", [("EumSignedInfo", [("Eid", EID)])])]
    provider.register("ES4", "GetEIS", get_eis)
    return provider


def test_acknowledged_at_once_then_answered_at_reply_to():
    smsr, smsr_url = _start(_smsr)
    holder = {}
    replies, replies_url = _start(lambda url: holder.setdefault("l", ReplyListener(url)))
    try:
        request = binding.Envelope(action="http://gsma.com/ES4/ProfileManagement/ES4-GetEIS", body_name="GetEIS",
                                   to=smsr_url, reply_to=replies_url,
                                   fields=request_header("MNO", "c1", 60) + [("Eid", EID)])
        started = time.monotonic()
        http = urllib.request.Request(smsr_url, data=binding.build(request), method="POST",
                                      headers={"Content-Type": "application/soap+xml; charset=utf-8"})
        with urllib.request.urlopen(http, timeout=10) as answer:
            assert (answer.status, answer.read()) == (202, b"")
        assert time.monotonic() - started < 0.5                # before the function ended
        reply = holder["l"].wait(request.message_id, 10)
        assert reply is not None and reply.relates_to == request.message_id and reply.to == replies_url
        assert reply.action == "http://gsma.com/ES4/ProfileManagementCallBack/ES4-GetEIS"
        root = etree.fromstring(binding.build(reply))
        assert root.xpath("//rps:GetEISResponse/rps:FunctionExecutionStatus/rps:Status/text()",
                          namespaces=NS) == ["Executed-Success"]
        # the requester client: same result as a synchronous call, failures included
        requester = Requester(smsr_url, "MNO", replies=holder["l"])
        assert requester.call("ES4", "GetEIS", [("Eid", EID)]).group("Eis") == [("EumSignedInfo", [("Eid", EID)])]
        assert str(requester.call("ES4", "GetEIS", [("Eid", "8" * 32)]).status).startswith("Failed 8.1.1 3.9")
    finally:
        for server in (smsr, replies):
            server.shutdown()
            server.server_close()


def test_cli_reply_to(capsys):
    smsr, smsr_url = _start(_smsr)
    try:
        status, out = invoke_cli(capsys, ["mno", "--smsr", smsr_url, "--reply-to", "127.0.0.1:0", "get-eis", EID])
        assert status == 0 and "ES4.GetEIS: Executed-Success" in out and f"Eid: {EID}" in out, out
        status, out = invoke_cli(capsys, ["mno", "--smsr", smsr_url, "--reply-to", "127.0.0.1:0", "--validity", "1",
                                          "get-eis", "8" * 32])
        assert status == 1 and "ES4.GetEIS: Failed 8.1.1 3.9" in out, out
    finally:
        smsr.shutdown()
        smsr.server_close()
