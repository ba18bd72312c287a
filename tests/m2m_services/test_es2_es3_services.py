"""ES2 (operator -> SM-DP) and ES3 (SM-DP -> SM-SR) functions that need no card, in process over
loopback (SGP.02 v4.2 §5.3, §5.4): POL2 and subscription address through the SM-DP's relay, the
owner checks on both interfaces, ES3.DeleteISDP / UpdateConnectivityParameters refusals, and the
notification routes (SM-SR -ES4-> operator, or SM-SR -ES3-> SM-DP -ES2-> operator, ONC applied)."""
from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tools.m2m_services.binding import Envelope, build
from tools.m2m_services.es4a import NOTIFICATIONS
from tools.m2m_services.pol2 import Pol2
from tools.m2m_services.smdp_service import SmdpService
from tools.m2m_services.smdp_store import DownloadRecord, SmdpStore
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import ProfileRecord, SmsrStore
from tools.m2m_services.status import request_header
from tools.m2m_services.transport import Provider, Requester, RequesterError, address, attach, serve
from tools.ota.packet import AES, OtaKeyset
from tools.scp.scp03_host import HostKeySet
from tools.smsr.eis import Eis, ProfileInfo
from tools.smsr.eis_file import EisDocument

EID = "89049032000000000000000000000163"
AID_DP, AID_SR = "A0000005591010FFFFFFFF8900001100", "A0000005591010FFFFFFFF8900001000"
ICCID_DP, ICCID_SR = "8944000000000000001", "8988211000000000001"


@pytest.fixture
def parties(tmp_path):
    servers = {name: serve("127.0.0.1", 0) for name in ("smsr", "smdp", "mno")}
    urls = {name: address(server, "127.0.0.1") for name, server in servers.items()}
    doc = EisDocument(Eis(eid=bytes.fromhex(EID), ecasd_certificate=bytes.fromhex("7F2100")))
    doc.use_keyset(OtaKeyset(1, AES, bytes(16), AES, bytes(16)))
    doc.eis.profiles[bytes.fromhex(AID_SR)] = ProfileInfo(bytes.fromhex(AID_SR), "ENABLED")
    doc.eis.profiles[bytes.fromhex(AID_DP)] = ProfileInfo(bytes.fromhex(AID_DP), "ENABLED")
    smsr_store, smdp_store = SmsrStore(tmp_path / "smsr.db"), SmdpStore(tmp_path / "smdp.db")
    smsr_store.register(EID, doc, "EUM", [ProfileRecord(EID, AID_SR, ICCID_SR, "MNO", None, Pol2()),
                                          ProfileRecord(EID, AID_DP, ICCID_DP, "MNO", "SM-DP", Pol2())])
    smdp_store.put_download(DownloadRecord(EID, ICCID_DP, "MNO", AID_DP, "INSTALLED"))
    notified: list[tuple[str, str, str | None]] = []
    operator = Provider(urls["mno"])
    for interface in ("ES2", "ES4"):
        for name in NOTIFICATIONS:
            operator.register(interface, name, lambda r, i=interface, n=name: notified.append((i, n, r.get("Iccid")))
                              or [], one_way=True)
    smsr = SmsrService(smsr_store, "no reader", urls["smsr"], endpoints={"SM-DP": urls["smdp"]})
    smdp = SmdpService(smdp_store, urls["smsr"], urls["smdp"], ec.generate_private_key(ec.SECP256R1()), b"", None, {},
                       endpoints={"MNO": urls["mno"]})
    for name, provider in (("smsr", smsr.provider), ("smdp", smdp.provider), ("mno", operator)):
        attach(servers[name], provider)
        threading.Thread(target=servers[name].serve_forever, daemon=True).start()
    yield {"urls": urls, "notified": notified, "smsr": smsr, "smsr_store": smsr_store}
    for server in servers.values():
        server.shutdown()
        server.server_close()
    smsr_store.close()
    smdp_store.close()


def test_pol2_and_subscription_address_through_es2_and_es3(parties):
    urls, store = parties["urls"], parties["smsr_store"]
    es2 = Requester(urls["smdp"], "MNO")
    rule = [("Pol2", [("Rule", [("Subject", "PROFILE"), ("Action", "DELETE"), ("Qualification", "Not-Allowed")])])]
    assert es2.call("ES2", "UpdatePolicyRules", [("Eid", EID), ("Iccid", ICCID_DP), *rule]).status.ok
    assert store.profile_by_iccid(EID, ICCID_DP).pol2.allows("DELETE") is False
    assert es2.call("ES2", "UpdateSubscriptionAddress", [("Eid", EID), ("Iccid", ICCID_DP), (
        "NewSubscriptionAddress", [("Msisdn", "33612345678")])]).status.ok
    assert store.profile_by_iccid(EID, ICCID_DP).msisdn == "33612345678"
    # POL2 refuses before the SM-SR needs the card (there is none here)
    assert str(es2.call("ES2", "DeleteProfile", [("Eid", EID), ("Iccid", ICCID_DP)]).status).startswith("Failed 8.2.3 3.8")
    # ES2: only the operator that ordered the download; ES3: only the SM-DP that holds the profile
    assert str(Requester(urls["smdp"], "MNO2").call("ES2", "SetFallBackAttribute", [
        ("Eid", EID), ("Iccid", ICCID_DP)]).status).startswith("Failed 8.2.1 1.2")
    assert str(Requester(urls["smsr"], "SMDP2").call("ES3", "UpdatePolicyRules", [
        ("Eid", EID), ("Iccid", ICCID_DP)]).status).startswith("Failed 8.2.1 1.2")
    assert Requester(urls["smsr"], "SM-DP").call("ES3", "UpdatePolicyRules", [("Eid", EID), ("Iccid", ICCID_DP)]).status.ok
    assert store.profile_by_iccid(EID, ICCID_DP).pol2.allows("DELETE") is True


def test_es3_only_functions_refuse_before_the_card(parties):
    smsr = Requester(parties["urls"]["smsr"], "SM-DP")
    assert str(Requester(parties["urls"]["smsr"], "SMDP2").call("ES3", "DeleteISDP", [
        ("Eid", EID), ("Iccid", ICCID_DP)]).status).startswith("Failed 8.2.1 1.2")
    assert str(smsr.call("ES3", "DeleteISDP", [("Eid", EID), ("Iccid", ICCID_DP)]).status).startswith("Failed 8.2.1 3.5")
    assert str(smsr.call("ES3", "UpdateConnectivityParameters", [
        ("Eid", EID), ("Iccid", ICCID_DP)]).status).startswith("Failed 8.2 2.2")
    assert str(smsr.call("ES3", "DeleteISDP", [("Eid", EID), ("Iccid", "8900")]).status).startswith("Failed 8.2.1 3.9")


def test_notification_routes(parties):
    """The operator has no ES4 endpoint at the SM-SR: the SM-DP's profile is reported over ES3 to
    the SM-DP and over ES2 to the operator; the SM-SR's own profile reaches nobody; ONC applies."""
    smsr, notified, store = parties["smsr"], parties["notified"], parties["smsr_store"]
    dp, sr = store.profile_by_iccid(EID, ICCID_DP), store.profile_by_iccid(EID, ICCID_SR)
    smsr.notifier.send(EID, dp, "HandleProfileDisabledNotification", "MNO")
    smsr.notifier.send(EID, sr, "HandleProfileDisabledNotification", "MNO")
    assert notified == [("ES2", "HandleProfileDisabledNotification", ICCID_DP)]
    store.set_onc("MNO", ["HandleProfileDisabledNotification"])
    smsr.notifier.send(EID, dp, "HandleProfileDisabledNotification", "MNO")
    smsr.notifier.send(EID, dp, "HandleProfileDeletedNotification", "MNO")
    assert notified[1:] == [("ES2", "HandleProfileDeletedNotification", ICCID_DP)]
    # with an ES4 endpoint for the operator, the SM-SR notifies it directly (and not through the SM-DP)
    smsr.notifier.endpoints["MNO"] = parties["urls"]["mno"]
    smsr.notifier.send(EID, dp, "HandleProfileDeletedNotification", "MNO")
    assert notified[2:] == [("ES4", "HandleProfileDeletedNotification", ICCID_DP)]


def test_es2_senddata_is_not_served(parties):
    """No readable source lists an ES2.SendData: the SM-DP answers it with a SOAP Fault, never silently."""
    with pytest.raises(RequesterError, match="action not supported"):
        Requester(parties["urls"]["smdp"], "MNO").call("ES2", "SendData", [("Eid", EID)])
    # ES1: no readable source names a second function (README): the SM-SR serves RegisterEIS only
    with pytest.raises(RequesterError, match="action not supported"):
        Requester(parties["urls"]["smsr"], "EUM").call("ES1", "NotAnEs1Function", [("Eid", EID)])


def test_a_failed_download_deletes_the_isdp_it_created(tmp_path):
    """ES2.DownloadProfile whose ES8 part fails (here: an ECASD certificate that does not parse)
    ends Failed 8.2 4.2, and the SM-DP removes the ISD-P it had created with ES3.DeleteISDP."""
    calls: list[tuple[str, str | None]] = []
    fake_smsr = Provider("http://127.0.0.1/")
    answers = {"GetEIS": [("Eis", [("EumSignedInfo", [("Eid", EID), ("EcasdCertificate", "7F2103AABBCC")])])],
               "CreateISDP": [("Isd-p-aid", AID_DP)], "DeleteISDP": []}
    for name, fields in answers.items():
        fake_smsr.register("ES3", name, lambda r, n=name, f=fields: calls.append((n, r.get("Iccid"))) or f)
    server = serve("127.0.0.1", 0)
    attach(server, fake_smsr)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = SmdpStore(tmp_path / "smdp.db")
    smdp = SmdpService(store, address(server, "127.0.0.1"), "http://127.0.0.1/", ec.generate_private_key(ec.SECP256R1()),
                       b"", None, {ICCID_DP: b"\x00"})
    try:
        _, data = smdp.provider.handle(build_request("DownloadProfile", [("Eid", EID), ("Iccid", ICCID_DP)]))
        assert b"<rps:Status>Failed</rps:Status>" in data and b"<rps:SubjectCode>8.2</rps:SubjectCode>" in data
        assert calls == [("GetEIS", None), ("CreateISDP", ICCID_DP), ("DeleteISDP", ICCID_DP)]
        assert store.download(EID, ICCID_DP).state == "FAILED"
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def test_the_smdp_records_a_deleted_profile_as_deleted(tmp_path):
    """Regression: after ES2.DeleteProfile relayed as ES3.DeleteProfile (which the SM-SR executed),
    the SM-DP's record said INSTALLED.  It says DELETED now and the ISD-P's keys are gone (SGP.02
    v4.2 §5.3: the SM-DP's view of the profile); a profile deleted without the SM-DP (reported by
    ES3.HandleProfileDeletedNotification) likewise.  The SM-SR is a stub answering success."""
    calls: list[tuple[str, str | None]] = []
    fake_smsr = Provider("http://127.0.0.1/")
    fake_smsr.register("ES3", "DeleteProfile", lambda r: calls.append(("DeleteProfile", r.get("Iccid"))) or [])
    server = serve("127.0.0.1", 0)
    attach(server, fake_smsr)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    store = SmdpStore(tmp_path / "smdp.db")
    other = "8944000000000000002"
    for iccid, aid in ((ICCID_DP, AID_DP), (other, AID_SR)):
        store.put_download(DownloadRecord(EID, iccid, "MNO", aid, "INSTALLED"))
        store.put_keys(EID, aid, HostKeySet(0x30, bytes(16), bytes(16), bytes(16)), bytes(16))
    smdp = SmdpService(store, address(server, "127.0.0.1"), "http://127.0.0.1/", ec.generate_private_key(ec.SECP256R1()),
                       b"", None, {})
    try:
        _, data = smdp.provider.handle(build_request("DeleteProfile", [("Eid", EID), ("Iccid", ICCID_DP)]))
        assert b"<rps:Status>Executed-Success</rps:Status>" in data, data
        assert calls == [("DeleteProfile", ICCID_DP)]
        assert store.download(EID, ICCID_DP).state == "DELETED" and store.keys(EID, AID_DP) is None
        assert store.download(EID, other).state == "INSTALLED"            # the other profile is untouched
        smdp_server = serve("127.0.0.1", 0)
        attach(smdp_server, smdp.provider)
        threading.Thread(target=smdp_server.serve_forever, daemon=True).start()
        Requester(address(smdp_server, "127.0.0.1"), "SM-SR").notify(
            "ES3", "HandleProfileDeletedNotification", [("Eid", EID), ("Iccid", other)])
        smdp_server.shutdown()
        smdp_server.server_close()
        assert store.download(EID, other).state == "DELETED" and store.keys(EID, AID_SR) is None
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def build_request(function: str, fields) -> bytes:
    return build(Envelope(action=f"http://gsma.com/ES2/ProfileManagement/ES2-{function}", body_name=function,
                          fields=request_header("MNO", "1", 60) + fields))
