"""``smsr-service serve --transport https`` without a card (SGP.02 v4.2 §2.4.4, §5.1): a function
that would reach an eUICC whose EIS holds no SCP81 key set fails with subject 8.1 (eUICC), reason
3.7 (Unavailable) before the service touches a reader (a reader it tried to open, "no reader",
would have given 8.1 5.1 Inaccessible); the key set used is the EIS's lowest SCP81 KVN; the
command line refuses ``--transport https`` with ``--device``."""
from __future__ import annotations

import threading

import pytest

from tools.cli import main
from tools.m2m_services.es5_https import psk_keyset
from tools.m2m_services.pol2 import Pol2
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import ProfileRecord, SmsrStore
from tools.m2m_services.status import FunctionFailed
from tools.m2m_services.transport import Requester, address, attach, serve
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.eis import Eis, ProfileInfo, PskKeyset
from tools.smsr.eis_file import EisDocument

EID = "89049032000000000000000000000163"
AID, ICCID = "A0000005591010FFFFFFFF8900001000", "8988211000000000001"


def _document() -> EisDocument:
    doc = EisDocument(Eis(eid=bytes.fromhex(EID), ecasd_certificate=bytes.fromhex("7F2100")))
    doc.use_keyset(OtaKeyset(1, AES, bytes(16), AES, bytes(16)))
    doc.eis.profiles[bytes.fromhex(AID)] = ProfileInfo(bytes.fromhex(AID), "ENABLED")
    return doc


def test_a_card_without_psk_key_set_is_refused_before_the_reader(tmp_path):
    store = SmsrStore(tmp_path / "smsr.db")
    store.register(EID, _document(), "EUM", [ProfileRecord(EID, AID, ICCID, "MNO", None, Pol2())])
    server = serve("127.0.0.1", 0)
    url = address(server, "127.0.0.1")
    service = SmsrService(store, "no reader", url, transport="https")
    attach(server, service.provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        mno = Requester(url, "MNO")
        for function, fields in (("AuditEIS", [("Eid", EID)]), ("EnableProfile", [("Eid", EID), ("Iccid", ICCID)])):
            status = mno.call("ES4", function, fields).status
            assert (status.status, status.code.subject_code, status.code.reason_code) == ("Failed", "8.1", "3.7"), \
                str(status)
        assert mno.call("ES4", "GetEIS", [("Eid", EID)]).status.ok          # no card traffic: not refused
        assert store.load(EID).eis.counters.get(1, 0) == 0                  # no SCP80 counter spent
    finally:
        server.shutdown()
        server.server_close()
        service.close()
        store.close()


def test_the_lowest_scp81_kvn_is_used():
    doc = _document()
    with pytest.raises(FunctionFailed):
        psk_keyset(doc)
    doc.eis.psk_keysets = {0x41: PskKeyset(0x41, b"\x41" * 16), 0x40: PskKeyset(0x40, b"\x40" * 16)}
    assert psk_keyset(doc).psk == b"\x40" * 16


def test_https_needs_the_services_own_terminal(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["smsr-service", "serve", "--db", str(tmp_path / "smsr.db"), "--transport", "https",
              "--device", "http://127.0.0.1:1/", "--mo-port", "0"])
    assert "--transport https" in str(exit_.value.code)
