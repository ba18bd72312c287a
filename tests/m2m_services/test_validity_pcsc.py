"""ValidityPeriod (SGP.02 v4.2 §5.1) at the SM-SR service with a card on pcscd + vpcd: an ES4 call
queued behind another one for the card past its ValidityPeriod ends ``Expired`` and sends nothing
to the card (ENVELOPEs counted in the card's APDU trace); the journal says Expired."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from tests.m2m_services.test_smsr_service_pcsc import _envelopes, _register, world  # noqa: F401 (fixture)
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import SmsrStore
from tools.m2m_services.transport import Requester, address, attach, serve

pytestmark = pytest.mark.pcsc


def test_a_call_queued_past_its_validity_is_expired_without_ota(world, capsys):  # noqa: F811
    w = world
    _register(capsys, w)
    w["service"].stop()                                   # the same database, served in this process
    store = SmsrStore(w["db"])
    server = serve("127.0.0.1", 0)
    service = SmsrService(store, w["reader"], address(server, "127.0.0.1"))
    attach(server, service.provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = address(server, "127.0.0.1")
    try:
        answers = []
        envelopes = _envelopes(w["trace"])
        with service._card_lock:                          # another function holds the card
            caller = threading.Thread(target=lambda: answers.append(
                Requester(url, "MNO").call("ES4", "AuditEIS", [("Eid", w["eid"])], validity=1)))
            caller.start()
            time.sleep(1.5)
        caller.join(30)
        assert [a.status.status for a in answers] == ["Expired"] and answers[0].status.code is None
        assert _envelopes(w["trace"]) == envelopes
        with sqlite3.connect(w["db"]) as con:
            assert con.execute("SELECT function, status FROM call").fetchall() == [("AuditEIS", "Expired")]
        response = Requester(url, "MNO").call("ES4", "AuditEIS", [("Eid", w["eid"])], validity=60)
        assert response.status.ok, str(response.status)
        assert _envelopes(w["trace"]) > envelopes
    finally:
        server.shutdown()
        server.server_close()
        service.close()
        store.close()
