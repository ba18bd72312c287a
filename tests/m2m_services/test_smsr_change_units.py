"""Pieces of the SM-SR change without a card: the pause points, the store's change rows, what the
ES7 EIS carries, the eUICC certificate chain check and the benchmark's trace counting."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from tools.bench.smsr_change_bench import ota_traffic
from tools.m2m_services.eis_xml import eis_fields, key_versions, parse_eis
from tools.m2m_services.pause import PAUSE_ENV, PAUSE_FILE_ENV
from tools.m2m_services.pol2 import Pol2, Rule
from tools.m2m_services.smsr_change import Trust
from tools.m2m_services.smsr_store import EXPECTED, INCOMING, OUTGOING, ProfileRecord, SmsrStore, StoreError
from tools.m2m_services.status import FunctionFailed
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.eis import Eis, ProfileInfo, PskKeyset
from tools.smsr.eis_file import EisDocument
from tools.smsr.gp_certificate import build_certificate
from tools.smsr.handover import KEY_SET_KINDS, finalise_items, handed_over, relayed_key_agreement
from tools.smsr.pki_files import package_test_pki

REPO = Path(__file__).resolve().parents[2]
EID = "89049032000000000000000000000163"
AID = bytes.fromhex("A0000005591010FFFFFFFF8900001000")


def _doc(kvn: int = 1) -> EisDocument:
    doc = EisDocument(Eis(eid=bytes.fromhex(EID), ecasd_certificate=b"\x7F\x21\x00"))
    doc.use_keyset(OtaKeyset(kvn, AES, bytes(16), AES, bytes(range(16))))
    doc.eis.profiles[AID] = ProfileInfo(AID, "ENABLED", fallback=True, emergency=True)
    return doc


def test_a_service_pauses_at_a_named_step_until_the_file_goes(tmp_path):
    marker = tmp_path / "paused"
    code = ("from tools.m2m_services.pause import checkpoint; checkpoint('other'); checkpoint('A'); print('after')")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(REPO), PAUSE_ENV: "A,B", PAUSE_FILE_ENV: str(marker)})
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    assert marker.read_text() == "A\n"
    time.sleep(0.2)
    assert proc.poll() is None                                   # still parked
    marker.unlink()
    assert proc.communicate(timeout=20)[0] == "after\n"


def test_a_service_pauses_at_the_nth_occurrence_of_a_step(tmp_path):
    marker = tmp_path / "paused"
    code = ("from tools.m2m_services.pause import checkpoint\n"
            "checkpoint('A'); print('first', flush=True); checkpoint('A'); print('second')")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(REPO), PAUSE_ENV: "A#2", PAUSE_FILE_ENV: str(marker)})
    assert proc.stdout.readline() == "first\n"
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    assert marker.read_text() == "A#2\n"
    marker.unlink()
    assert proc.communicate(timeout=20)[0] == "second\n"


def test_the_store_runs_a_change_through_its_rows(tmp_path):
    old, new = SmsrStore(tmp_path / "old.db"), SmsrStore(tmp_path / "new.db")
    record = ProfileRecord(EID, AID.hex().upper(), "8988", "MNO", None, Pol2((Rule("DELETE", "Not-Allowed"),)),
                           "33612345678")
    old.register(EID, _doc(), "EUM", [record])
    with pytest.raises(StoreError):
        old.expect_handover(EID, "SM-SR2", "MNO")                  # it holds the EID already
    new.expect_handover(EID, "SM-SR1", "MNO")
    assert new.handover(EID).role == EXPECTED and new.handover(EID).requester == "MNO"
    old.begin_outgoing(EID, "SM-SR2", "MNO")
    with pytest.raises(StoreError):
        old.begin_outgoing(EID, "SM-SR2", "MNO")                  # one change at a time
    old.record_relayed_kvn(EID, 2)
    old.record_relayed_kvn(EID, 0x41)
    old.record_relayed_kvn(EID, 2)
    assert (old.handover(EID).role, old.handover(EID).relayed_kvns) == (OUTGOING, (2, 0x41))
    taken = _doc(kvn=2)
    taken.eis.counters[2] = 0
    new.receive(EID, taken, "EUM", [record], "SM-SR1", [1])
    assert (new.handover(EID).role, new.handover(EID).old_kvns) == (INCOMING, (1,))
    assert new.load(EID).active_keyset().kvn == 2 and new.profiles(EID) == [record]
    old.retire(EID, "SM-SR2")
    assert old.load(EID) is None and old.profiles(EID) == [] and old.handover(EID) is None
    new.end_handover(EID)
    assert new.handover(EID) is None
    with old.transaction() as db:
        (successor,), = db.execute("SELECT successor FROM retired").fetchall()
    assert successor == "SM-SR2"


def test_a_store_of_the_previous_layout_keeps_its_relayed_kvn(tmp_path):
    import sqlite3
    with sqlite3.connect(tmp_path / "old.db") as con:
        con.execute("CREATE TABLE handover (eid TEXT PRIMARY KEY, role TEXT NOT NULL, peer TEXT NOT NULL, requester TEXT, "
                    "relayed_kvn INTEGER, old_kvns TEXT NOT NULL DEFAULT '[]', started TEXT)")
        con.execute("INSERT INTO handover (eid, role, peer, requester, relayed_kvn) VALUES (?, 'outgoing', 'SM-SR2', "
                    "'MNO', 2)", (EID,))
    assert SmsrStore(tmp_path / "old.db").handover(EID).relayed_kvns == (2,)


def test_the_es7_eis_carries_attributes_and_key_versions_never_keys():
    record = ProfileRecord(EID, AID.hex().upper(), "8988", "MNO", "SMDP1", Pol2((Rule("DISABLE", "Auto-Delete"),)),
                           "33612345678", "208011234567890")
    fields = eis_fields(EID, _doc(), [record], "EUM", key_versions=True)
    assert "Kic" not in repr(fields) and key_versions(fields) == [1]
    eid, eum, doc, records = parse_eis(fields, require_keys=False)
    info = doc.eis.profiles[AID]
    assert (eid, eum, info.state, info.fallback, info.emergency) == (EID, "EUM", "ENABLED", True, True)
    assert records == [record] and doc.eis.keysets == {}


def test_scp81_key_sets_travel_in_es1_and_only_their_versions_in_es7():
    doc = _doc()
    doc.eis.psk_keysets[0x40] = PskKeyset(0x40, bytes(range(16)), bytes(16))
    es1 = eis_fields(EID, doc, [], "EUM", with_keys=True)
    assert parse_eis(es1)[2].eis.psk_keysets == doc.eis.psk_keysets
    es7 = eis_fields(EID, doc, [], "EUM", key_versions=True)
    assert "Psk" not in repr(es7) and key_versions(es7) == [1, 0x40]
    moved, old = handed_over(doc)
    assert old == [1, 0x40] and moved.eis.psk_keysets == {} and moved.eis.keysets == {}
    assert moved.eis.audit == [] and moved.eis.profiles == doc.eis.profiles


def test_key_set_kinds_name_their_finalise_items_and_the_relayed_crt():
    """FinaliseISDRhandover items per kind (SCP80 keys 01-03, SCP81 keys 01-02, WHTY's vector
    'F2 03 01 01 03 F2 03 41 01 02'); the CRT SM-SR1 rebuilds carries the kind's KUQ and key type."""
    assert finalise_items([1, 0x41, 0x20]) == [(1, 1, 3), (0x41, 1, 2)]
    assert [k.kvn([1, 0x40]) for k in KEY_SET_KINDS] == [2, 0x41]
    command = relayed_key_agreement(0x41, 0, 0x09, b"\x04" * 65, bytes(64))
    assert bytes.fromhex("A615900203099501 5C800185810110820101830141 9100".replace(" ", "")) in command
    with pytest.raises(ValueError):
        relayed_key_agreement(0x20, 0, 0x09, b"", b"")                   # an SCP02 KVN is no kind


def test_the_ecasd_certificate_must_chain_to_the_ci():
    pki = package_test_pki()
    ci = x509.load_der_x509_certificate((pki / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.der").read_bytes())
    eum = x509.load_der_x509_certificate((pki / "EUM" / "CERT_EUM_ECDSA_NIST.der").read_bytes())
    from cryptography.hazmat.primitives import serialization
    eum_key = serialization.load_pem_private_key((pki / "EUM" / "SK_EUM_ECDSA_NIST.pem").read_bytes(), None)
    ecasd = ec.generate_private_key(ec.SECP256R1())
    good = build_certificate(eum_key, ecasd.public_key(), serial=b"\x01", ca_id=b"EUM", subject_id=b"ECASD", role=0x03)
    trust = Trust(ci=ci, eums=[eum])
    assert trust.ecasd_key(good).public_numbers() == ecasd.public_key().public_numbers()
    rogue = build_certificate(ec.generate_private_key(ec.SECP256R1()), ecasd.public_key(), serial=b"\x01",
                              ca_id=b"EUM", subject_id=b"ECASD", role=0x03)
    with pytest.raises(FunctionFailed, match="does not chain"):
        trust.ecasd_key(rogue)
    with pytest.raises(FunctionFailed, match="does not chain"):
        Trust(ci=eum, eums=[eum]).ecasd_key(good)                # the EUM certificate is not the CI's


def test_the_benchmark_counts_sms_both_ways(tmp_path):
    trace = tmp_path / "t"
    trace.write_text(
        "12:00:00.000 [1] >> 80C2000005D103820281  ; ENVELOPE\n"
        "12:00:00.001 [1] << 9112  ; more\n"
        "12:00:00.002 [1] >> 8012000012  ; FETCH\n"
        "12:00:00.003 [1] << D0108103011300820281830B0400000000009000  ; SEND SHORT MESSAGE\n"
        "12:00:00.004 [1] >> 8012000009  ; FETCH\n"
        "12:00:00.005 [1] << D00781030121008202818300009000  ; DISPLAY TEXT\n")
    assert ota_traffic(trace, 0, 6) == (1, 1, 5, 18)
    assert ota_traffic(trace, 2, 6) == (0, 1, 0, 18)
