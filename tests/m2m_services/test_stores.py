"""The SM-SR and SM-DP stores, POL2 and the EIS message form, without a card (SGP.02 v4.2 §5.1.1.2
EIS, POL2 rules; TS 102 225 §5.1.1 counters)."""
from __future__ import annotations

import json
import sqlite3

import pytest

from tools.m2m_services.binding import Envelope, build, parse
from tools.m2m_services.eis_xml import EisFormatError, eis_fields, parse_eis
from tools.m2m_services.pol2 import AUTO_DELETE, NOT_ALLOWED, Pol2, Pol2Error, Rule
from tools.m2m_services.smdp_store import SmdpStore
from tools.m2m_services.smsr_store import ProfileRecord, SmsrStore, StoreError
from tools.ota.packet import AES, OtaKeyset
from tools.scp.scp03_host import HostKeySet
from tools.smsr.eis import Eis, ProfileInfo
from tools.smsr.eis_file import EisDocument, IsdpKeys

EID = "89049032000000000000000000000163"
AID = bytes.fromhex("A0000005591010FFFFFFFF8900001000")
KEYSET = OtaKeyset(1, AES, bytes(range(16)), AES, bytes(range(16, 32)))


def _doc() -> EisDocument:
    doc = EisDocument(Eis(eid=bytes.fromhex(EID), ecasd_certificate=bytes.fromhex("7F2100")))
    doc.use_keyset(KEYSET)
    doc.eis.counters[1] = 41
    doc.eis.profiles[AID] = ProfileInfo(AID, "ENABLED", fallback=True)
    return doc


def test_pol2_rules():
    pol2 = Pol2.from_fields([("Rule", [("Subject", "PROFILE"), ("Action", "DISABLE"), ("Qualification", AUTO_DELETE)]),
                             ("Rule", [("Subject", "PROFILE"), ("Action", "DELETE"), ("Qualification", NOT_ALLOWED)])])
    assert pol2.allows("ENABLE") and pol2.allows("DISABLE") and not pol2.allows("DELETE")
    assert pol2.delete_when_disabled and Pol2().allows("DELETE") and not Pol2().delete_when_disabled
    assert Pol2.from_json(pol2.to_json()) == pol2 and Pol2.from_fields(pol2.fields()) == pol2
    for bad in ([("Rule", [("Action", "ENABLE"), ("Qualification", AUTO_DELETE)])],        # Auto-Delete: DISABLE only
                [("Rule", [("Action", "REBOOT"), ("Qualification", NOT_ALLOWED)])],
                [("Rule", [("Subject", "EUICC"), ("Action", "DELETE"), ("Qualification", NOT_ALLOWED)])],
                [("Rule", [("Action", "DELETE"), ("Qualification", NOT_ALLOWED)])] * 2,
                [("Other", "x")]):
        with pytest.raises(Pol2Error):
            Pol2.from_fields(bad)


def test_eis_round_trip_through_an_envelope():
    record = ProfileRecord(EID, AID.hex().upper(), "89001000000000000010", "MNO", None,
                           Pol2((Rule("DISABLE", NOT_ALLOWED),)), "447700900123", "001010000000001")
    fields = eis_fields(EID, _doc(), [record], "EUM", with_keys=True)
    envelope = parse(build(Envelope("urn:a", "RegisterEIS", [("Eis", fields)])))
    eid, eum, doc, records = parse_eis(envelope.group("Eis"))
    assert (eid, eum, records) == (EID, "EUM", [record])
    assert doc.active_keyset() == KEYSET and doc.eis.counters == {1: 41}
    assert doc.eis.profiles[AID].state == "ENABLED" and doc.eis.profiles[AID].fallback
    without = eis_fields(EID, _doc(), [record], None)
    assert "Isd-r" not in dict(without)                                   # GetEIS never shows keys
    with pytest.raises(EisFormatError, match="no ISD-R KeySet"):
        parse_eis(without)
    with pytest.raises(EisFormatError, match="Eid"):
        parse_eis([("EumSignedInfo", [("Eid", "123")])])


def test_smsr_store(tmp_path):
    store = SmsrStore(tmp_path / "smsr.db")
    record = ProfileRecord(EID, AID.hex().upper(), "8900", "MNO", None, Pol2())
    store.register(EID, _doc(), "EUM", [record])
    with pytest.raises(StoreError):
        store.register(EID, _doc(), "EUM", [])
    store.reserve_counter(EID, 1, 42)                                     # written ahead of the packet
    assert store.load(EID).eis.counters[1] == 42
    doc = store.load(EID)
    doc.eis.counters[1] = 7                                               # never goes down
    store.save(EID, doc)
    assert store.counter(EID, 1) == 42 and store.load(EID).eis.counters[1] == 42
    doc.isdp_keys[AID] = IsdpKeys(HostKeySet(0x30, bytes(16), bytes(16), bytes(16)))
    with pytest.raises(StoreError, match="ISD-P keys"):
        store.save(EID, doc)
    assert store.profile_by_iccid(EID, "8900") == record
    doc = store.load(EID)
    doc.eis.profiles.clear()                                              # the ISD-P is gone from the card
    store.save(EID, doc)
    assert store.profiles(EID) == []
    assert store.begin_call("urn:1", "ES4", "AuditEIS", EID) and not store.begin_call("urn:1", "ES4", "AuditEIS", EID)
    assert store.interrupted_calls() == [("urn:1", "ES4", "AuditEIS")]
    store.close()
    reopened = SmsrStore(tmp_path / "smsr.db")
    assert reopened.close_interrupted() == 1 and reopened.interrupted_calls() == []
    reopened.close()
    with sqlite3.connect(tmp_path / "smsr.db") as con:
        (eis,), = con.execute("SELECT eis FROM euicc").fetchall()
    assert json.loads(eis)["smdp"]["isdps"] == []


def test_smdp_store_keeps_isdp_keys(tmp_path):
    store = SmdpStore(tmp_path / "smdp.db")
    keys = HostKeySet(0x30, bytes(range(16)), bytes(range(1, 17)), bytes(range(2, 18)))
    store.put_keys(EID, AID.hex().upper(), keys)
    store.put_keys(EID, AID.hex().upper(), keys, b"\x07" * 16)
    assert store.keys(EID, AID.hex().upper()) == (keys, b"\x07" * 16)
    assert store.keys(EID, "A0") is None
